"""The demo as a user runs it, interrupted mid-work: nothing may be left running afterwards.

Linux only: the processes are found through /proc.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scripts.support.sample_images import encode, photo

REPO = Path(__file__).resolve().parents[2]
#: Every wait here is for an event (a thumbnail written, an exit, a closed port), bounded so that
#: a hang fails the test; the bound is generous, not a timing: a loaded machine must not fail it.
PATIENCE = 120.0

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, or None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    state, ppid = text[text.rindex(")") + 2 :].split()[:2]
    return state, int(ppid)


def _alive(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] not in "ZX"  # a zombie has already exited


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) and stat[1] == pid:
            found.add(int(entry.name))
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _wait(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Enough work that the interruption lands while the function is busy."""
    folder = tmp_path_factory.mktemp("photos")
    data = encode(photo(1200, 800, seed=11), "JPEG")
    for n in range(80):
        (folder / f"photo-{n:02d}.jpg").write_bytes(data)
    return folder


def _start_demo_and_wait_until_busy(
    photos: Path, out: Path, ingest_mode: str = "direct"
) -> tuple[subprocess.Popen, int]:
    """Start the demo in its own process group, as a shell does; return it once thumbnails are
    being written, with the port of its local AWS."""
    options = ["--out", str(out), "--ingest-mode", ingest_mode]
    demo = subprocess.Popen(
        [sys.executable, "-m", "scripts.local.demo", str(photos), *options],
        cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    first_line = demo.stdout.readline()
    match = re.search(r"http://127\.0\.0\.1:(\d+)", first_line)
    assert match, f"unexpected first line {first_line!r}; stderr: {demo.stderr.read()}"
    log = out / "logs" / "function.jsonl"
    busy = _wait(lambda: log.exists() and "thumbnails written" in log.read_text(), PATIENCE)
    assert busy, "the function wrote no thumbnail in time"
    assert demo.poll() is None, "the demo finished before it could be interrupted"
    return demo, int(match.group(1))


def _kill_runner(demo: subprocess.Popen) -> None:
    os.kill(demo.pid, signal.SIGINT)


def _ctrl_c(demo: subprocess.Popen) -> None:
    os.killpg(demo.pid, signal.SIGINT)


@pytest.mark.parametrize(
    ("interrupt", "ingest_mode"),
    [
        pytest.param(_kill_runner, "direct", id="kill -INT runner"),
        pytest.param(_ctrl_c, "direct", id="Ctrl-C in a terminal"),
        # The event source mapping's pollers, busy with a batch, instead of the dispatcher
        pytest.param(_ctrl_c, "queue", id="Ctrl-C in a terminal, IngestMode=queue"),
    ],
)
def test_ctrl_c_mid_work_shuts_down_the_server_and_every_worker(
    photos, tmp_path, interrupt, ingest_mode
):
    # GIVEN the demo busy with 80 images: moto's server and function workers are running
    demo, port = _start_demo_and_wait_until_busy(photos, tmp_path / "out", ingest_mode)
    children = _children(demo.pid)
    workers = {pid for pid in children if "spawn_main" in _cmdline(pid)}
    servers = {pid for pid in children if "scripts.local.server" in _cmdline(pid)}
    assert workers
    assert len(servers) == 1

    # WHEN it is interrupted (Ctrl-C in a terminal reaches the whole foreground process group)
    interrupt(demo)
    _, stderr = demo.communicate(timeout=PATIENCE)

    # THEN it says so and exits 130, having stopped and reaped the server and the workers
    assert demo.returncode == 130, stderr
    assert "interrupted; the local stand-in has been shut down" in stderr
    assert not _port_open(port)
    assert [pid for pid in workers | servers if _alive(pid)] == []
    # AND multiprocessing's helper process follows its parent out
    assert _wait(lambda: not any(_alive(pid) for pid in children), PATIENCE)


def test_even_a_killed_runner_leaves_no_server_or_worker_behind(photos, tmp_path):
    # GIVEN the demo busy with its server and workers
    demo, port = _start_demo_and_wait_until_busy(photos, tmp_path / "out")
    children = _children(demo.pid)
    assert len(children) >= 3

    # WHEN the runner is killed outright: no handler, no cleanup of its own
    demo.kill()
    demo.communicate(timeout=PATIENCE)

    # THEN the orphans notice and exit by themselves
    assert _wait(lambda: not any(_alive(pid) for pid in children), PATIENCE)
    # AND the port is closed: bounded, since an exiting server's main thread shows as a zombie
    # while its other threads, which hold the socket until the last is gone, are still ending
    assert _wait(lambda: not _port_open(port), PATIENCE)
