"""`sam build` packages the function for Lambda arm64 / Python 3.13 with no Docker and no 3.13."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cfnlint.decode import cfn_yaml

from tests.integration.conftest import sam_cli

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO_ROOT / "iac" / "template.yaml"
SOURCE_PACKAGE = REPO_ROOT / "lambda" / "thumbnailer"
LAMBDA_MAKEFILE = REPO_ROOT / "lambda" / "Makefile"
FUNCTION = "ThumbnailFunction"
LAMBDA_ABI = "cpython-313-aarch64-linux-gnu"
# Lambda's limit on the unzipped size of a function and its layers.
UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024

pytestmark = pytest.mark.slow


def _python_313_for_bytecode() -> bool:
    """Whether lambda/Makefile finds a CPython 3.13 here to compile the package's bytecode."""
    result = subprocess.run(
        [
            "make",
            "--silent",
            "-f",
            str(LAMBDA_MAKEFILE),
            "--eval",
            "v: ; @echo $(PYTHON_FOR_BYTECODE)",
            "v",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return bool(result.stdout.strip())


def _is_lambda_bytecode(path: Path, tag: str = "cpython-313") -> bool:
    """A .pyc for `tag` that Python loads without checking its source (PEP 552 flags 0b01):
    the only kind that validates in Lambda, whose zip gives every file a 1980 timestamp."""
    flags = int.from_bytes(path.read_bytes()[4:8], "little")
    return path.parent.name == "__pycache__" and f".{tag}." in path.name and flags == 0b01


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Runs the real `sam build` once for the module, outside the repo's .aws-sam."""
    sam = sam_cli()
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
    # AND OpenTelemetry is not: with Tracing=otel the ADOT layer brings it, so no other value
    # carries its 14 MB (docs/configuration.md#tracing)
    assert not (artifact / "opentelemetry").exists()
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
        if path.name in {".pytest_cache", ".ruff_cache", ".mypy_cache"}
        or (path.suffix in {".pyc", ".pyo"} and not _is_lambda_bytecode(path))
    ]

    # THEN there are none (bytecode only as Lambda's Python loads it), no tests and no console
    # scripts either
    assert unwanted == []
    assert not (artifact / "tests").exists()
    assert not (artifact / "thumbnailer" / "tests").exists()
    assert not (artifact / "bin").exists()
    # AND the whole fits Lambda's unzipped size limit with room to spare
    size = sum(path.stat().st_size for path in paths if path.is_file())
    assert size < UNZIPPED_LIMIT_BYTES / 2


def test_artifact_ships_bytecode_lambda_loads_or_none(artifact: Path) -> None:
    # GIVEN the built artifact's modules and bytecode
    sources = list(artifact.rglob("*.py"))
    bytecode = list(artifact.rglob("*.pyc"))

    # WHEN each module's compiled file is looked for (the build had a CPython 3.13, or not)
    missing = [
        source.relative_to(artifact)
        for source in sources
        if not (source.parent / "__pycache__" / f"{source.stem}.cpython-313.pyc").is_file()
    ]

    # THEN either every module has cpython-313 unchecked-hash bytecode, or none has any
    assert sources
    if _python_313_for_bytecode():
        assert missing == []
        assert all(_is_lambda_bytecode(path) for path in bytecode)
    else:
        assert bytecode == []


def test_built_template_points_the_function_at_the_artifact(build_dir: Path) -> None:
    # GIVEN the template sam build writes for sam deploy
    built_template = cfn_yaml.load(str(build_dir / "template.yaml"))

    # WHEN the function's code location is read
    code_uri = built_template["Resources"][FUNCTION]["Properties"]["CodeUri"]

    # THEN it is the built artifact, not the source directory
    assert (build_dir / code_uri).resolve() == (build_dir / FUNCTION).resolve()


# The same build for this machine's interpreter: the bytecode step and the no-3.13 path, run.


def _host_build(target: Path, bytecode_python: str) -> subprocess.CompletedProcess[str]:
    """lambda/Makefile's build with host wheels, its bytecode compiled by `bytecode_python`."""
    return subprocess.run(
        [
            "make",
            "-f",
            str(LAMBDA_MAKEFILE),
            "build-ThumbnailFunction",
            f"ARTIFACTS_DIR={target}",
            f"PYTHON={sys.executable}",
            "PIP_TARGET_FLAGS=",
            f"PYTHON_FOR_BYTECODE={bytecode_python}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )


def test_build_without_a_python_313_ships_no_bytecode_and_says_so(tmp_path: Path) -> None:
    # GIVEN a build machine with no CPython 3.13 to compile with
    target = tmp_path / "function"

    # WHEN the function is built
    result = _host_build(target, bytecode_python="")

    # THEN the package holds its sources and no bytecode, and the build says why
    assert (target / "thumbnailer" / "image" / "render.py").is_file()
    assert list(target.rglob("*.pyc")) == []
    assert "no python3.13 on this build machine" in result.stderr


def test_shipped_bytecode_loads_without_looking_at_the_sources(tmp_path: Path) -> None:
    # GIVEN the function built for this interpreter, bytecode compiled by it
    target = tmp_path / "function"
    _host_build(target, bytecode_python=sys.executable)
    tag = sys.implementation.cache_tag
    sources = [path for path in target.rglob("*.py") if path.parent.name != "__pycache__"]

    # WHEN a module's source is replaced by something that does not even compile, with Lambda's
    # 1980 timestamp, and the package is imported in a fresh interpreter that writes no bytecode
    keys = target / "thumbnailer" / "keys.py"
    keys.write_text("this is not Python\n")
    os.utime(keys, (315532800, 315532800))
    result = subprocess.run(
        [sys.executable, "-c", "import thumbnailer.keys as k; print(k.rendition_key.__name__)"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(target), "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        check=False,
    )

    # THEN every module has unchecked-hash bytecode, and Python ran it without the source
    assert [
        s for s in sources if not (s.parent / "__pycache__" / f"{s.stem}.{tag}.pyc").is_file()
    ] == []
    assert all(_is_lambda_bytecode(path, tag) for path in target.rglob("*.pyc"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "rendition_key"
