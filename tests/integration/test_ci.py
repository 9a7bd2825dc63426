"""CI is as strict as it says: CI=true, the browser a step of its own, no tool silently missing."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.integration import conftest

REPO = Path(__file__).resolve().parents[2]


def _commands(script: str) -> list[str]:
    return [
        line.strip()
        for line in script.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def test_ci_exports_ci_true_and_installs_the_browser_before_the_tests():
    # GIVEN .ci/run, CI's entry point
    commands = _commands((REPO / ".ci" / "run").read_text())
    # WHEN its commands are read, after its set-up lines
    body = commands[commands.index("export CI=true") + 1 :]
    # THEN CI=true is exported, and it runs make targets only, the browser before the tests
    assert body == ["make lint", "make browser", "make test"]


def test_make_test_installs_nothing():
    # GIVEN the Makefile / WHEN the test target's prerequisites are read
    [prerequisites] = re.findall(r"^test: ([^#\n]*)", (REPO / "Makefile").read_text(), re.M)
    # THEN they are the venvs only: the browser is CI's own step, never a side effect
    assert prerequisites.split() == ["$(STAMP)", "$(SCAN_STAMP)"]


@pytest.mark.parametrize(
    ("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)]
)
def test_without_the_sam_cli_a_test_fails_under_ci_and_skips_elsewhere(monkeypatch, ci, outcome):
    # GIVEN no SAM CLI anywhere, on CI or not
    monkeypatch.setattr(shutil, "which", lambda *args, **kwargs: None)
    monkeypatch.setenv("CI", ci)
    # WHEN a test asks for it / THEN CI fails (no green run that checked nothing); a laptop skips
    with pytest.raises((pytest.fail.Exception, pytest.skip.Exception)) as raised:
        conftest.sam_cli()
    assert raised.type is outcome
    assert "SAM CLI is not installed" in str(raised.value)
