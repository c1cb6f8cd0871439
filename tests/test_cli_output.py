"""The CLI's output sent to a file or a pipe (issue 15): whole lines, never wrapped inside a
path or a number, and plain progress lines on a clock instead of a live bar. Real `paperscope`
processes writing to real files; a real pseudo-terminal for the terminal side."""

from __future__ import annotations

import fcntl
import itertools
import os
import pty
import re
import shutil
import struct
import subprocess
import sys
import termios
import time
from datetime import datetime
from pathlib import Path

import pytest

from conftest import PAGES
from paperscope.serve.cli.output import PROGRESS_SECONDS, LineProgress

STAMPED = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) (.+?): (.+)$")


def paperscope(*args: str, stdout, stderr, env: dict | None = None) -> int:
    return subprocess.run(
        [sys.executable, "-m", "paperscope", *args],
        stdout=stdout,
        stderr=stderr,
        env={**os.environ, "COLUMNS": "80", **(env or {})},
        timeout=900,
    ).returncode


@pytest.fixture(scope="module")
def long_paths(tmp_path_factory) -> list[Path]:
    """The sample pages under a folder whose path alone is longer than 80 columns."""
    folder = tmp_path_factory.mktemp("out") / ("a-folder-with-a-rather-long-name-" * 3)
    folder.mkdir()
    return [Path(shutil.copy(p, folder)) for p in sorted(PAGES.glob("*.txt"))]


def test_import_to_a_file_writes_whole_lines(long_paths, tmp_path):
    db, log, err = tmp_path / "p.db", tmp_path / "log", tmp_path / "err"
    with log.open("w") as out, err.open("w") as errors:
        code = paperscope(
            "import",
            *map(str, long_paths),
            "--db",
            str(db),
            "--no-embed",
            stdout=out,
            stderr=errors,
        )
    assert code == 0
    lines = log.read_text().splitlines()
    assert len(lines) == 1 + len(long_paths) + 1  # header, a row per file, the total
    for path in long_paths:
        row = next(line for line in lines if str(path) in line)  # the whole path on one line
        # added, merged, merged in file, unchanged, rejected, records
        added, records = re.search(r"page-\S+\s+(\d+)\s+0\s+0\s+0\s+0\s+(\d+)\s*$", row).groups()
        assert added == records, row
    assert re.search(r"^\s*total\s+118\s+0\s+0\s+0\s+0\s+118\s*$", lines[-1]), lines[-1]
    # progress: one stamped line when each file starts and when it is done, no bar
    progress = err.read_text().splitlines()
    assert progress and all(STAMPED.match(line) for line in progress), progress
    assert "\r" not in err.read_text() and "\x1b" not in err.read_text()
    for path in long_paths:
        assert sum(path.name in line for line in progress) >= 2


def test_import_with_both_streams_in_one_file(long_paths, tmp_path):
    db, log = tmp_path / "p.db", tmp_path / "log"
    with log.open("w") as out:
        assert (
            paperscope(
                "import",
                *map(str, long_paths),
                "--db",
                str(db),
                "--no-embed",
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            == 0
        )
    text = log.read_text()
    assert all(str(path) in text for path in long_paths)
    assert "\x1b" not in text and "\r" not in text


def test_embed_to_a_file_writes_progress_on_a_clock(tmp_path):
    db, log = tmp_path / "p.db", tmp_path / "log"
    with open(os.devnull, "w") as null:
        assert (
            paperscope(
                "import",
                str(PAGES / "author-profile-lin.txt"),
                "--db",
                str(db),
                "--no-embed",
                stdout=null,
                stderr=null,
            )
            == 0
        )
    with log.open("w") as out:
        code = paperscope(
            "embed",
            "--db",
            str(db),
            stdout=out,
            stderr=subprocess.STDOUT,
            env={"PAPERSCOPE_PROGRESS_SECONDS": "1"},
        )
    assert code == 0
    lines = log.read_text().splitlines()
    stamped = [STAMPED.match(line) for line in lines[:-1]]
    assert all(stamped), lines
    assert "started" in lines[0] and lines[-2].endswith("done")
    assert re.fullmatch(
        r"embedded 12 papers in [\d.]+ s \([\d.]+ papers/s\); 12 of 12 papers "
        r"have vectors",
        lines[-1],
    ), lines[-1]
    moments = [datetime.fromisoformat(m.group(1).replace("Z", "+00:00")) for m in stamped]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(moments)]
    # a line every second asked for; a loaded machine may delay one, never by much
    assert max(gaps, default=0) <= 5, gaps


def test_progress_lines_keep_coming_while_nothing_finishes():
    """A batch slower than the interval still gets lines: they come from a timer."""
    import io

    stream = io.StringIO()
    bar = LineProgress("embedding", "papers", seconds=0.05)
    saved, sys.stderr = sys.stderr, stream
    try:
        with bar:
            task = bar.add_task("embed", total=10)
            time.sleep(0.5)
            bar.advance(task, 4)
            time.sleep(0.2)
    finally:
        sys.stderr = saved
    lines = stream.getvalue().splitlines()
    running = [line for line in lines if "elapsed" in line and not line.endswith("done")]
    assert len(running) >= 4
    assert "0/10 papers (0%)" in running[0] and "4/10 papers (40%)" in lines[-1]
    assert lines[-1].endswith("done")
    assert PROGRESS_SECONDS <= 30  # the default: a line at least every 30 s


def test_a_stage_that_reaches_its_total_says_done_then_with_its_own_time():
    """`map rebuild` in a log: the vectors stage, read in 10 s, said "done" only when the
    whole job ended, with the job's time, and kept printing running lines at 100% meanwhile."""
    import io

    now = [0.0]
    stream = io.StringIO()
    saved, sys.stderr = sys.stderr, stream
    try:
        with LineProgress(None, "papers", seconds=0.05, clock=lambda: now[0]) as bar:
            vectors = bar.add_task("vectors", total=4)
            now[0] = 10.0
            bar.update(vectors, completed=4)
            now[0] = 25.0
            layout = bar.add_task("layout", total=4)
            time.sleep(0.3)  # the timer writes running lines for layout alone
            bar.update(layout, completed=2, total=4)
        ended = stream.getvalue().splitlines()
    finally:
        sys.stderr = saved
    of_vectors = [line for line in ended if " vectors: " in line]
    assert len(of_vectors) == 2, ended  # started, and done once
    assert of_vectors[1].endswith("vectors: 4/4 papers (100%), 10 s elapsed, done")
    assert ended.index(of_vectors[1]) < min(i for i, x in enumerate(ended) if " layout: " in x)
    assert ended[-1].endswith("done") and "layout: 2/4 papers (50%)" in ended[-1]


def test_a_total_that_grows_after_reaching_it_goes_back_to_running():
    import io

    stream = io.StringIO()
    saved, sys.stderr = sys.stderr, stream
    try:
        with LineProgress(None, "files", seconds=60) as bar:
            task = bar.add_task("reading", total=2)
            bar.advance(task, 2)
            bar.update(task, total=5)
            bar.advance(task, 3)
        lines = stream.getvalue().splitlines()
    finally:
        sys.stderr = saved
    assert [line.rsplit(": ", 1)[1] for line in lines] == [
        "0/2 files (0%), started",
        "2/2 files (100%), 0 s elapsed, done",
        "5/5 files (100%), 0 s elapsed, done",
    ]


def test_a_task_cut_short_is_not_reported_done():
    """Ctrl-C or an error inside the progress display: its unfinished tasks end
    "interrupted" or "stopped", the finished ones "done"."""
    import io

    for raised, word in ((KeyboardInterrupt, "interrupted"), (OSError, "stopped")):
        stream = io.StringIO()
        saved, sys.stderr = sys.stderr, stream
        try:
            with pytest.raises(raised), LineProgress(None, "rows", seconds=60) as bar:
                whole = bar.add_task("copying papers", total=5)
                bar.advance(whole, 5)
                half = bar.add_task("copying vectors", total=10)
                bar.advance(half, 4)
                raise raised
        finally:
            sys.stderr = saved
        ends = {m[2]: m[3] for m in map(STAMPED.match, stream.getvalue().splitlines())}
        assert ends["copying papers"].endswith(", done")
        assert ends["copying vectors"].endswith(f"4/10 rows (40%), 0 s elapsed, {word}")


def test_a_file_that_could_not_be_read_ends_failed_in_the_log(long_paths, tmp_path):
    """A missing file's progress lines ended "0 s elapsed, done" above its error."""
    db, log, err = tmp_path / "p.db", tmp_path / "log", tmp_path / "err"
    missing = tmp_path / "missing.json"
    with log.open("w") as out, err.open("w") as errors:
        code = paperscope(
            "import", str(long_paths[0]), str(missing), "--db", str(db), "--no-embed",
            stdout=out, stderr=errors,
        )  # fmt: skip
    assert code == 1
    ends = {m[2]: m[3] for m in map(STAMPED.match, err.read_text().splitlines()) if m is not None}
    assert ends[long_paths[0].name].endswith(" done"), ends
    assert ends["missing.json"].endswith(" elapsed, failed"), ends


def on_a_terminal(env: dict, columns: int | None = None) -> tuple[int, str]:
    """`paperscope formats` through a pseudo-terminal (`columns` wide, when given): its exit
    code and what it showed, colours taken out (they are not width)."""
    master, slave = pty.openpty()
    if columns is not None:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    os.set_blocking(master, False)
    done = subprocess.run(
        [sys.executable, "-m", "paperscope", "formats"],
        stdout=slave,
        stderr=slave,
        env=env,
        timeout=300,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except (BlockingIOError, OSError):
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    return done.returncode, re.sub(r"\x1b\[[0-9;]*m", "", b"".join(chunks).decode())


def test_a_terminal_gets_its_width_and_a_file_does_not(tmp_path):
    """The same table through a 40-column pseudo-terminal wraps; to a file it does not."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    code, shown = on_a_terminal(env, columns=40)
    assert code == 0
    on_terminal = shown.splitlines()
    assert on_terminal and max(len(line) for line in on_terminal) <= 40
    log = tmp_path / "log"
    with log.open("w") as out:
        assert (
            paperscope("formats", stdout=out, stderr=subprocess.STDOUT, env={"COLUMNS": "40"}) == 0
        )
    assert max(len(line) for line in log.read_text().splitlines()) > 40


@pytest.mark.parametrize("columns", ["0", "1"])
def test_a_terminal_claiming_no_width_still_gets_the_whole_table(columns):
    """COLUMNS=0 printed nothing and COLUMNS=1 empty rows, both with exit code 0."""
    code, shown = on_a_terminal({**os.environ, "COLUMNS": columns})
    assert code == 0
    assert "bibtex" in shown and "kaggle" in shown


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["search"], "error: Missing argument 'query'."),
        (["serch", "x"], "error: No such command 'serch'. Did you mean 'search', "),
        (["search", "x", "--limit", "a-long-value-" * 8], "error: Invalid value for '--limit'"),
    ],
)
def test_a_usage_error_is_an_error_line_and_a_hint_not_a_box(tmp_path, args, message):
    """Typer drew usage errors in a box 80 columns wide: a log cut its message over several
    framed lines, unlike every other error of the CLI (`error:` then `hint:`)."""
    err = tmp_path / "err"
    with err.open("w") as errors:
        code = paperscope(*args, stdout=subprocess.DEVNULL, stderr=errors)
    lines = err.read_text().splitlines()
    assert code == 2
    assert len(lines) == 2, lines  # the whole message on one line, however long
    assert lines[0].startswith(message)
    command = "paperscope" if args[0] == "serch" else "paperscope search"
    assert lines[1].startswith(f"hint: usage: {command} [OPTIONS]")
    assert lines[1].endswith(f"(`{command} -h` for help)")
    assert not any(ch in err.read_text() for ch in "╭│╰─")
