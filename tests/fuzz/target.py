"""The fuzz target: one upload through the image core, as the function calls it with every
option on (`make_renditions`: WebP and AVIF, two crops, the focus point and placeholder), and the
invariant every upload must keep.

Per input: renditions that decode (`tests.image_core.check_renditions`: every width and crop in
each format, the size and frame count reported, each crop its box or the largest window of its
shape a smaller source has, a valid BlurHash and `#rrggbb` colour), or a
`BadObjectError` other than `unprocessable_image` (the boundary's last resort, which keeps such
an upload out of retries in production, but which the fuzz reports: it deserves its own reason);
anything else is a finding. Time and peak memory are bounded per input too:
memory by the decode budget itself (what `budget.py` promises), time generously (a hang or a
quadratic path, not a slow machine, should trip it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from tests.image_core import EVERY_OPTION, check_renditions
from thumbnailer.errors import BadObjectError
from thumbnailer.image.budget import BYTES_PER_BUDGET_PIXEL, MIN_BUDGET_PIXELS
from thumbnailer.image.renditions import make_renditions

WIDTHS = (128, 512)  # the function's defaults
QUALITY = 80
#: The smallest budget the function ever has: absurd declared sizes meet it soonest.
MAX_PIXELS = MIN_BUDGET_PIXELS
#: Peak RSS an input may add: the budget's own promise, plus the upload, encoders and slack.
MAX_PEAK_BYTES = MAX_PIXELS * BYTES_PER_BUDGET_PIXEL + 64 * 1024 * 1024
MAX_SECONDS = 10.0
_CLEAR_REFS = Path("/proc/self/clear_refs")
_STATUS = Path("/proc/self/status")


@dataclass(frozen=True)
class Result:
    outcome: str  # "thumbnails" or the bad object's reason
    seconds: float
    peak_bytes: int | None  # None where Linux's peak-RSS reset is unavailable


def check_upload(data: bytes) -> Result:
    """Run `data` through the image core and assert the invariant; return what happened."""
    baseline = _reset_peak_rss()
    started = time.perf_counter()
    try:
        made = make_renditions(data, WIDTHS, quality=QUALITY, max_pixels=MAX_PIXELS, **EVERY_OPTION)
    except BadObjectError as exc:
        made, outcome, message = None, exc.reason, str(exc)
    else:
        outcome, message = "thumbnails", ""
    seconds = time.perf_counter() - started
    peak = _peak_rss() - baseline if baseline is not None else None
    # The boundary's last resort: safe in production, but here each one asks for its own reason.
    assert outcome != "unprocessable_image", message
    assert seconds <= MAX_SECONDS, f"took {seconds:.1f} s (bound {MAX_SECONDS} s)"
    assert peak is None or peak <= MAX_PEAK_BYTES, f"peak RSS grew {peak / 2**20:.0f} MiB"
    if made is not None:
        check_renditions(made, WIDTHS, **EVERY_OPTION)
    return Result(outcome, seconds, peak)


def _reset_peak_rss() -> int | None:
    """Reset the process's peak RSS to its current RSS (Linux 4.0+); return it, or None."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return None
    return _peak_rss()


def _peak_rss() -> int:
    for line in _STATUS.read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")
