"""`paperscope serve` as a real subprocess on 127.0.0.1 (uvicorn workers and all), for the
tests that need several processes: the shared rate limit, backups taken while serving."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from mailtools import free_port

#: Seconds a cold `serve` may take to answer on a loaded two-core machine.
START_TIMEOUT = 120.0


def wait_until_serving(base: str, proc: subprocess.Popen, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"serve exited: {proc.stderr.read()[-2000:]!r}")
        try:
            # not under /api/: not counted by the rate limit
            with urllib.request.urlopen(base + "/opensearch.xml", timeout=30):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise RuntimeError("serve did not answer in time")


@contextlib.contextmanager
def serving(db: Path, *options: str, workers: int = 1) -> Iterator[str]:
    """`paperscope serve --db db --workers N` (no embed worker) on a free port; its base URL.

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
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, proc)
        yield base
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
