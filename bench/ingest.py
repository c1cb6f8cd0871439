"""Import speed: papers/s importing a generated Kaggle-format JSONL file, with peak memory.

Runs the real CLI (`python -m paperscope import FILE --db NEW.db --quiet`) in a child process
and reports wall time, papers/s and the child's peak RSS. Baselines printed beside it:
  - parse only: the Kaggle importer alone, no store (the ceiling the store can reach);
  - re-import: the same file again into the filled store (every paper matched, nothing new).

Usage: python bench/ingest.py [--records 200000] [--batch-size 2000]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synth import OUT, kaggle_file, shown

PARSE_ONLY = """
import sys, time, resource
from paperscope.ingest.importers.kaggle_jsonl import KaggleArxivImporter
t = time.perf_counter(); n = 0
with open(sys.argv[1], 'rb') as fh:
    for _ in KaggleArxivImporter().parse(fh, sys.argv[1]):
        n += 1
print(n, time.perf_counter() - t)
"""


def run(cmd: list[str]) -> tuple[float, float, str]:
    """(seconds, peak RSS MiB of this child, stdout). ru_maxrss of children is a running max,
    so each measured step runs in its own fresh interpreter via a wrapper."""
    wrapper = [
        sys.executable,
        "-c",
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
        "dt = time.perf_counter() - t; "
        "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024; "
        "sys.stderr.write(p.stderr); print(dt, rss); print(p.stdout, end=''); "
        "sys.exit(p.returncode)",
        *cmd,
    ]
    out = subprocess.run(wrapper, capture_output=True, text=True, check=True)
    first, _, rest = out.stdout.partition("\n")
    seconds, rss = map(float, first.split())
    return seconds, rss, rest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--batch-size", type=int, default=2000)
    args = ap.parse_args()

    t = time.perf_counter()
    data = kaggle_file(args.records)
    print(
        f"input: {shown(data)} ({data.stat().st_size / 2**20:.0f} MiB, "
        f"generated/cached in {time.perf_counter() - t:.1f} s)"
    )

    _, rss, out = run([sys.executable, "-c", PARSE_ONLY, str(data)])
    parsed, parse_s = out.split()
    parse_rate = int(parsed) / float(parse_s)

    db = OUT / "bench-ingest.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    cli = [
        sys.executable,
        "-m",
        "paperscope",
        "import",
        str(data),
        "--db",
        str(db),
        "--quiet",
        "--batch-size",
        str(args.batch_size),
        "--no-embed",
    ]
    import_s, import_rss, _ = run(cli)
    reimport_s, reimport_rss, _ = run(cli)
    db_mib = sum(Path(f"{db}{s}").stat().st_size for s in ("", "-wal") if Path(f"{db}{s}").exists())

    n = args.records
    rows = [
        ("parse only (baseline)", parse_rate, float(parse_s), rss),
        ("import into new store", n / import_s, import_s, import_rss),
        ("re-import (all matched)", n / reimport_s, reimport_s, reimport_rss),
    ]
    print(
        f"\n{datetime.now(UTC):%Y-%m-%d} · {platform.machine()} · {os.cpu_count()} cores · "
        f"Python {platform.python_version()} · SQLite {__import__('sqlite3').sqlite_version}"
    )
    print(f"{'step':<26}{'papers/s':>10}{'seconds':>10}{'peak RSS MiB':>14}")
    for name, rate, secs, mem in rows:
        print(f"{name:<26}{rate:>10,.0f}{secs:>10.1f}{mem:>14.0f}")
    print(f"\nimport / parse-only ratio: {rows[1][1] / parse_rate:.2f}")
    print(f"store size: {db_mib / 2**20:.0f} MiB for {n:,} papers")
    print(f"target > 5,000 papers/s: {'met' if rows[1][1] > 5000 else 'NOT met'}")


if __name__ == "__main__":
    main()
