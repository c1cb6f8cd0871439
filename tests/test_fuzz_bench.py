"""bench/fuzz.py, the coverage-guided fuzzing (atheris) of every parser, in a short run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FUZZ = ROOT / "bench" / "fuzz.py"


def fuzz(*args: str) -> tuple[int, list[dict]]:
    done = subprocess.run(
        [sys.executable, str(FUZZ), "--json", *args],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    return done.returncode, json.loads(done.stdout)


def test_every_parser_runs_its_iterations_without_a_crash():
    code, results = fuzz("--runs", "150")
    by_target = {r["target"]: r for r in results}
    assert "query" in by_target and "bibtex" in by_target and len(by_target) >= 12
    for result in results:
        assert result["runs"] >= 150, result  # libFuzzer counts the seeds' first runs too
        assert result["crashes"] == 0, result
        assert result["cov"] > 0, result  # the target's code was instrumented and reached
    assert code == 0


def test_a_crash_is_counted_and_fails_the_run():
    code, (result,) = fuzz("--runs", "50", "--target", "selfcheck")
    assert result["crashes"] > 0 and result["first"] == "ValueError: planted crash"
    assert code == 1
