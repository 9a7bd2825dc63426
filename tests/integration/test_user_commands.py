"""The commands the README and docs/ name, run as a user runs them: `make` or the script in a
process of its own, from a clean environment (PATH and HOME only: none of the variables
tests/conftest.py sets for the in-process tests), with what they print and write checked.

The make targets run in a copy of the checkout (sharing its .venv), so that what they write
into the repository (out/) never meets a developer's own files or another test's.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from scripts.support.sample_images import encode, photo

REPO = Path(__file__).resolve().parents[2]
#: Generous: a wait that expires fails the test, but a loaded machine must not.
PATIENCE = 600
#: Not the user's: build output, caches, every venv (.venv is linked back, see `checkout`).
NOT_COPIED = shutil.ignore_patterns(
    ".git",
    ".venv*",
    "out",
    ".aws-sam",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A user's home with no AWS credentials and no region. The instance metadata service, the
    credential chain's last resort, is pointed at the loopback, where nothing answers: no test
    reaches beyond 127.0.0.1."""
    home = tmp_path_factory.mktemp("home")
    (home / ".aws").mkdir()
    (home / ".aws" / "config").write_text(
        "[default]\nec2_metadata_service_endpoint = http://127.0.0.1:9/\n"
    )
    return home


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the checkout, mtimes kept (so make sees .venv as up to date), with its .venv."""
    copy = tmp_path_factory.mktemp("checkout") / "serverless-image-pipeline"
    shutil.copytree(REPO, copy, ignore=NOT_COPIED, symlinks=True)
    (copy / ".venv").symlink_to(REPO / ".venv", target_is_directory=True)
    return copy


def run(
    command: list[str], cwd: Path, home: Path, **extra_env: str
) -> subprocess.CompletedProcess[str]:
    """The command as a user's shell runs it: PATH and HOME, nothing else unless named."""
    env = {"PATH": os.environ["PATH"], "HOME": str(home), **extra_env}
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=PATIENCE, check=False
    )


def make(checkout: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run(["make", "--no-print-directory", *args], checkout, home)


def files(folder: Path, pattern: str) -> list[str]:
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob(pattern))


def test_make_help_lists_the_commands_the_readme_names(checkout, home):
    # GIVEN a clean shell / WHEN make help runs (make alone does the same)
    result = make(checkout, home, "help")
    # THEN it lists the commands, each with its line, and builds nothing
    assert result.returncode == 0, result.stderr
    for target in ("demo", "test", "browser", "ops-demo", "redrive", "backfill", "build"):
        assert re.search(rf"^  make {target} +\S", result.stdout, re.M), target
    assert "pip install" not in result.stdout + result.stderr


@pytest.fixture(scope="module")
def demo_runs(checkout, home):
    """`make demo RENDITIONS=1`, then `make demo`, in one checkout; out/ after each."""
    out = checkout / "out"
    # A file of the user's in out/ (a backfill's checkpoint), which no demo run may touch
    out.mkdir()
    (out / "backfill-checkpoint.json").write_text("{}")
    with_renditions = make(checkout, home, "demo", "RENDITIONS=1")
    after_renditions = {"avif": files(out, "*.avif"), "json": files(out, "*/**/*.json")}
    plain = make(checkout, home, "demo")
    return with_renditions, after_renditions, plain, out


def test_make_demo_with_renditions_writes_every_rendition_and_the_gallery(demo_runs):
    # GIVEN a clean shell / WHEN `make demo RENDITIONS=1` runs
    with_renditions, after, _, _ = demo_runs
    # THEN it succeeds, with a table naming the broken sample's reason
    assert with_renditions.returncode == 0, with_renditions.stdout + with_renditions.stderr
    assert "--renditions" in with_renditions.stdout
    assert "truncated_image" in with_renditions.stdout
    # AND out/ holds AVIF renditions and manifests
    assert after["avif"], "no AVIF written"
    assert after["json"], "no manifest written"


def test_make_demo_starts_from_an_empty_out(demo_runs):
    # GIVEN out/ as `make demo RENDITIONS=1` left it, with a file of the user's in it
    _, _, plain, out = demo_runs
    # WHEN `make demo` runs (every rendition off)
    assert plain.returncode == 0, plain.stdout + plain.stderr
    # THEN out/ holds this run's output only: WebP thumbnails, no AVIF, crop or manifest
    assert files(out, "*.avif") == []
    assert files(out, "*/**/*.json") == []
    webp = files(out, "*.webp")
    assert webp
    assert all(re.search(r"_(128|512)w\.webp$", name) for name in webp), webp
    assert (out / "index.html").is_file()
    summary = (out / "summary.txt").read_text()
    assert summary in plain.stdout
    assert "sent to the dead-letter queue" in summary
    # AND the function's log is this run's alone, and the user's file is untouched
    log = (out / "logs" / "function.jsonl").read_text()
    assert '"avif"' not in log.lower()
    assert (out / "backfill-checkpoint.json").read_text() == "{}"


def test_make_ops_demo_runs_from_a_clean_shell(checkout, home):
    # GIVEN a clean shell: no Powertools variables, no region, no credentials
    # WHEN `make ops-demo` runs
    result = make(checkout, home, "ops-demo")
    output = result.stdout + result.stderr
    # THEN it succeeds, the function being configured as the template says in every worker
    assert result.returncode == 0, output
    assert "SchemaValidationError" not in output
    assert "Traceback" not in output
    assert "replayed: 1   still failing: 1   skipped: 0" in output
    assert "same event again:       ignored: up_to_date" in output
    assert "old event, late:        ignored: superseded" in output
    assert "schema 2.0  a bad object     PermanentFailure  truncated_image" in output
    assert "listed 6   written 0   up to date 5   bad 1" in output
    log = (checkout / "out" / "ops-demo" / "logs" / "function.jsonl").read_text()
    assert '"service":"thumbnailer"' in log.replace(" ", "")


@pytest.mark.parametrize("target", ["redrive", "backfill"])
@pytest.mark.parametrize(
    ("config", "error"),
    [
        ("", "AWS error: You must specify a region."),
        ("region = eu-west-1\n", "AWS error: Unable to locate credentials"),
    ],
    ids=["no region", "no credentials"],
)
def test_an_ops_tool_without_aws_says_so_in_one_line(
    checkout, home, tmp_path, target, config, error
):
    # GIVEN a clean shell whose AWS config has no credentials (and maybe no region)
    user = tmp_path / "home"
    shutil.copytree(home, user)
    with open(user / ".aws" / "config", "a") as aws_config:
        aws_config.write(config)
    # WHEN the tool is run against a stack
    result = make(checkout, user, target, "ARGS=--stack-name serverless-image-pipeline")
    # THEN it fails with one line that says why, and no traceback
    assert result.returncode != 0
    said = [line for line in result.stderr.splitlines() if not line.startswith("make: ***")]
    assert said == [f"{target}: {error}"], result.stderr
    assert "Traceback" not in result.stdout


def test_invoke_local_hands_every_recognised_format_in_a_folder_to_the_function(tmp_path, home):
    # GIVEN a folder with photos, a PSD and an ICO (formats the function recognises and refuses),
    # a PSD without a suffix, and a text file
    folder = tmp_path / "Pictures"
    folder.mkdir()
    (folder / "sea.jpg").write_bytes(encode(photo(600, 400), "JPEG"))
    (folder / "favicon.ico").write_bytes(encode(photo(64, 64), "ICO"))
    psd = b"8BPS\x00\x01" + bytes(6) + b"\x00\x03\x00\x00\x00\x40\x00\x00\x00\x40\x00\x08\x00\x03"
    (folder / "layers.psd").write_bytes(psd)
    (folder / "cover").write_bytes(psd)
    (folder / "notes.txt").write_text("not an image\n")

    # WHEN the script runs on the folder, from the user's own directory
    result = run([str(REPO / "scripts" / "invoke_local.sh"), "Pictures"], tmp_path, home)

    # THEN the function got every image and answered unsupported_format for the refused ones
    assert result.returncode == 1, result.stdout + result.stderr
    summary = (tmp_path / "out" / "summary.txt").read_text()
    rows = {line.split()[0]: line for line in summary.splitlines() if line.startswith("uploads/")}
    assert sorted(rows) == [
        "uploads/cover",
        "uploads/favicon.ico",
        "uploads/layers.psd",
        "uploads/sea.jpg",
    ]
    for refused in ("uploads/cover", "uploads/favicon.ico", "uploads/layers.psd"):
        assert "unsupported_format: " in rows[refused], rows[refused]
    assert "128x85" in rows["uploads/sea.jpg"]
    # AND only the text file was skipped, and said so; the exit status names the failures
    assert "skipped 1 file(s)" in result.stderr
    assert "notes.txt" in result.stderr
    assert "3 of 4 image(s) failed: cover, favicon.ico, layers.psd" in result.stderr
