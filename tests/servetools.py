"""`paperscope serve` as a real subprocess on 127.0.0.1 (uvicorn workers and all), for the
tests that need several processes: the shared rate limit, backups taken while serving."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from mailtools import free_port

#: Seconds a cold `serve` may take to answer on a loaded two-core machine.
START_TIMEOUT = 120.0


def wait_until_serving(
    base: str,
    proc: subprocess.Popen,
    timeout: float = START_TIMEOUT,
    log: Callable[[], str] | None = None,
) -> None:
    """Until `serve` at `base` answers; RuntimeError when it exits first or takes longer
    than `timeout`, with its output: `log()`, or the tail of its stderr pipe."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            said = log() if log is not None else proc.stderr.read()[-2000:]
            raise RuntimeError(f"serve exited: {said!r}")
        try:
            # not under /api/: not counted by the rate limit
            with urllib.request.urlopen(base + "/opensearch.xml", timeout=30):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise RuntimeError(f"serve did not answer in time: {log() if log is not None else ''!r}")


@dataclass
class Serving:
    base: str  # http://127.0.0.1:PORT
    port: int
    proc: subprocess.Popen


@contextlib.contextmanager
def serving(
    db: Path, *options: str, workers: int = 1, env: dict[str, str] | None = None
) -> Iterator[Serving]:
    """`paperscope serve --db db --workers N` (no embed worker) on a free port; `env`:
    variables to set for it.

    The port is looked up as free and handed over; a clash shows as a start failure."""
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "paperscope",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--db",
        str(db),
        "--workers",
        str(workers),
        "--no-embed-worker",
        "--log-level",
        "warning",
        *options,
    ]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, proc)
        yield Serving(base, port, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def status_of(url: str, timeout: float = 60.0) -> int:
    """The HTTP status of a GET on a new connection."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def process_tree(pid: int) -> list[int]:
    """`pid` and every process below it (uvicorn's supervisor starts the workers)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    tree, todo = [], [pid]
    while todo:
        tree.append(todo.pop())
        todo.extend(parents.get(tree[-1], []))
    return tree


def _socket_inode(server_port: int, client_port: int) -> str | None:
    """The inode of the server's end of the 127.0.0.1 connection from `client_port`."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1].split(":"), fields[2].split(":")
        if int(local[1], 16) == server_port and int(remote[1], 16) == client_port:
            return fields[9]
    return None


def process_holding(server: Serving, client_port: int) -> int | None:
    """Which process of the serve tree holds the connection from `client_port` (Linux)."""
    inode = _socket_inode(server.port, client_port)
    for pid in process_tree(server.proc.pid):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                    return pid
    return None
