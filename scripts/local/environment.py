"""One of Lambda's execution environments: a warm worker process running the real handler.

The init phase once (the handler's import, bounded like Lambda's), then one event at a time,
with a context object and a deadline; a crash (an exit, a segfault) or a timeout loses only that
environment (`EnvironmentLostError`), never the runner. Errors come back in the runtime's shape.
"""

from __future__ import annotations

import faulthandler
import importlib
import json
import os
import resource
import signal
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import get_context
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from scripts.local.server import REGION, REPO, exit_with_parent

LAMBDA_DIR = REPO / "lambda"
DEFAULT_HANDLER = "app:lambda_handler"  # the template's `Handler: app.lambda_handler`
INIT_SECONDS = 10.0  # Lambda's limit on an execution environment's init phase


@dataclass
class _Context:
    """The parts of Lambda's context object the handler and Powertools use."""

    aws_request_id: str
    function_name: str = "ThumbnailFunction"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:ThumbnailFunction"
    deadline: float = 0.0

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


def peak_rss_kb(pid: int | str = "self") -> int | None:
    """A process's peak resident memory in KiB (Linux: VmHWM), None if it cannot be known.

    Not getrusage's ru_maxrss: Linux carries it over fork and exec, so a worker would report
    its parent's peak. Elsewhere only this process's own ru_maxrss is available.
    """
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        if pid != "self":
            return None
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak // 1024 if sys.platform == "darwin" else peak  # macOS counts bytes
    line = next((line for line in status.splitlines() if line.startswith("VmHWM:")), None)
    return int(line.split()[1]) if line else None


def _error(exc: BaseException, error_type: str | None = None) -> dict[str, str]:
    """An error as Lambda's runtime reports it."""
    return {
        "errorType": error_type or type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_exc(),
    }


def _serve(
    connection: Connection,
    env: dict[str, str],
    log_path: str | None,
    handler: str,
    parent_pid: int,
) -> None:
    """One execution environment: the init phase once, then one event at a time, until EOF."""
    exit_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the runner's to handle: it stops us
    os.environ.update(env)
    # Spawning re-imports the runner's main module here first, and with it whatever of the
    # function it imported (the ops demo imports the ops tools, which import the function's
    # observability): modules that read the environment at import, before it was the function's.
    # Lambda imports the function into a fresh interpreter; forget them so the init below does.
    _forget_function_modules()
    if log_path:
        # Powertools logs to stdout; keep the function's output out of the runner's terminal.
        sys.stdout = sys.stderr = open(log_path, "a", buffering=1)  # noqa: SIM115
    faulthandler.enable(sys.stderr)  # a segfault leaves its traceback in the function's log
    sys.path.insert(0, str(LAMBDA_DIR))
    function: Callable[[dict[str, Any], Any], Any] | None = None
    init_error = None
    try:
        module, _, name = handler.partition(":")
        function = getattr(importlib.import_module(module), name)
    except Exception as exc:  # noqa: BLE001 - reported with every invocation, as Lambda does
        init_error = _error(exc, "Runtime.InitError")
    connection.send("ready")
    while True:
        try:
            event_json, timeout_seconds = connection.recv()
        except EOFError:
            return
        connection.send(_run(function, init_error, event_json, timeout_seconds))


def _forget_function_modules() -> None:
    """Drop every module loaded from the function's code root from this process's cache."""
    for name, module in list(sys.modules.items()):
        origin = getattr(module, "__file__", None)
        if origin and Path(os.path.abspath(origin)).is_relative_to(LAMBDA_DIR):
            del sys.modules[name]


def _run(
    function: Callable[[dict[str, Any], Any], Any] | None,
    init_error: dict[str, str] | None,
    event_json: str,
    timeout_seconds: float,
) -> dict[str, Any]:
    context = _Context(
        aws_request_id=str(uuid.uuid4()), deadline=time.monotonic() + timeout_seconds
    )
    started = time.perf_counter()
    response, error = None, init_error
    if function is not None:
        try:
            response = function(json.loads(event_json), context)
        except Exception as exc:  # noqa: BLE001 - reported to the invoker, which retries
            error = _error(exc)
    return {
        "response": response,
        "error": error,
        "request_id": context.aws_request_id,
        "duration_ms": (time.perf_counter() - started) * 1000,
        "max_rss_kb": peak_rss_kb(),
    }


class EnvironmentLostError(Exception):
    """The execution environment crashed or timed out; Lambda would throw it away."""


class ExecutionEnvironment:
    """One warm worker process running the handler, one event at a time."""

    def __init__(self, env: dict[str, str], log_path: str | None, handler: str) -> None:
        context = get_context("spawn")
        self._connection, child_end = context.Pipe()
        self.process = context.Process(
            target=_serve,
            args=(child_end, env, log_path, handler, os.getpid()),
            name="lambda-execution-environment",
            daemon=True,  # belt and braces: multiprocessing ends daemons at interpreter exit
        )
        self.process.start()
        child_end.close()
        self._initialised = False

    def invoke(self, event_json: str, timeout_seconds: float) -> dict[str, Any]:
        """The handler's result, or `EnvironmentLostError` if the process died or hung."""
        try:
            if not self._initialised:
                if not self._connection.poll(INIT_SECONDS):
                    raise EnvironmentLostError(f"Init timed out after {INIT_SECONDS:.2f} seconds")
                self._connection.recv()
                self._initialised = True
            self._connection.send((event_json, timeout_seconds))
            if not self._connection.poll(timeout_seconds):
                raise EnvironmentLostError(f"Task timed out after {timeout_seconds:.2f} seconds")
            return self._connection.recv()
        except (EOFError, OSError) as exc:
            raise EnvironmentLostError(f"Runtime.ExitError: {self._exit_status()}") from exc

    def _exit_status(self) -> str:
        self.process.join(timeout=5)
        code = self.process.exitcode
        if code is None:
            return "Runtime exited without a response"
        if code < 0:
            return f"Runtime exited with error: signal: {signal.Signals(-code).name}"
        return f"Runtime exited with error: exit status {code}"

    def close(self) -> None:
        """End the process (it may be in the middle of an event) and reap it, bounded."""
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=3)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=3)
        self._connection.close()
