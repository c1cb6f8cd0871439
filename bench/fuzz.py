"""Coverage-guided fuzzing (atheris, libFuzzer) of every parser of untrusted text.

    python bench/fuzz.py                      # every target, 10,000 runs each
    python bench/fuzz.py --runs 500 --target bibtex --target query

One target per importer (its `parse` and `sniff`) and one for the query parser (strict
parsing, then printing the tree back). Each runs in its own process for a fixed number of
iterations, seeded with the real recordings of samples/ (and, for the query parser, the
examples of docs/search.md), with paperscope's Python code instrumented for coverage. A crash
is any exception other than the documented InputError (QueryError for queries); it is
recorded and the run goes on, so the report gives iterations and crashes found per target.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
QUERY_SEEDS = [
    "attention transformer",
    '"graph neural network"',
    "transform*",
    "ti:bert AND abs:diffusion",
    'au:hu_j OR author:"Juhua Hu" OR au:"Hu, Juhua"',
    "cat:cs.* ANDNOT cat:cs.CV",
    "id:2301.12345v2 OR arxiv:hep-th/9901001",
    "submittedDate:[202301010000 TO 202312312359]",
    "year:2021..2024 after:2024-01-01 before:2024-12",
    "(a OR b) -c NOT d",
    "co:accepted jr:Nature all:energy",
]
#: A target that crashes on purpose (on JSON input), to check that crashes are counted.
SELFCHECK = "selfcheck"
#: Bytes of a seed the fuzzer starts from (recordings are up to 300 kB; inputs stay small).
MAX_LEN = 32_768


def targets() -> list[str]:
    from paperscope.ingest.registry import all_importers

    return [*sorted(i.name for i in all_importers()), "query"]


def seed_files() -> list[Path]:
    found = [p for p in (SAMPLES / "formats").rglob("*.*") if p.name != "SOURCES.md"]
    return sorted(found + list((SAMPLES / "pages").glob("*.txt")))


# ---------------------------------------------------------------- the child: one target


def child(target: str, runs: int, corpus: Path, crashes: Path) -> None:
    import atheris

    with atheris.instrument_imports(include=["paperscope"]):
        import io

        from paperscope.errors import InputError, QueryError
        from paperscope.ingest.registry import all_importers, by_name
        from paperscope.rank import query

        all_importers()  # the importer modules load here, so they are instrumented too

    def record(data: bytes, exc: BaseException) -> None:
        with crashes.open("a", encoding="utf-8") as out:
            kind = f"{type(exc).__name__}: {str(exc)[:200]}"
            out.write(json.dumps({"error": kind, "input": data[:2000].hex()}) + "\n")

    if target == "query":

        def one_input(data: bytes) -> None:
            text = data.decode("utf-8", errors="replace")
            try:
                node = query.parse(text)
                query.parse(query.to_string(node))
            except QueryError:
                pass
            except Exception as exc:  # a crash: anything but the documented error
                record(data, exc)

    elif target == SELFCHECK:

        def one_input(data: bytes) -> None:
            try:
                if data.lstrip()[:1] == b"{":
                    raise ValueError("planted crash")
            except Exception as exc:
                record(data, exc)

    else:
        importer = by_name(target)

        def one_input(data: bytes) -> None:
            try:
                importer.sniff(data[:65536], "fuzz.bin")
                for _ in importer.parse(io.BytesIO(data), "fuzz.bin"):
                    pass
            except InputError:
                pass
            except Exception as exc:  # a crash: anything but the documented error
                record(data, exc)

    argv = [sys.argv[0], str(corpus), f"-runs={runs}", f"-max_len={MAX_LEN}", "-seed=1"]
    atheris.Setup(argv, one_input)
    atheris.Fuzz()


# ---------------------------------------------------------------- the parent: every target


def seed_corpus(target: str, folder: Path) -> int:
    folder.mkdir(parents=True)
    if target == "query":
        for n, text in enumerate(QUERY_SEEDS):
            (folder / f"q{n}").write_text(text, encoding="utf-8")
        return len(QUERY_SEEDS)
    files = seed_files()
    for n, path in enumerate(files):
        (folder / f"s{n}").write_bytes(path.read_bytes()[:MAX_LEN])
    return len(files)


def run_target(target: str, runs: int, work: Path) -> dict:
    corpus, crashes = work / target / "corpus", work / target / "crashes.jsonl"
    seeds = seed_corpus(target, corpus)
    crashes.touch()
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, __file__, "--child", target, "--runs", str(runs), "--work", str(work)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src")]))},
    )
    seconds = time.monotonic() - started
    found = [json.loads(line) for line in crashes.read_text().splitlines() if line]
    done_line = re.search(r"Done (\d+) runs", done.stderr)
    coverage = re.findall(r"cov: (\d+) ft: (\d+)", done.stderr)
    return {
        "target": target,
        "runs": int(done_line.group(1)) if done_line else 0,
        "crashes": len(found),
        "kinds": sorted({c["error"].split(":")[0] for c in found}),
        "first": found[0]["error"] if found else None,
        "seeds": seeds,
        "cov": int(coverage[-1][0]) if coverage else 0,
        "ft": int(coverage[-1][1]) if coverage else 0,
        "seconds": round(seconds, 1),
        "exit": done.returncode,
        "stderr_tail": "" if done_line else done.stderr[-2000:],
    }


def report(results: list[dict], runs: int) -> str:
    lines = [
        f"# command: python bench/fuzz.py --runs {runs}",
        "# atheris (libFuzzer), paperscope instrumented, seeded from samples/; a crash is any",
        "# exception but InputError/QueryError; runs: libFuzzer's count (the -runs iterations",
        "# and the seeds' first runs). Shared 2-core machine: seconds are noisy.",
        f"{'target':<22}{'runs':>8}{'crashes':>9}{'seeds':>7}{'cov':>7}{'ft':>7}{'seconds':>9}",
    ]
    for r in results:
        lines.append(
            f"{r['target']:<22}{r['runs']:>8}{r['crashes']:>9}{r['seeds']:>7}"
            f"{r['cov']:>7}{r['ft']:>7}{r['seconds']:>9}"
        )
        if r["crashes"]:
            lines.append(f"  first crash: {r['first']}")
    total = sum(r["runs"] for r in results)
    crashes = sum(r["crashes"] for r in results)
    lines.append(f"total: {total} iterations over {len(results)} targets, {crashes} crashes found")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10_000, help="iterations per target")
    parser.add_argument("--target", action="append", help="only these targets (repeatable)")
    parser.add_argument("--json", action="store_true", help="results as JSON")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        folder = args.work / args.child
        child(args.child, args.runs, folder / "corpus", folder / "crashes.jsonl")
        return
    sys.path.insert(0, str(ROOT / "src"))
    chosen = args.target or targets()
    unknown = set(chosen) - set(targets()) - {SELFCHECK}
    if unknown:
        parser.error(f"unknown targets: {', '.join(sorted(unknown))}")
    work = Path(tempfile.mkdtemp(prefix="paperscope-fuzz-"))
    try:
        results = []
        for target in chosen:
            results.append(run_target(target, args.runs, work))
            if not args.json:
                print(report(results[-1:], args.runs).splitlines()[-2], flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(report(results, args.runs))
    if any(r["crashes"] or not r["runs"] for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
