"""moto in server mode for the local twin, in a child process that never outlives its runner.

    LocalAws   the runner's side: starts `python -m scripts.local.server` in its own session on
               a free 127.0.0.1 port, waits until it answers, stops it on exit (Ctrl-C included),
               and hands out boto3 clients and the environment that point at it
    main()     the child's side: `python -m moto.server`, plus a watch that ends the server as
               soon as its parent is gone (kill -9, a crash), so that no server is left running

Usage of the child: `python -m scripts.local.server PARENT_PID [moto.server arguments...]`. IAM
enforcement is modelled as in scripts/local/execution_role.py; the runner switches it on
(`LocalAws.enforce_iam`).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.error import URLError
from urllib.request import Request, urlopen

import boto3

REPO = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": REGION,
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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

    from scripts.local.execution_role import model_aws_authorization

    # Once the runner switches IAM enforcement on, denials answer as AWS's do, and are printed.
    model_aws_authorization(print_denials=True)
    moto_main(argv[1:])


def ensure_can_listen(host: str, port: int) -> None:
    """Raise a clear error now if moto's server could not bind `host:port`.

    The probe binds as the server will (werkzeug sets SO_REUSEADDR): a port whose last
    connections are in TIME_WAIT, just after a stop, is free to it; one a server listens on is not.
    """
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise RuntimeError(f"cannot listen on {host}:{port}: {exc}") from exc


class LocalAws:
    """moto in server mode, in a child process of its own session, on 127.0.0.1.

    Its own session: a Ctrl-C in the terminal reaches the runner only, which then stops
    everything in order. `main()` below makes the server exit if the runner dies.
    """

    def __init__(
        self,
        log_path: Path | None = None,
        startup_seconds: float = 30.0,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        inherit_output: bool = False,
    ) -> None:
        self.host, self.port = host, port or free_port()
        # A server bound to every interface is still reached through the loopback.
        self.endpoint = (
            f"http://{'127.0.0.1' if host == '0.0.0.0' else host}:{self.port}"  # noqa: S104
        )
        self._log_path = log_path
        self._inherit_output = inherit_output  # moto's request log on our terminal
        self._startup_seconds = startup_seconds
        self._process: subprocess.Popen[bytes] | None = None
        #: The runner's own calls: anyone's until `enforce_iam`, then an administrator's.
        self.credentials = {
            name: DUMMY_CREDENTIALS[name] for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
        }

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def __enter__(self) -> LocalAws:
        ensure_can_listen(self.host, self.port)
        log = open(self._log_path, "ab") if self._log_path else None
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "scripts.local.server", str(os.getpid()),
                 "-H", self.host, "-p", str(self.port)],
                cwd=REPO,
                stdout=log or (None if self._inherit_output else subprocess.DEVNULL),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
            self._wait_until_ready()
        except BaseException:  # Ctrl-C during start-up included: never leave a server behind
            self.__exit__(None, None, None)
            raise
        finally:
            if log:
                log.close()  # the server has its own copy
        return self

    def _wait_until_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self._startup_seconds
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"moto server exited at start-up (code {self._process.returncode})"
                )
            try:
                with urlopen(f"{self.endpoint}/moto-api/", timeout=1):  # noqa: S310 - loopback
                    return
            except (URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        raise RuntimeError(f"moto server did not answer on {self.endpoint} in time")

    def __exit__(self, *exc_info: object) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)

    @property
    def environment(self) -> dict[str, str]:
        """What a boto3 process needs to talk to this stand-in instead of AWS, as the runner."""
        return {
            **DUMMY_CREDENTIALS,
            **self.credentials,
            "AWS_SESSION_TOKEN": "",
            "AWS_ENDPOINT_URL": self.endpoint,
        }

    def client(self, service: str, credentials: dict[str, str] | None = None) -> Any:
        """A client of the stand-in, as the runner or with `credentials` (a role's)."""
        credentials = credentials or self.credentials
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=credentials.get("AWS_SESSION_TOKEN") or None,
        )

    def enforce_iam(self) -> None:
        """From now on moto checks every request against its caller's identity policies.

        The runner carries on as an IAM user allowed everything (uploads, reading results: what
        a person or S3 itself does); the function uses its role's credentials.
        """
        iam = self.client("iam")
        iam.create_user(UserName="local-runner")
        iam.put_user_policy(
            UserName="local-runner",
            PolicyName="Everything",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
                }
            ),
        )
        key = iam.create_access_key(UserName="local-runner")["AccessKey"]
        self.credentials = {
            "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
        }
        # moto's switch: authenticate and authorise from the next request on.
        reset = Request(  # noqa: S310 - loopback
            f"{self.endpoint}/moto-api/reset-auth",
            data=b"0",
            method="POST",
            headers={"Content-Type": "text/plain"},  # a form's body would be parsed away
        )
        with urlopen(reset, timeout=10):  # noqa: S310 - loopback
            pass


if __name__ == "__main__":
    main(sys.argv[1:])
