"""`make loadtest`: N images through the local twin of the stack; checks that none is lost.

Uploads N images (default 1000: mixed formats and sizes, about 5 % broken in six different
ways) from several threads to the local pipeline (moto over HTTP, S3's own notifications, the
real handler in several worker processes), waits for every outcome, then checks in the output
bucket and the dead-letter queue themselves that every upload ended with all its thumbnails or
exactly one DLQ record: never both, never neither. Prints images per minute, per-image latency
(upload -> outcome), peak memory and the verdict. Exits 1 if the invariant does not hold.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from scripts.local.environment import peak_rss_kb
from scripts.local.pipeline import (
    LocalPipeline,
    add_ingest_mode_option,
    dead_letter_keys,
    raise_interrupt_on_sigterm,
    thumbnail_namer,
)
from scripts.support.sample_images import encode, jpeg_with_exif, photo, png_bomb, transparent_logo

BROKEN_EVERY = 20  # one upload in 20 (5 %) is broken


@dataclass(frozen=True)
class Upload:
    key: str
    data: bytes
    expected_reason: str = ""  # the DLQ reason a broken upload must get; "" for a good one


def good_images() -> list[tuple[str, bytes]]:
    """(label.extension, bytes): the formats, modes and sizes the function meets in real life."""
    return [
        ("photo-640.jpg", encode(photo(640, 480, seed=1), "JPEG", quality=85)),
        ("photo-1600.jpg", encode(photo(1600, 1067, seed=2), "JPEG", quality=88)),
        ("photo-3000.jpg", encode(photo(3000, 2000, seed=3), "JPEG", quality=85)),
        ("rotated.jpg", jpeg_with_exif(photo(1200, 900, seed=4), orientation=6)),
        ("cmyk.jpg", encode(photo(800, 600, seed=5).convert("CMYK"), "JPEG")),
        ("logo.png", encode(transparent_logo(), "PNG")),
        ("grey-16bit.png", encode(photo(512, 512, seed=6).convert("I;16"), "PNG")),
        ("small.png", encode(photo(320, 240, seed=7), "PNG")),
        ("banner.webp", encode(photo(2000, 500, seed=8), "WEBP", quality=85)),
        ("square.webp", encode(photo(800, 800, seed=9), "WEBP", quality=80)),
        ("icon.gif", encode(photo(96, 64, seed=10).convert("P"), "GIF")),
        ("drawing.gif", encode(photo(400, 300, seed=11).convert("P"), "GIF")),
    ]


def broken_images() -> list[tuple[str, str, bytes]]:
    """(reason the function must give, label.extension, bytes): one of each kind of bad object."""
    jpeg = encode(photo(1600, 1067, seed=12), "JPEG")
    return [
        ("empty_object", "empty.jpg", b""),
        ("not_an_image", "notes.jpg", b"meeting notes, certainly not a picture\n" * 20),
        ("unsupported_format", "icon.ico", encode(photo(64, 64, seed=13), "ICO")),
        ("truncated_image", "cut.jpg", jpeg[: len(jpeg) // 3]),
        ("corrupt_image", "garbled.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64),
        # 400 megapixels of 1-bit pixels: a small file, refused from its header alone (the
        # default budget at 1024 MB is about 174 megapixels).
        ("too_many_pixels", "huge.png", png_bomb(20000, 20000)),
    ]


def corpus(count: int, input_prefix: str = "uploads/") -> list[Upload]:
    """`count` uploads, deterministic; keys with spaces and accents, as users name files."""
    good, broken = good_images(), broken_images()
    uploads = []
    for n in range(count):
        folder = f"{input_prefix}load/batch {n // 100:02d}/"
        if n % BROKEN_EVERY == BROKEN_EVERY - 1:
            reason, name, data = broken[(n // BROKEN_EVERY) % len(broken)]
        else:
            (name, data), reason = good[n % len(good)], ""
        accent = " été" if n % 7 == 0 else ""
        stem, extension = name.rsplit(".", 1)
        uploads.append(Upload(f"{folder}{n:05d} {stem}{accent}.{extension}", data, reason))
    return uploads


@dataclass
class Verdict:
    """Where each upload ended, as the output bucket and the DLQ themselves say."""

    completed: list[str] = field(default_factory=list)  # all its thumbnails, no DLQ record
    dead_lettered: list[str] = field(default_factory=list)  # exactly one DLQ record, no output
    violations: dict[str, str] = field(default_factory=dict)  # key -> what is wrong
    stray_outputs: list[str] = field(default_factory=list)  # thumbnails of no upload

    @property
    def holds(self) -> bool:
        return not self.violations and not self.stray_outputs


def check_invariant(
    expected_thumbnails: dict[str, set[str]],
    output_keys: Iterable[str],
    dead_letter_counts: Counter[str],
    *,
    stale_outputs: Iterable[str] = (),
    manifest_gaps: Mapping[str, Iterable[str]] | None = None,
) -> Verdict:
    """Every upload ends with all its thumbnails or exactly one DLQ record: never both,
    never neither, never a part of its thumbnails; no output for no upload (a deleted one's).
    The fault suite adds: no output made from another version than its source's current one
    (`stale_outputs`), no manifest listing a file that is missing (`manifest_gaps`)."""
    outputs = set(output_keys)
    verdict = Verdict()
    for key, thumbnails in expected_thumbnails.items():
        present, dead = thumbnails & outputs, dead_letter_counts[key]
        if present == thumbnails and dead == 0:
            verdict.completed.append(key)
        elif not present and dead == 1:
            verdict.dead_lettered.append(key)
        else:
            verdict.violations[key] = (
                f"{len(present)} of {len(thumbnails)} thumbnails and {dead} DLQ record(s)"
            )
    claimed = set().union(*expected_thumbnails.values()) if expected_thumbnails else set()
    verdict.stray_outputs = sorted(outputs - claimed)
    for key in dead_letter_counts.keys() - expected_thumbnails.keys():
        verdict.violations[key] = f"{dead_letter_counts[key]} DLQ record(s) for no upload"
    for key in stale_outputs:
        verdict.violations[key] = "made from another version than its source's current one"
    for manifest, missing in (manifest_gaps or {}).items():
        if missing:
            verdict.violations[manifest] = f"lists missing files: {', '.join(sorted(missing))}"
    return verdict


@dataclass
class Report:
    count: int
    verdict: Verdict
    misclassified: dict[str, str]  # key -> expected vs actual, for good/broken mix-ups
    seconds: float
    latencies: list[float]
    handler_seconds: list[float]
    worker_peak_rss_kb: int | None
    runner_peak_rss_kb: int | None
    moto_peak_rss_kb: int | None
    bytes_uploaded: int

    def lines(self) -> list[str]:
        latencies, handler = sorted(self.latencies), sorted(self.handler_seconds)
        verdict = self.verdict
        return [
            f"images:       {self.count} ({self.bytes_uploaded / 2**20:.0f} MiB) in "
            f"{self.seconds:.1f} s = {self.count / self.seconds * 60:.0f} images/minute",
            f"latency:      p50 {_p(latencies, 50):.2f} s, p95 {_p(latencies, 95):.2f} s, "
            f"max {latencies[-1]:.2f} s (upload -> thumbnails or DLQ record)",
            f"handler:      p50 {_p(handler, 50):.2f} s, p95 {_p(handler, 95):.2f} s, "
            f"max {handler[-1]:.2f} s (one invocation, warm or cold)",
            f"peak memory:  function worker {_mib(self.worker_peak_rss_kb)} (the largest), "
            f"runner {_mib(self.runner_peak_rss_kb)}, "
            f"local AWS (moto) {_mib(self.moto_peak_rss_kb)}",
            f"outcomes:     {len(verdict.completed)} with all thumbnails, "
            f"{len(verdict.dead_lettered)} with one DLQ record, "
            f"{len(self.misclassified)} not as expected",
            *(f"  not as expected: {k}: {v}" for k, v in sorted(self.misclassified.items())[:10]),
            *(f"  VIOLATION: {k}: {v}" for k, v in sorted(verdict.violations.items())[:20]),
            *(f"  VIOLATION: thumbnail of no upload: {k}" for k in verdict.stray_outputs[:20]),
            "invariant:    "
            + (
                "HOLDS (every upload has all its thumbnails or exactly one DLQ record)"
                if verdict.holds
                else f"FAILS for {len(verdict.violations) + len(verdict.stray_outputs)} item(s)"
            ),
        ]


def _mib(kib: int | None) -> str:
    return f"{kib / 1024:.0f} MiB" if kib else "n/a"


def _p(ordered: list[float], percent: int) -> float:
    """The nearest-rank percentile of an ordered, non-empty list."""
    return ordered[max(0, -(-percent * len(ordered) // 100) - 1)]


def run(
    count: int,
    *,
    workers: int,
    uploaders: int,
    rate: float | None = None,
    log_dir: Path | None = None,
    timeout_seconds: float = 3600,
    ingest_mode: str = "direct",
) -> Report:
    """`rate`: uploads per second; None uploads everything at once (a burst)."""
    uploads = corpus(count)
    parameters = {"IngestMode": ingest_mode}
    with LocalPipeline(workers=workers, log_dir=log_dir, parameters=parameters) as pipeline:
        uploaded_at: dict[str, float] = {}
        started = time.time()

        def upload(numbered: tuple[int, Upload]) -> None:
            n, item = numbered
            if rate:
                time.sleep(max(0.0, started + n / rate - time.time()))
            uploaded_at[item.key] = time.time()
            pipeline.upload(item.key, item.data)

        with ThreadPoolExecutor(max_workers=uploaders, thread_name_prefix="upload") as pool:
            list(pool.map(upload, enumerate(uploads)))  # list(): re-raises an upload's error
        outcomes = pipeline.wait_for(uploaded_at, timeout_seconds=timeout_seconds)
        finished = max(invocation.finished_at for invocation in outcomes.values())

        # The verdict comes from the stores themselves, not from the runner's bookkeeping.
        dead_letters = pipeline.dead_letters()
        dead_counts = Counter(key for body in dead_letters for key in dead_letter_keys(body))
        thumbnails = thumbnail_namer(pipeline.stack.function_env)
        verdict = check_invariant(
            {item.key: thumbnails(item.key) for item in uploads},
            pipeline.output_keys(),
            dead_counts,
        )
        reasons = {
            key: body.get("reason", "lambda-retries-exhausted")
            for body in dead_letters
            for key in dead_letter_keys(body)
        }
        misclassified = {
            item.key: f"expected {item.expected_reason or 'thumbnails'}, "
            f"got {reasons.get(item.key, 'thumbnails')}"
            for item in uploads
            if reasons.get(item.key, "") != item.expected_reason
        }
        moto_peak = peak_rss_kb(pipeline.aws.pid) if pipeline.aws.pid else None
        return Report(
            count=count,
            verdict=verdict,
            misclassified=misclassified,
            seconds=finished - started,
            latencies=[outcomes[key].finished_at - uploaded_at[key] for key in uploaded_at],
            handler_seconds=[outcomes[key].duration_ms / 1000 for key in uploaded_at],
            worker_peak_rss_kb=max(inv.max_rss_kb or 0 for inv in outcomes.values()) or None,
            runner_peak_rss_kb=peak_rss_kb(),
            moto_peak_rss_kb=moto_peak,
            bytes_uploaded=sum(len(item.data) for item in uploads),
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--count", type=int, default=1000, help="images to upload")
    parser.add_argument("--workers", type=int, default=3, help="concurrent function instances")
    parser.add_argument("--uploaders", type=int, default=4, help="concurrent upload threads")
    parser.add_argument(
        "--rate", type=float, help="uploads per second (default: all at once, a burst)"
    )
    parser.add_argument(
        "--logs", type=Path, default=Path("out/loadtest"), help="where the function logs go"
    )
    add_ingest_mode_option(parser)
    args = parser.parse_args(argv)

    raise_interrupt_on_sigterm()
    pace = f"{args.rate:g} uploads/s" if args.rate else "all at once (latency includes queueing)"
    print(
        f"load test: {args.count} images, IngestMode={args.ingest_mode}, {args.workers} function "
        f"workers, {args.uploaders} upload threads, {pace}, {os.cpu_count()} CPU(s)",
        flush=True,
    )
    try:
        report = run(
            args.count,
            workers=args.workers,
            uploaders=args.uploaders,
            rate=args.rate,
            log_dir=args.logs,
            ingest_mode=args.ingest_mode,
        )
    except KeyboardInterrupt:
        print("\ninterrupted; the local stand-in has been shut down", file=sys.stderr)
        return 130
    print("\n".join(report.lines()))
    return 0 if report.verdict.holds else 1


if __name__ == "__main__":
    sys.exit(main())
