"""`paperscope embed --ray` against plain `embed` on the same papers, and the rerun after a
killed actor.

The papers are the real abstracts of samples/corpus/arxiv-ml-abstracts-1000.csv, written as a
Kaggle arXiv snapshot and imported with `paperscope import --no-embed`. Every measured step
runs the real CLI in a child process on a fresh copy of that store:
  - plain `embed` (one process, onnxruntime on every core);
  - `embed --ray --actors 1` and `--actors 2` on a local Ray instance started by the command;
  - `embed --ray --actors 2` with one actor process SIGKILLed once vectors start arriving:
    the other actor takes its batches over;
  - `embed --ray --actors 1` with its only actor SIGKILLed: the command fails, and the rerun
    must embed exactly the papers still missing.

CPU time is that of the whole process tree (the CLI, and with Ray its raylet, GCS and actor
processes), sampled every 0.2 s with psutil: the load of the other processes on the machine
does not count in it, but does slow the wall time, so the load average is printed.

Usage: python bench/ray_embed.py [--papers 300] [--out docs/bench/ray_embed.txt]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synth import ROOT, corpus_snapshot, shown

WORKER_TITLE = "ray::EmbedWorker"


@dataclass
class Step:
    label: str
    wall: float
    cpu: float
    driver: float  # the command's own process: with Ray, the driver
    report: dict
    returncode: int

    @property
    def papers(self) -> int:
        return self.report.get("embedded_now", 0)


def paperscope(*args: str) -> list[str]:
    return [sys.executable, "-m", "paperscope", *args]


class TreeCpu:
    """CPU seconds (user + system) of a process and all its descendants, sampled: a process
    that ends counts with its last sample."""

    def __init__(self, root: psutil.Process) -> None:
        self.root = root
        self.seen: dict[tuple[int, float], float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(0.2):
            self.sample()

    def sample(self) -> None:
        try:
            procs = [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return
        for proc in procs:
            try:
                times = proc.cpu_times()
                key = (proc.pid, proc.create_time())
            except psutil.Error:
                continue
            self.seen[key] = times.user + times.system

    def stop(self) -> tuple[float, float]:
        """CPU seconds of the whole tree, and of the root process alone."""
        self._stop.set()
        self._thread.join()
        root = sum(v for (pid, _), v in self.seen.items() if pid == self.root.pid)
        return sum(self.seen.values()), root


def measure(
    label: str, args: list[str], during: Callable[[psutil.Process], None] | None = None
) -> Step:
    started = time.perf_counter()
    proc = subprocess.Popen(paperscope(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    tree = TreeCpu(psutil.Process(proc.pid))
    if during is not None:
        during(tree.root)
    out, err = proc.communicate(timeout=3600)
    wall = time.perf_counter() - started
    cpu, driver = tree.stop()
    try:
        report = json.loads(out)
    except json.JSONDecodeError:
        raise SystemExit(f"{label}: no JSON report: {err.decode()[-2000:]}") from None
    return Step(label, wall, cpu, driver, report, proc.returncode)


def embedded(db: Path) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
        return conn.execute("SELECT count(DISTINCT paper_rowid) FROM paper_vectors").fetchone()[0]


def kill_actor_when(db: Path, at_least: int, survivors: int) -> Callable[[psutil.Process], None]:
    """SIGKILL one actor process once `at_least` papers have vectors, and check `survivors`
    actors are left."""

    def kill(root: psutil.Process) -> None:
        deadline = time.monotonic() + 1800
        while embedded(db) < at_least:
            if time.monotonic() > deadline or not root.is_running():
                raise SystemExit("the run ended before an actor could be killed")
            time.sleep(0.1)
        actors = [p for p in root.children(recursive=True) if _is_worker(p)]
        if len(actors) != survivors + 1:
            raise SystemExit(f"expected {survivors + 1} actor processes, found {len(actors)}")
        actors[0].send_signal(signal.SIGKILL)

    return kill


def _is_worker(proc: psutil.Process) -> bool:
    try:
        return " ".join(proc.cmdline()).startswith(WORKER_TITLE)
    except psutil.Error:
        return False


def fresh(pristine: Path, folder: Path, name: str) -> Path:
    db = folder / name / "papers.db"
    db.parent.mkdir()
    shutil.copyfile(pristine, db)
    return db


def row(step: Step) -> str:
    ray = step.report.get("ray") or {}
    startup = ray.get("startup_seconds")
    rate = step.papers / step.wall if step.papers else 0.0
    steady = (
        step.papers / (step.report["seconds"] - startup)
        if step.papers and startup is not None
        else rate
    )
    cpu_per = step.cpu / step.papers if step.papers else 0.0
    lost = ray.get("actors_lost", "-")
    left = ray.get("left", "-")
    start = f"{startup:6.1f}" if startup is not None else "     -"
    return (
        f"{step.label:<34} {step.papers:>6} {step.wall:7.1f} {start} {rate:8.2f} {steady:8.2f} "
        f"{step.cpu:7.1f} {cpu_per:7.3f} {step.driver:6.1f} {lost!s:>5} {left!s:>5} "
        f"{step.returncode:>3}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=300)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "bench" / "ray_embed.txt")
    args = parser.parse_args()
    import ray

    with tempfile.TemporaryDirectory(prefix="ray-embed-bench-") as tmp:
        folder = Path(tmp)
        source = folder / "snapshot.jsonl"
        corpus_snapshot(source, args.papers)
        pristine = folder / "pristine.db"
        subprocess.run(
            paperscope("import", str(source), "--db", str(pristine), "--no-embed", "--quiet"),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        loads = [os.getloadavg()[0]]
        steps = []
        db = fresh(pristine, folder, "plain")
        steps.append(measure("embed", ["embed", "--db", str(db), "--json"]))
        loads.append(os.getloadavg()[0])
        for actors in (1, 2):
            db = fresh(pristine, folder, f"ray{actors}")
            args_ = ["embed", "--db", str(db), "--ray", "--actors", str(actors), "--json"]
            steps.append(measure(f"embed --ray --actors {actors}", args_))
            loads.append(os.getloadavg()[0])

        # one of two actors killed once a quarter of the papers are written
        db = fresh(pristine, folder, "kill1of2")
        survived = measure(
            "--actors 2, one actor killed",
            ["embed", "--db", str(db), "--ray", "--actors", "2", "--json"],
            kill_actor_when(db, args.papers // 4, survivors=1),
        )
        steps.append(survived)
        survived_ok = survived.returncode == 0 and embedded(db) == args.papers

        # the only actor killed: the command fails; the rerun embeds exactly what is missing
        db = fresh(pristine, folder, "kill1of1")
        failed = measure(
            "--actors 1, the actor killed",
            ["embed", "--db", str(db), "--ray", "--actors", "1", "--json"],
            kill_actor_when(db, args.papers // 4, survivors=0),
        )
        steps.append(failed)
        missing_after_kill = args.papers - embedded(db)
        rerun = measure(
            "rerun: embed --ray --actors 2",
            ["embed", "--db", str(db), "--ray", "--actors", "2", "--json"],
        )
        steps.append(rerun)
        loads.append(os.getloadavg()[0])
        rerun_ok = rerun.papers == missing_after_kill and embedded(db) == args.papers

    plain = steps[0]
    lines = [
        f"paperscope embed --ray against plain embed; {args.papers} corpus abstracts "
        "(samples/corpus, imported as a Kaggle snapshot), default model (len 256, +doc)",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {len(os.sched_getaffinity(0))} cores, "
        f"ray {ray.__version__}, python {platform.python_version()}; load average (1 min) "
        f"during the runs: {', '.join(f'{x:.1f}' for x in loads)} (other work on the machine)",
        "",
        "wall: the whole command (startup included); startup: until the first Ray actor had",
        "its model (Ray started); papers/s after: papers / (command seconds - startup);",
        "cpu: user + system seconds of the command's whole process tree (Ray's own processes",
        "included); driver: of the command's process alone; lost: actors that died; left: papers",
        "the command left without vectors; rc: its exit code",
        "",
        f"{'run':<34} {'papers':>6} {'wall s':>7} {'start':>6} {'papers/s':>8} {'after':>8} "
        f"{'cpu s':>7} {'cpu/pap':>7} {'driver':>6} {'lost':>5} {'left':>5} {'rc':>3}",
        *(row(s) for s in steps),
        "",
        "against plain embed (wall papers/s): "
        + ", ".join(
            f"{s.label} {s.papers / s.wall / (plain.papers / plain.wall):.2f}x" for s in steps[1:3]
        ),
        f"one of two actors killed: every paper embedded by the survivor: {survived_ok}",
        f"the only actor killed: {missing_after_kill} of {args.papers} papers left missing "
        f"(exit code {failed.returncode}); the rerun embedded {rerun.papers}: "
        f"only the missing ones: {rerun_ok}",
    ]
    text = "\n".join(lines) + "\n"
    print(text, end="")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"saved {shown(args.out)}")


if __name__ == "__main__":
    main()
