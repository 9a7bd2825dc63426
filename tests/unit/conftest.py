"""The unit tests' fixtures."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from tests.image_core import OPTIONS


@pytest.fixture(params=list(OPTIONS.values()), ids=list(OPTIONS))
def core_options(request: pytest.FixtureRequest) -> Mapping[str, Any]:
    """The image core's options: a test that takes this runs with none, then with every one."""
    return request.param
