"""Cold start as Lambda runs it: `import app` from the package exactly as lambda/Makefile builds it
for `sam build` (same requirements, same pruning, same bytecode step), rebuilt for this machine's
interpreter because the real artifact's aarch64 CPython 3.13 libraries cannot load here."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from scripts.bench.engines import HANDLER_ENV, REPO

#: What Lambda sets in an execution environment. The X-Ray SDK (under Powertools' Tracer) picks
#: its sampler from these: outside Lambda it builds an X-Ray API client at import, in Lambda not.
LAMBDA_ENV = {
    "LAMBDA_TASK_ROOT": str(REPO / "lambda"),
    "AWS_LAMBDA_FUNCTION_NAME": "ThumbnailFunction",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
    "AWS_REGION": "us-east-1",
}
#: `make bench` installs the function's runtime packages alone here (lambda/requirements.txt and
#: the boto3 the runtime provides), as in the deployed package: the dev venv holds more (the SAM
#: CLI's awscrt and pyOpenSSL, which botocore imports when present).
FUNCTION_PYTHON = REPO / ".venv-function" / "bin" / "python"


def build_function_tree(target: Path, *, bytecode_python: str) -> Path:
    """lambda/Makefile's build of the function, for this machine's interpreter instead of
    Lambda's (same requirements, same pruning, same bytecode step): the real artifact holds
    aarch64 CPython 3.13 libraries, which this interpreter cannot import. `bytecode_python`
    compiles the .pyc files (empty: none, as a build machine without CPython 3.13 ships)."""
    shutil.rmtree(target, ignore_errors=True)
    python = FUNCTION_PYTHON if FUNCTION_PYTHON.exists() else Path(sys.executable)
    subprocess.run(
        [
            "make",
            "--silent",
            "-f",
            str(REPO / "lambda" / "Makefile"),
            "build-ThumbnailFunction",
            f"ARTIFACTS_DIR={target}",
            f"PYTHON={python}",
            "PIP_TARGET_FLAGS=",
            f"PYTHON_FOR_BYTECODE={bytecode_python}",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return target


def build_ships_bytecode() -> str | None:
    """The Python version `sam build` compiles the package's bytecode with here, or None."""
    result = subprocess.run(
        [
            "make",
            "--silent",
            "-f",
            str(REPO / "lambda" / "Makefile"),
            "--eval",
            "print-bytecode-python: ; @echo $(PYTHON_FOR_BYTECODE)",
            "print-bytecode-python",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    python = result.stdout.strip()
    if not python:
        return None
    version = subprocess.run(
        [python, "-c", "import sys; print(sys.version.split()[0])"],
        capture_output=True,
        text=True,
        check=False,
    )
    return version.stdout.strip() or None


def built_package_imports(runs: int = 7) -> dict[str, Any]:
    """`import app` (and the image core alone) from the package as lambda/Makefile builds it,
    with and without the bytecode the build ships when it has a CPython 3.13: each in a fresh
    interpreter (start-up excluded), with Lambda's environment, the runtime's boto3
    precompiled (in .venv-function) and no bytecode written (Lambda's /var/task is read-only).
    Wall and CPU time: on a shared machine the CPU time is the figure load disturbs least."""
    python = FUNCTION_PYTHON if FUNCTION_PYTHON.exists() else Path(sys.executable)
    figures: dict[str, Any] = {"bytecode_by": build_ships_bytecode()}
    for label, bytecode_python in (("with bytecode", str(python)), ("no bytecode", "")):
        tree = REPO / ".bench" / f"function-{label.split()[0]}"
        build_function_tree(tree, bytecode_python=bytecode_python)
        env = {
            **HANDLER_ENV,
            **LAMBDA_ENV,
            "LAMBDA_TASK_ROOT": str(tree),
            "PYTHONPATH": str(tree),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PATH": os.environ.get("PATH", ""),
        }
        for module in ("app", "thumbnailer.image.renditions"):
            code = (
                "import time; t, c = time.perf_counter(), time.process_time(); "
                f"import {module}; "
                "print(time.perf_counter() - t, time.process_time() - c)"
            )
            runs_ms = [
                [
                    1000 * float(value)
                    for value in subprocess.run(
                        [str(python), "-c", code],
                        cwd=tree,
                        env=env,
                        capture_output=True,
                        text=True,
                        check=True,
                    ).stdout.split()
                ]
                for _ in range(runs)
            ]
            figures[f"{module}, {label}"] = {
                "median": statistics.median(wall for wall, _cpu in runs_ms),
                "cpu median": statistics.median(cpu for _wall, cpu in runs_ms),
                "best": min(wall for wall, _cpu in runs_ms),
            }
    return figures
