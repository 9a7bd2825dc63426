"""The invocation's remaining time: no object is started that could not finish before Lambda
ends the invocation. A kill mid-set leaves a partial set for the retry to finish; an object not
started is left whole to the retry instead, and the invocation ends as a transient failure.

`START_MARGIN_MS` is the slowest object's time with room to spare: the slowest measured
(docs/performance.md: a 100-frame GIF, 1.8 s of CPU; a mix upload 0.8 s at 1,024 MB) at the
smallest memory that fits the pixel budget (2 to 3 times slower at 512 MB), plus reading a
64 MiB source and the writes' retries (the S3 client's 30 s read timeout is not covered: a
stalled call is what Lambda's timeout and the retry are for).
"""

from __future__ import annotations

from collections.abc import Callable

START_MARGIN_MS = 10_000


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
