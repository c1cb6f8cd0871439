"""`paperscope import` and `paperscope formats`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.table import Table

from paperscope.config import resolve_db_path
from paperscope.ingest.pipeline import DEFAULT_BATCH, FileSummary, expand_paths, import_file
from paperscope.ingest.registry import all_importers, by_name
from paperscope.normalize import escape_controls, readable_name
from paperscope.rank.search import SearchEngine
from paperscope.serve.cli import app
from paperscope.serve.cli.index import embed_with_progress
from paperscope.serve.cli.options import (
    DbOption,
    JsonOption,
    QuietOption,
    open_store,
    path_argument,
    resumable,
)
from paperscope.serve.cli.output import console, progress

#: Rejected records listed per file before "... and N more" (all of them with --json).
SHOWN_REJECTS = 10
#: The summary's per-record counts: with rejected they add up to the records read.
_COUNTS = ("added", "merged", "merged_in_file", "unchanged")
#: What `-` names: read as a pipe, copied whole before detection (`import_file`).
STDIN = Path("/dev/stdin")


@app.command("import")
def import_(
    files: Annotated[
        list[Path],
        typer.Argument(
            parser=path_argument, help="Files or folders to import; - reads standard input."
        ),
    ],
    db: DbOption = None,
    format_name: Annotated[
        str | None,
        typer.Option("--format", help="Skip detection and read every file as this format."),
    ] = None,
    batch_size: Annotated[
        int, typer.Option(min=1, help="Papers per transaction (atomic unit).")
    ] = DEFAULT_BATCH,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
    no_embed: Annotated[
        bool,
        typer.Option(
            "--no-embed", help="Skip embedding the new papers (run `paperscope embed` later)."
        ),
    ] = False,
) -> None:
    """Import papers from files; the format of each file is detected from its content.

    Re-importing a paper merges it with the stored one (matched by arXiv id, DOI, then title
    and first author) and never duplicates it. A malformed record is reported with its file and
    location and skipped. Exit code 1 if a file could not be read at all, a folder holds no
    file, or a file gives no record under --format.

    Papers are committed and searchable by keyword first; then the new ones are embedded for
    semantic search (interruptible: `paperscope embed` resumes).

    Examples:

    - `paperscope import export.bib papers/ --db papers.db`
    - `zcat arxiv-snapshot.json.gz | paperscope import - --no-embed`
    - `paperscope import dump.jsonl --format kaggle-arxiv --json > summary.json`
    """
    if format_name is not None:
        by_name(format_name)  # an unknown name is one error, before any file is read
    # `-` is standard input, as for most commands that read files (`zcat dump.gz | ... -`)
    files = [STDIN if str(f) == "-" else f for f in files]
    summaries: list[FileSummary] = []
    with resumable("the batches committed so far are kept"), open_store(db) as store:
        paths = expand_paths(files)
        with progress(None, "bytes", quiet=quiet or as_json) as bar:
            for path in paths:
                task = bar.add_task(escape_controls(readable_name(path.name)), total=None)
                summaries.append(
                    import_file(
                        store,
                        path,
                        format_name=format_name,
                        batch_size=batch_size,
                        progress=lambda done, total, t=task: bar.update(
                            t, completed=done, total=total
                        ),
                    )
                )
                if summaries[-1].error:
                    bar.update(task, failed=True)
                bar.remove_task(task)
    if any(s.added or s.merged or s.deleted for s in summaries):
        # the lexical index catches up on open; vectors follow unless told not to
        with (
            resumable("every paper is imported, with the vectors written so far"),
            SearchEngine.open(resolve_db_path(db)) as engine,
        ):
            if not no_embed:
                embed_with_progress(engine, quiet=quiet or as_json)
    if as_json:
        typer.echo(orjson.dumps([s.as_dict() for s in summaries], option=orjson.OPT_INDENT_2))
        # in the JSON too, but stderr and a log say why the exit code is 1, as with every
        # other command's --json
        for summary in summaries:
            _print_error(summary)
    else:
        _print_summaries(summaries)
    if any(s.error for s in summaries):
        raise typer.Exit(1)


def _print_summaries(summaries: list[FileSummary]) -> None:
    out = console()
    table = Table(box=None)
    table.add_column("file", overflow="fold")  # whole on a terminal; off one, never folded
    table.add_column("format")
    # deletion notices (OAI-PMH) are records too; their column shows only when there are some
    counts = _COUNTS + (("deletions",) if any(s.deletions for s in summaries) else ())
    for name in (*counts, "rejected", "records"):
        table.add_column(name.replace("_", " "), justify="right")
    for s in summaries:
        table.add_row(
            escape_controls(s.path),
            s.format or "-",
            *(str(getattr(s, k)) for k in counts),
            str(len(s.rejected)),
            str(s.records),
        )
    if len(summaries) > 1:
        table.add_row(
            "total",
            "",
            *(str(sum(getattr(s, k) for s in summaries)) for k in counts),
            str(sum(len(s.rejected) for s in summaries)),
            str(sum(s.records for s in summaries)),
        )
    out.print(table)
    # plain lines, never wrapped, so `path:where: message` can be grepped and clicked; a name
    # or message holding ESC or a newline is escaped, never sent to the terminal raw
    for s in summaries:
        path = escape_controls(s.path)
        for bad in s.rejected[:SHOWN_REJECTS]:
            line = escape_controls(f"{bad.where}: {bad.message}")
            typer.secho(f"rejected {path}:{line}", err=True, fg="yellow")
        if len(s.rejected) > SHOWN_REJECTS:
            more = len(s.rejected) - SHOWN_REJECTS
            typer.secho(f"rejected {path}: ... and {more} more (--json lists all)", err=True)
        _print_error(s)


def _print_error(s: FileSummary) -> None:
    if s.error:
        typer.secho(f"error: {escape_controls(s.error)}", err=True, fg="red")
        if s.hint:
            typer.echo(f"hint: {escape_controls(s.hint)}", err=True)


@app.command("formats")
def formats(as_json: JsonOption = False) -> None:
    """List the formats `import` recognises."""
    importers = sorted(all_importers(), key=lambda i: i.name)
    if as_json:
        rows = [{"name": i.name, "description": i.description} for i in importers]
        typer.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2))
        return
    table = Table("format", "description", box=None)
    for importer in importers:
        table.add_row(importer.name, importer.description)
    console().print(table)
