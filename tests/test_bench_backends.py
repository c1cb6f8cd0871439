"""bench/backends.py at a tiny size: the same workload runs on SQLite and PostgreSQL and every
figure of the side-by-side table is measured."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench" / "backends.py"


def test_both_backends_run_the_workload_and_measure_every_figure():
    args = ["--papers", "200", "--queries", "3", "--pages", "3", "--parallel", "--json"]
    done = subprocess.run(
        [sys.executable, str(BENCH), *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    results = out["results"]
    assert set(results) == {"sqlite", "postgres"}
    for name, res in results.items():
        assert res["import"]["wall"] > 0 and res["import"]["rss"] > 0, name
        for mode in ("lexical", "semantic", "hybrid"):
            for path in ("engine", "http"):
                assert 0 < res[path][mode]["p50"] <= res[path][mode]["p95"], (name, path, mode)
        assert res["http"]["first"]["p50"] > 0 and res["http"]["warm"]["p50"] > 0, name
        assert res["db_bytes"] > 0 and res["index_bytes"] > 0, name
    # the PostgreSQL server's own CPU is counted (the bench started it: pgserver)
    assert results["postgres"]["import"]["server_cpu"] > 0
    table = "\n".join(out["lines"])
    assert "| import papers/s |" in table and "| HTTP /paper warm p50 |" in table
    assert "PostgreSQL search within 2x of SQLite:" in table
