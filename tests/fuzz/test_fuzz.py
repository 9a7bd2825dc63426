"""The fuzz in `make test`: a short, derandomized run (the same inputs every time), and every past
finding replayed. `make fuzz` runs the same target for minutes (tests/fuzz/run.py)."""

import math
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from tests.fuzz import target
from tests.fuzz.mutations import uploads
from tests.fuzz.target import check_upload

FINDINGS = Path(__file__).parent / "findings"
SHORT_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "1500"))


@pytest.fixture(autouse=True, scope="module")
def _bounded_by_count_not_by_the_clock():
    """`make test` bounds the fuzz by its number of inputs; the target's seconds per input, a
    wall-clock bound that a loaded machine trips, is for `make fuzz` alone."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(target, "MAX_SECONDS", math.inf, raising=False)
        yield


@settings(
    max_examples=SHORT_EXAMPLES,
    deadline=None,  # the target bounds time itself, generously
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(uploads())
def test_any_mutation_of_any_accepted_format_gives_thumbnails_or_a_bad_object(data):
    # GIVEN an image of an accepted format, truncated, flipped, spliced or lying about its size
    # WHEN thumbnailed / THEN thumbnails that decode, or a BadObjectError, in bounded time and
    # memory (check_upload asserts it)
    check_upload(data)


@pytest.mark.parametrize("path", sorted(FINDINGS.glob("*.bin")), ids=lambda path: path.stem)
def test_every_past_finding_stays_fixed(path):
    # GIVEN an input the long fuzz once found / WHEN thumbnailed / THEN the invariant holds
    check_upload(path.read_bytes())
