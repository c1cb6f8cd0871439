"""CPU and RSS of a process and its descendants (a server and its workers), from /proc."""

from __future__ import annotations

import os
from pathlib import Path


def tree(pid: int) -> list[int]:
    """`pid` and its live descendants."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        found.append(p)
        todo += [int(c) for c in children]
    return found


def tree_cpu(pid: int | None, reaped: bool = False) -> float:
    """CPU seconds (user + system) `pid` and its descendants have used so far; with `reaped`,
    also that of the children they waited for (a server's ended helper processes). 0 for
    no pid."""
    if pid is None:
        return 0.0
    last = 15 if reaped else 13  # utime, stime (, cutime, cstime)
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:last])
    return total / ticks


def tree_rss(pid: int) -> int:
    """RSS in bytes of `pid` and its descendants now."""
    total = 0
    for p in tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total
