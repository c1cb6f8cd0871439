"""API contract fuzzing: schemathesis over /openapi.json against a running server.

    python bench/api_fuzz.py                   # a store of the bundled samples, 50 examples
    python bench/api_fuzz.py --max-examples 20 --db papers.db

Serves the store with uvicorn on 127.0.0.1 (the app `paperscope serve` runs, rate limit off so
the fuzzer measures answers, not the limiter) and runs `schemathesis run` on its schema twice:
the JSON API (/api/) with the checks no server error (5xx), every status documented, every
body of the documented content type and JSON schema (errors: {"error": {"status", "message",
...}}); then every operation (pages, forms, feeds, exports) for server errors alone. Prints
schemathesis's summaries; exits 1 if either run failed.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from conftest import WEB_SOURCES  # noqa: E402
from webtools import build_store, live_server  # noqa: E402

CONTRACT = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
]
#: (name, operations, checks): the JSON API against its documented contract, then every
#: operation of the schema (pages, forms, feeds, exports too) for server errors alone.
RUNS = [
    ("api", "^/api/", CONTRACT),
    ("every route", None, ["not_a_server_error"]),
]


def schemathesis_command(
    base: str,
    paths: str | None,
    checks: list[str],
    max_examples: int,
    seed: int,
    phases: str = "examples,coverage,fuzzing",
) -> list[str]:
    """The `schemathesis run` command line; the coverage phase (every boundary and wrong
    type of every parameter) makes most of the cases, whatever `max_examples`."""
    executable = shutil.which("schemathesis") or "schemathesis"
    command = [executable, "run", f"{base}/openapi.json", "--checks", ",".join(checks)]
    if paths:
        command += ["--include-path-regex", paths]
    return [
        *command,
        "--max-examples",
        str(max_examples),
        "--seed",
        str(seed),
        "--workers",
        "1",
        "--phases",
        phases,
        "--generation-database",
        "none",
        "--no-color",
        "--request-timeout",
        "60",
    ]


def run(db: Path, max_examples: int, seed: int) -> list[tuple[str, subprocess.CompletedProcess]]:
    """Each of RUNS against one server on `db` (schemathesis's ./.schemathesis in a temporary
    folder, not the repository)."""
    done = []
    with live_server(db) as base, tempfile.TemporaryDirectory() as scratch:
        for name, paths, checks in RUNS:
            command = schemathesis_command(base, paths, checks, max_examples, seed)
            answer = subprocess.run(command, capture_output=True, text=True, cwd=scratch)
            done.append((name, answer))
    return done


def summary(output: str) -> str:
    """schemathesis's summary, without the run's address (a random port)."""
    text = re.sub(r"http://127\.0\.0\.1:\d+", "http://127.0.0.1:PORT", output)
    start = text.find("SUMMARY")
    return text[start:].strip() if start >= 0 else text.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, help="store to serve (default: the samples)")
    parser.add_argument("--max-examples", type=int, default=50, help="per API operation")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or build_store(Path(tmp) / "papers.db", WEB_SOURCES)
        results = run(db, args.max_examples, args.seed)
    print(f"# command: python bench/api_fuzz.py --max-examples {args.max_examples}")
    failed = 0
    for (name, paths, checks), (_, done) in zip(RUNS, results, strict=True):
        print(f"\n## {name}: operations {paths or 'all'}; checks: {', '.join(checks)}")
        print(summary(done.stdout))
        failed |= done.returncode
    sys.exit(failed)


if __name__ == "__main__":
    main()
