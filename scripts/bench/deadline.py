"""The deadline's margin, measured: the slowest object of the corpus through the whole handler
(moto S3) with every option on (WebP and AVIF, a cover crop, the manifest, AUTO_QUALITY), in
CPU ms on one core: what `thumbnailer.deadline.SLOWEST_OBJECT_CPU_MS` must cover.

Each case runs in its own process (the function reads its settings at import), once to warm
up, then `REPEATS` times; the best is kept, as for the other handler figures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from scripts.bench.engines import HANDLER_ENV, REPO, Case, handler_runner

#: Every option that adds work to an object, at its heaviest documented use.
EVERYTHING = {
    "OUTPUT_FORMATS": "webp,avif",
    "CROP_SIZES": "256x256",
    "WRITE_MANIFEST": "true",
    "AUTO_QUALITY": "true",
}
REPEATS = 2


def slowest(cases: Sequence[Case]) -> list[tuple[str, float]]:
    """(case, best CPU ms) for each case, slowest first."""
    rows = []
    for case in cases:
        output = subprocess.run(
            [sys.executable, "-m", "scripts.bench.deadline", str(case.path)],
            cwd=REPO,
            env={**os.environ, **EVERYTHING},
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        rows.append((case.name, json.loads(output.splitlines()[-1])["cpu_ms"]))
    return sorted(rows, key=lambda row: -row[1])


def report(cases: Sequence[Case]) -> tuple[str, list[tuple[bool, str]]]:
    """The table of every case, slowest first, and the target: the deadline's margin covers
    the slowest."""
    from thumbnailer.deadline import SLOWEST_OBJECT_CPU_MS

    rows = slowest(cases)
    table = [
        "| Object (WebP and AVIF, a crop, the manifest, AUTO_QUALITY) | Handler CPU ms |",
        "| --- | ---: |",
        *(f"| {name} | {ms:.0f} |" for name, ms in rows),
    ]
    name, ms = rows[0]
    check = (
        ms <= SLOWEST_OBJECT_CPU_MS,
        f"the slowest object ({name}, every option on) {ms:.0f} ms CPU <= the deadline's "
        f"SLOWEST_OBJECT_CPU_MS {SLOWEST_OBJECT_CPU_MS}",
    )
    return "\n".join(table), [check]


def _measure(path: Path) -> float:
    import boto3

    run = handler_runner(path.read_bytes())
    s3, bucket = boto3.client("s3"), HANDLER_ENV["OUTPUT_BUCKET"]

    def first_delivery() -> float:
        """CPU ms of one run that finds no set (the marker is the manifest here)."""
        for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=item["Key"])
        started = time.process_time()
        run()
        return (time.process_time() - started) * 1000

    first_delivery()  # imports the encoders' and the metric's modules
    return min(first_delivery() for _ in range(REPEATS))


if __name__ == "__main__":
    print(json.dumps({"cpu_ms": _measure(Path(sys.argv[1]))}))
