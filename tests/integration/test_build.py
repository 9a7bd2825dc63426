"""`sam build` packages the function for Lambda arm64 / Python 3.13 with no Docker and no 3.13."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cfnlint.decode import cfn_yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO_ROOT / "iac" / "template.yaml"
SOURCE_PACKAGE = REPO_ROOT / "lambda" / "thumbnailer"
FUNCTION = "ThumbnailFunction"
LAMBDA_ABI = "cpython-313-aarch64-linux-gnu"
# Lambda's limit on the unzipped size of a function and its layers.
UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Runs the real `sam build` once for the module, outside the repo's .aws-sam."""
    sam = shutil.which("sam", path=str(Path(sys.executable).parent)) or shutil.which("sam")
    if sam is None:
        pytest.skip("the SAM CLI is not installed")
    build_dir = tmp_path_factory.mktemp("sam-build") / "build"
    result = subprocess.run(
        [sam, "build", "--template-file", str(TEMPLATE_PATH), "--build-dir", str(build_dir)],
        cwd=REPO_ROOT,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"sam build failed:\n{result.stdout}\n{result.stderr}"
    return build_dir


@pytest.fixture(scope="module")
def artifact(build_dir: Path) -> Path:
    return build_dir / FUNCTION


def test_artifact_holds_the_handler_and_the_whole_package(artifact: Path) -> None:
    # GIVEN the function's source package
    source_modules = {path.relative_to(SOURCE_PACKAGE) for path in SOURCE_PACKAGE.rglob("*.py")}

    # WHEN the built artifact is listed
    built_modules = {
        path.relative_to(artifact / "thumbnailer") for path in artifact.glob("thumbnailer/**/*.py")
    }

    # THEN the handler module sits at the root, next to every module of the package
    assert (artifact / "app.py").read_bytes() == (REPO_ROOT / "lambda" / "app.py").read_bytes()
    assert source_modules
    assert built_modules == source_modules


def test_artifact_holds_linux_arm64_python_313_dependencies(artifact: Path) -> None:
    # GIVEN the built artifact
    pil = artifact / "PIL"

    # WHEN its dependencies are looked for
    native_modules = {path.name for path in pil.glob(f"*.{LAMBDA_ABI}.so")}

    # THEN Pillow is the Linux arm64 CPython 3.13 build, WebP support included
    assert f"_imaging.{LAMBDA_ABI}.so" in native_modules
    assert f"_webp.{LAMBDA_ABI}.so" in native_modules
    assert not list(pil.glob("*.pyd")), "a Windows wheel was installed"
    # AND so are the AVIF decoder (Pillow's own) and HEIC/HEIF's (pillow-heif, with libheif)
    assert f"_avif.{LAMBDA_ABI}.so" in native_modules
    assert (artifact / f"_pillow_heif.{LAMBDA_ABI}.so").is_file()
    assert list((artifact / "pillow_heif.libs").glob("libheif-*.so*"))
    # AND Powertools is there with its tracer dependency
    assert (artifact / "aws_lambda_powertools" / "__init__.py").is_file()
    assert (artifact / "aws_xray_sdk" / "__init__.py").is_file()
    # AND the SDK the Lambda runtime provides is not shipped to shadow it
    assert not (artifact / "botocore").exists()
    assert not (artifact / "boto3").exists()


def test_artifact_has_no_tests_caches_or_scripts(artifact: Path) -> None:
    # GIVEN the built artifact
    paths = list(artifact.rglob("*"))

    # WHEN it is searched for things Lambda never needs
    unwanted = [
        path.relative_to(artifact)
        for path in paths
        if path.name in {"__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache"}
        or path.suffix in {".pyc", ".pyo"}
    ]

    # THEN there are none, no tests and no console scripts either
    assert unwanted == []
    assert not (artifact / "tests").exists()
    assert not (artifact / "thumbnailer" / "tests").exists()
    assert not (artifact / "bin").exists()
    # AND the whole fits Lambda's unzipped size limit with room to spare
    size = sum(path.stat().st_size for path in paths if path.is_file())
    assert size < UNZIPPED_LIMIT_BYTES / 2


def test_built_template_points_the_function_at_the_artifact(build_dir: Path) -> None:
    # GIVEN the template sam build writes for sam deploy
    built_template = cfn_yaml.load(str(build_dir / "template.yaml"))

    # WHEN the function's code location is read
    code_uri = built_template["Resources"][FUNCTION]["Properties"]["CodeUri"]

    # THEN it is the built artifact, not the source directory
    assert (build_dir / code_uri).resolve() == (build_dir / FUNCTION).resolve()
