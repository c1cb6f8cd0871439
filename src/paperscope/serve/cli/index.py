"""`paperscope embed` and `paperscope reindex`: the derived indexes beside the store."""

from __future__ import annotations

import time
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from paperscope.config import resolve_db_path
from paperscope.index.embedding import embed_missing
from paperscope.rank.search import SearchEngine
from paperscope.serve.cli import app
from paperscope.serve.cli.options import DbOption, JsonOption, index_progress


def embed_with_progress(engine: SearchEngine, *, quiet: bool = False) -> int:
    """Embed every paper lacking a vector of the current model; returns how many were done.

    Each batch commits on its own, so an interrupted run keeps its work and the next resumes.
    """
    missing = len(engine.store.rowids_without_vectors(engine.embedder.version))
    if not missing:
        return 0
    with Progress(
        TextColumn("embedding"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("papers"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=quiet,
        transient=True,
    ) as bar:
        task = bar.add_task("embed", total=missing)
        done = embed_missing(
            engine.store,
            engine.embedder,
            index=engine.vectors,
            progress=lambda n: bar.advance(task, n),
        )
    return len(done)


@app.command()
def embed(
    db: DbOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Embed the papers that have no vector for the current model (resumable).

    Papers are searchable lexically as soon as they are imported; their vectors follow here.
    A new embedding model re-embeds every paper.
    """
    started = time.perf_counter()
    with SearchEngine.open(resolve_db_path(db)) as engine:
        done = embed_with_progress(engine, quiet=quiet or as_json)
        embedded = engine.store.count_embedded(engine.embedder.version)
        papers = engine.store.count()
    seconds = time.perf_counter() - started
    if as_json:
        data = {"embedded_now": done, "embedded": embedded, "papers": papers, "seconds": seconds}
        typer.echo(orjson.dumps(data))
        return
    rate = f" ({done / seconds:.1f} papers/s)" if done else ""
    Console().print(
        f"embedded {done} papers in {seconds:.1f} s{rate}; {embedded} of {papers} "
        "papers have vectors",
        highlight=False,
    )


@app.command()
def reindex(
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Rebuild every index (lexical and vectors) from the store, the source of truth."""
    started = time.perf_counter()
    with (
        index_progress(as_json) as progress,
        SearchEngine.open(resolve_db_path(db), progress=progress) as engine,
    ):
        engine.lexical.rebuild(lambda done, total: progress("lexical", done, total))
        engine.vectors.rebuild(progress)
        counts = {"papers": engine.store.count(), "vectors": len(engine.vectors)}
    counts["seconds"] = round(time.perf_counter() - started, 2)
    if as_json:
        typer.echo(orjson.dumps(counts))
        return
    Console().print(
        f"rebuilt the lexical index ({counts['papers']} papers) and the vector index "
        f"({counts['vectors']} papers) in {counts['seconds']} s",
        highlight=False,
    )
