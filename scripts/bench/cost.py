"""What an upload costs: Lambda's price and CPU model applied to the bench's measured CPU time
per image (docs/performance.md, "What it costs")."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scripts.bench.bench import Row

#: AWS Lambda on-demand prices, arm64, US East (N. Virginia), first pricing tier
#: (https://aws.amazon.com/lambda/pricing/, as published on 2026-06-18). S3 request charges
#: (one GET, one HEAD, two PUTs per upload) are not included.
PRICE_DATE = "2026-06-18"
ARM64_GB_SECOND_USD = 0.0000133334
REQUEST_USD = 0.20 / 1_000_000
#: Lambda gives a function one full vCPU at 1,769 MB, and a proportional share below.
FULL_VCPU_MB = 1769
COST_MEMORY_SIZES_MB = (512, 1024, 1769, 3008)
#: The corpus mix the cost table averages, each image equally likely.
COST_MIX = (
    "JPEG 2 MP",
    "JPEG 6 MP",
    "JPEG 12 MP",
    "JPEG 24 MP",
    "PNG 12 MP alpha",
    "HEIC 12 MP",
    "GIF 100 frames",
)


def lambda_duration_ms(cpu_ms: float, io_ms: float, memory_mb: int) -> float:
    """Billed duration at `memory_mb`: the core is single-threaded, so its CPU time stretches
    by 1769 / memory below one vCPU and gains nothing above; waiting on S3 does not scale."""
    return cpu_ms * max(1.0, FULL_VCPU_MB / memory_mb) + io_ms


def cost_per_million_usd(duration_ms: float, memory_mb: int) -> float:
    gb_seconds = memory_mb / 1024 * duration_ms / 1000
    return 1_000_000 * (gb_seconds * ARM64_GB_SECOND_USD + REQUEST_USD)


def cost_table(rows: Sequence[Row]) -> list[tuple[int, float, float]]:
    """(memory MB, mean billed ms, USD per million uploads) over the corpus mix, from our
    measured CPU time per image and the handler's measured time around the core."""
    cpu = [
        r.results["ours"]["cpu_ms"]
        for r in rows
        if r.case.name in COST_MIX and "cpu_ms" in r.results.get("ours", {})
    ]
    if not cpu:
        return []
    io = [
        r.results["handler"]["cpu_ms"] - r.results["ours"]["cpu_ms"]
        for r in rows
        if "cpu_ms" in r.results.get("handler", {}) and "cpu_ms" in r.results.get("ours", {})
    ]
    io_ms = statistics.mean(io) if io else 0.0
    table = []
    for memory in COST_MEMORY_SIZES_MB:
        durations = [lambda_duration_ms(c, io_ms, memory) for c in cpu]
        mean = statistics.mean(durations)
        table.append(
            (memory, mean, statistics.mean(cost_per_million_usd(d, memory) for d in durations))
        )
    return table
