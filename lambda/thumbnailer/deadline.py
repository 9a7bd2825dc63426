"""The invocation's remaining time: no object is started that could not finish before Lambda
ends the invocation. A kill mid-set leaves a partial set for the retry to finish; an object not
started is left whole to the retry instead, and the invocation ends as a transient failure.

The margin is the slowest object's CPU time at the function's memory, plus S3's side:
`start_margin_ms`.
"""

from __future__ import annotations

from collections.abc import Callable

#: The slowest object `make bench` measures through the whole handler with every option on
#: (scripts/bench/deadline.py: the 100-frame GIF, 2.7 s of CPU on one core), rounded up; the
#: bench fails its target the day an object is slower.
SLOWEST_OBJECT_CPU_MS = 3_000
#: Lambda gives a function one full vCPU at 1,769 MB, and CPU in proportion to memory below.
FULL_VCPU_MEMORY_MB = 1_769
#: S3's side, which moto cannot stand for: reading a source up to MAX_INPUT_BYTES, the writes,
#: and a retried call's back-off. Reasoned, not measured.
S3_ALLOWANCE_MS = 2_000


def start_margin_ms(memory_mb: int) -> int:
    """The time an object may need at `memory_mb`: 7.2 s at the default 1,024 MB, 12.4 s at
    512 MB, 5 s from 1,769 MB up."""
    cpu_share = min(1.0, memory_mb / FULL_VCPU_MEMORY_MB)
    return round(SLOWEST_OBJECT_CPU_MS / cpu_share) + S3_ALLOWANCE_MS


#: At the template's default memory.
START_MARGIN_MS = start_margin_ms(1_024)


class Deadline:
    """Whether another object may be started in this invocation."""

    def __init__(self, remaining_ms: Callable[[], int], margin_ms: int = START_MARGIN_MS) -> None:
        self._remaining_ms = remaining_ms
        self._margin_ms = margin_ms
        self._started = False

    def may_start(self) -> bool:
        """True for an invocation's first object whatever the time (else a function whose
        timeout is under the margin would never do anything), then while the margin is left."""
        if not self._started:
            self._started = True
            return True
        return self._remaining_ms() >= self._margin_ms

    def refusal(self) -> str:
        return f"not started: {self._remaining_ms()} ms left, under {self._margin_ms} ms"
