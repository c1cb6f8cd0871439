"""Waiting for a `paperscope serve` a bench started to answer."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from collections.abc import Callable


def wait_ready(
    base: str,
    server: subprocess.Popen,
    timeout: float = 300,
    probe: str = "/api/v1/search?q=warm",
    request_timeout: float = 60,
    log: Callable[[], str] | None = None,
) -> None:
    """Until GET `base + probe` answers (the probe may warm what the timed requests need);
    RuntimeError with the server's output (`log()`, else its stderr pipe) when it exits
    first or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(base + probe, timeout=request_timeout) as answer:
                answer.read()
            return
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                said = log() if log is not None else _stderr_tail(server)
                state = "exited" if server.poll() is not None else "did not answer in time"
                raise RuntimeError(f"serve {state}: {said}") from None
            time.sleep(0.5)


def _stderr_tail(server: subprocess.Popen) -> str:
    return str(server.stderr.read()[-2000:]) if server.stderr is not None else ""
