"""`make redrive` and `make backfill` use the user's region; local targets may pin one for moto."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from scripts.ops.common import resolve_deployment
from thumbnailer.storage import aws_client

REPO = Path(__file__).resolve().parents[2]
# Stands in for `python -m`: prints the region boto3 resolves in the recipe's environment.
PRINT_REGION = f"{sys.executable} -c 'import boto3; print(boto3.Session().region_name)'"


def _make(target: str, home: Path) -> str:
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    env |= {"HOME": str(home), "MAKEFLAGS": ""}
    result = subprocess.run(
        # -o: never rebuild .venv here; OPS: the recipe's interpreter, replaced by PRINT_REGION
        ["make", "-s", "--no-print-directory", "-o", ".venv/.installed", target,
         f"OPS={PRINT_REGION}", "ARGS="],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture
def home_in_eu_west_1(tmp_path: Path) -> Path:
    (tmp_path / ".aws").mkdir()
    (tmp_path / ".aws" / "config").write_text("[default]\nregion = eu-west-1\n")
    return tmp_path


@pytest.mark.parametrize("target", ["redrive", "backfill"])
def test_tools_for_the_users_account_use_the_region_of_the_users_config(
    home_in_eu_west_1: Path, target: str
) -> None:
    # GIVEN a user whose ~/.aws/config says eu-west-1, and no region in the environment
    # WHEN a target that talks to the user's account runs
    region = _make(target, home_in_eu_west_1)
    # THEN its AWS calls go to eu-west-1, not to a region the Makefile chose
    assert region == "eu-west-1"


def test_local_targets_still_give_moto_a_region(tmp_path: Path) -> None:
    # GIVEN no AWS configuration at all / WHEN the local operations demo runs
    region = _make("ops-demo", tmp_path)
    # THEN it has a region for moto
    assert region == "us-east-1"


def test_region_on_the_command_line_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a region in the environment, and --region given to a script
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    args = argparse.Namespace(stack_name=None, region="ap-southeast-2")
    # WHEN the script resolves its deployment (from the shell's variables, set in conftest)
    resolve_deployment(args)
    # THEN every client it makes goes to the region given
    assert aws_client("cloudformation").meta.region_name == "ap-southeast-2"
    assert aws_client("sqs").meta.region_name == "ap-southeast-2"
