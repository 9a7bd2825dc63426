"""`make fuzz`: the fuzz target for a time budget, printing inputs per second and any finding.

Hypothesis draws each input from a random buffer (`fuzz_one_input`), so the run is as long as
the budget, not a number of examples. Each finding is printed and saved under
tests/fuzz/findings/, where `test_every_past_finding_stays_fixed` replays it from then on.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sys
import time
import traceback
from collections import Counter
from collections.abc import Sequence

from hypothesis import HealthCheck, given, settings

from tests.fuzz.mutations import uploads
from tests.fuzz.target import check_upload
from tests.fuzz.test_fuzz import FINDINGS

BUFFER_BYTES = 8192
PROGRESS_SECONDS = 30


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("FUZZ_SECONDS", 300)))
    parser.add_argument("--seed", type=int, default=None, help="repeat a run (default: random)")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    rng = random.Random(seed)
    outcomes: Counter[str] = Counter()
    findings: list[str] = []
    current: list[bytes] = []
    slowest, largest = [0.0], [0]

    @settings(database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(uploads())
    def one(data: bytes) -> None:
        current[:] = [data]
        result = check_upload(data)
        outcomes[result.outcome] += 1
        slowest[0] = max(slowest[0], result.seconds)
        largest[0] = max(largest[0], result.peak_bytes or 0)

    print(f"fuzzing the image core for {args.seconds:g} s (--seed {seed})", flush=True)
    started = last_report = time.monotonic()
    inputs = 0
    while (now := time.monotonic()) - started < args.seconds:
        current.clear()
        try:
            one.hypothesis.fuzz_one_input(rng.randbytes(BUFFER_BYTES))
        except Exception:  # noqa: BLE001 - every failure is a finding, reported and kept
            findings.append(_keep(current[0], traceback.format_exc()))
        inputs += bool(current)
        if now - last_report >= PROGRESS_SECONDS:
            last_report = now
            print(f"  {inputs} inputs, {inputs / (now - started):.1f}/s", flush=True)
    elapsed = time.monotonic() - started
    print(f"{inputs} inputs in {elapsed:.0f} s: {inputs / elapsed:.1f} inputs/s")
    print(f"slowest input {slowest[0]:.2f} s, largest peak RSS growth {largest[0] / 2**20:.0f} MiB")
    print("outcomes: " + ", ".join(f"{name} {count}" for name, count in outcomes.most_common()))
    print(f"findings: {len(findings)}" + "".join(f"\n  {path}" for path in findings))
    return 1 if findings else 0


def _keep(data: bytes, error: str) -> str:
    FINDINGS.mkdir(exist_ok=True)
    path = FINDINGS / f"{hashlib.sha256(data).hexdigest()[:16]}.bin"
    path.write_bytes(data)
    print(f"FINDING ({len(data)} bytes, kept as {path.name}):\n{error}", flush=True)
    return str(path)


if __name__ == "__main__":
    sys.exit(main())
