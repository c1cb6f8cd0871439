"""Where the CLI writes, terminal or not.

A terminal gets Rich's tables at its width and live progress bars. A file or a pipe
(`paperscope import FILE > log`, `2>&1`, `| grep`) gets lines as long as they need to be, so
no path or number is ever split across two lines, and plain progress lines with a UTC time
stamp, one when a task starts, one every PROGRESS_SECONDS while it runs (from a timer, so a
slow batch cannot silence it) and one when it ends, instead of a bar redrawn in place.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Literal

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.text import Text

from paperscope.dates import iso_utc
from paperscope.normalize import strip_controls

#: Seconds between two progress lines when output is not a terminal (the environment
#: variable PAPERSCOPE_PROGRESS_SECONDS overrides it, say for a test or a chattier log).
PROGRESS_SECONDS = 10.0
MIN_PROGRESS_SECONDS, MAX_PROGRESS_SECONDS = 0.1, 3600.0
#: A terminal that says it is narrower than this (COLUMNS=0) is taken to be FALLBACK_WIDTH.
MIN_WIDTH, FALLBACK_WIDTH = 20, 80
#: The line width used off a terminal: wide enough that nothing real wraps.
UNWRAPPED = 100_000

Unit = Literal["papers", "bytes", "rows", "entries"]


def is_terminal(stream: IO | None) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError):  # a closed or exotic stream
        return False


class _Console(Console):
    """A console that never sends a terminal control or bidi override it was handed: a store
    written before importers cleaned them out may hold escape sequences in its text."""

    def render_str(self, text: str, **options) -> Text:
        return super().render_str(strip_controls(text, multiline=True), **options)


def console(stderr: bool = False, **options) -> Console:
    """A Rich console on stdout (or stderr): the terminal's width on a terminal, else
    unwrapped lines and no colour. `options` go to `rich.console.Console`.

    Strings are printed as written, never read as Rich markup: titles, names, file names and
    queries hold brackets (`[mask]`, `[/x]`) that markup would drop or fail on. Styled text is
    built with `styled` or `rich.text.Text`."""
    stream = sys.stderr if stderr else sys.stdout
    options.setdefault("markup", False)
    if is_terminal(stream):
        shown = _Console(stderr=stderr, **options)
        if shown.width >= MIN_WIDTH or "width" in options:
            return shown
        # COLUMNS=0 printed nothing at all, and 1 printed tables as empty rows
        return _Console(stderr=stderr, width=FALLBACK_WIDTH, **options)
    options.update(width=UNWRAPPED, soft_wrap=True, no_color=True)
    return _Console(stderr=stderr, **options)


def styled(*parts: str | tuple[str, str]) -> Text:
    """Text from plain strings and (string, style) pairs, none of them read as markup, with
    terminal controls taken out (see `_Console`)."""
    return Text.assemble(
        *(
            strip_controls(p, multiline=True)
            if isinstance(p, str)
            else (strip_controls(p[0], multiline=True), p[1])
            for p in parts
        )
    )


def progress_seconds() -> float:
    raw = os.environ.get("PAPERSCOPE_PROGRESS_SECONDS", "")
    try:
        value = float(raw)
    except ValueError:
        return PROGRESS_SECONDS
    if not value > 0:  # NaN too
        return PROGRESS_SECONDS
    # a timer cannot wait forever (inf overflowed it) and a tiny one floods the log
    return min(max(value, MIN_PROGRESS_SECONDS), MAX_PROGRESS_SECONDS)


def progress(label: str | None, unit: Unit, *, quiet: bool = False) -> Progress | LineProgress:
    """A progress display on stderr with Rich's task API (`add_task`, `update`, `advance`,
    `remove_task`): a live bar on a terminal, else `LineProgress`. `label` names every task
    (None: each task's own description)."""
    if not quiet and not is_terminal(sys.stderr):
        return LineProgress(label, unit)
    # labels and descriptions name files, which may hold brackets or braces: shown as written
    shown = "{task.description}" if label is None else label.replace("{", "{{").replace("}", "}}")
    name = TextColumn(shown, markup=False)
    if unit == "bytes":
        columns = (name, BarColumn(), DownloadColumn(), TransferSpeedColumn())
    else:
        columns = (name, BarColumn(), MofNCompleteColumn(), TextColumn(unit))
    return Progress(
        *columns,
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=quiet,
        transient=True,
    )


@dataclass(slots=True)
class _Task:
    name: str
    total: float | None
    done: float
    started: float
    #: Set through `update(task, failed=True)` (Rich keeps it as a field): a file that could
    #: not be read ends "failed", not "done", in a log.
    failed: bool = False
    #: Its "done" line is written: the stage reached its total while later stages go on, and
    #: its line says when (at the end, every finished stage read as taking the whole job).
    told_done: bool = False


class LineProgress:
    """Progress as plain lines on stderr (see the module docstring). Thread-safe."""

    def __init__(
        self,
        label: str | None,
        unit: Unit,
        *,
        seconds: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.unit = unit
        self.seconds = seconds if seconds is not None else progress_seconds()
        self._clock = clock
        self._tasks: dict[int, _Task] = {}
        self._next = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None
        self._stream: IO | None = None

    def __enter__(self) -> LineProgress:
        self._stream = sys.stderr  # the stream of now: a test runner may swap it later
        self._timer = threading.Thread(target=self._tick, name="progress-lines", daemon=True)
        self._timer.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        self._stop.set()
        if self._timer is not None:
            self._timer.join()
        # a task left unfinished by Ctrl-C or an error is not "done"
        ended = "done"
        if exc_type is not None:
            ended = "interrupted" if issubclass(exc_type, KeyboardInterrupt) else "stopped"
        with self._lock:
            for task_id in list(self._tasks):
                self._finish(task_id, ended)

    # ------------------------------------------------------------ Rich's task API

    def add_task(self, description: str, *, total: float | None = None, completed: float = 0):
        with self._lock:
            task_id = self._next
            self._next += 1
            task = _Task(self.label or description, total, completed, self._clock())
            self._tasks[task_id] = task
            self._write(self._line(task, "started"))
            return task_id

    def update(
        self, task_id: int, *, completed: float | None = None, total=None, failed=None, **_
    ) -> None:
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None:
                return
            if completed is not None:
                task.done = completed
            if total is not None:
                task.total = total
            if failed is not None:
                task.failed = failed
            self._tell_done(task)

    def advance(self, task_id: int, advance: float = 1) -> None:
        with self._lock:
            task = self._tasks.get(task_id)
            if task is not None:
                task.done += advance
                self._tell_done(task)

    def remove_task(self, task_id: int) -> None:
        with self._lock:
            self._finish(task_id)

    # ------------------------------------------------------------ lines

    def _tick(self) -> None:
        while not self._stop.wait(self.seconds):
            with self._lock:
                for task in self._tasks.values():
                    if not task.told_done:
                        self._write(self._line(task, "running"))

    @staticmethod
    def _complete(task: _Task) -> bool:
        return bool(task.total) and task.done >= task.total

    def _tell_done(self, task: _Task) -> None:
        """A task that reaches its total says "done" then; one whose total grows again
        goes back to running lines."""
        complete = self._complete(task) and not task.failed
        if complete and not task.told_done:
            self._write(self._line(task, "done"))
        task.told_done = complete

    def _finish(self, task_id: int, ended: str = "done") -> None:
        task = self._tasks.pop(task_id, None)
        if task is None or task.told_done:
            return
        if task.failed:
            ended = "failed"
        elif task.total is not None and task.done >= task.total:
            ended = "done"
        self._write(self._line(task, ended))

    def _line(self, task: _Task, state: str) -> str:
        elapsed = self._clock() - task.started
        stamp = iso_utc()
        parts = [f"{stamp} {task.name}: {self._amount(task)}"]
        if state == "started":
            parts.append("started")
        else:
            parts.append(f"{elapsed:.0f} s elapsed")
            if state == "running" and task.total and 0 < task.done < task.total:
                left = elapsed * (task.total - task.done) / task.done
                parts.append(f"about {left:.0f} s left")
            if state in ("done", "interrupted", "stopped", "failed"):
                parts.append(state)
        return ", ".join(parts)

    def _amount(self, task: _Task) -> str:
        scale, unit = (1_000_000, "MB") if self.unit == "bytes" else (1, self.unit)

        def num(value: float) -> str:
            return f"{value / scale:.1f}" if scale > 1 else f"{value:.0f}"

        if not task.total:
            return f"{num(task.done)} {unit}"
        share = 100 * task.done / task.total
        return f"{num(task.done)}/{num(task.total)} {unit} ({share:.0f}%)"

    def _write(self, line: str) -> None:
        stream = self._stream or sys.stderr
        try:
            stream.write(line + "\n")
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: progress is not worth a crash
            pass
