"""`make local-aws` starts again on its port right after a stop, and refuses a port in use."""

from __future__ import annotations

import socket
from urllib.request import urlopen

import pytest

from scripts.local.server import LocalAws


def _port_left_in_time_wait() -> int:
    """A loopback port whose only socket is in TIME_WAIT, as a stopped server leaves it."""
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
            accepted, _ = server.accept()
            accepted.close()  # the server's side closes first: its port enters TIME_WAIT
            client.recv(1)
    return int(port)


def test_a_port_in_time_wait_is_free_to_the_server() -> None:
    # GIVEN a port that a server has just stopped serving (TIME_WAIT, nothing listening)
    port = _port_left_in_time_wait()
    # WHEN the local AWS starts on it
    with LocalAws(port=port) as aws, urlopen(f"{aws.endpoint}/moto-api/", timeout=5) as answer:
        # THEN it starts, and answers
        assert answer.status == 200


def test_a_port_a_server_listens_on_is_refused_with_a_clear_message() -> None:
    # GIVEN a port something listens on
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen(1)
        port = other.getsockname()[1]
        # WHEN the local AWS is started on it / THEN it says so before starting a server
        with pytest.raises(RuntimeError, match=f"cannot listen on 127.0.0.1:{port}"):
            LocalAws(port=port).__enter__()
