"""moto's server for the local twin: `python -m moto.server`, but it never outlives its runner.

The runner stops the server on exit and on Ctrl-C. This covers the runner being killed outright
(kill -9, a crash), so that no server is ever left running: the server exits once its parent
is gone. Usage: `python -m scripts.moto_server PARENT_PID [moto.server arguments...]`. IAM
enforcement is modelled as in scripts/execution_role.py; the runner switches it on.
"""

from __future__ import annotations

import os
import sys
import threading
import time


def exit_with_parent(parent_pid: int, poll_seconds: float = 0.5) -> None:
    """Start a daemon thread that ends this process as soon as `parent_pid` is not its parent."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(poll_seconds)
        os._exit(0)  # the parent is gone: nobody is left to stop us or to read our answers

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def main(argv: list[str]) -> None:
    exit_with_parent(int(argv[0]))
    from moto.server import main as moto_main

    from scripts.execution_role import model_aws_authorization

    # Once the runner switches IAM enforcement on, denials answer as AWS's do, and are printed.
    model_aws_authorization(print_denials=True)

    moto_main(argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
