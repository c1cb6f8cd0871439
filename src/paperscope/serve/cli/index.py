"""`paperscope embed` and `paperscope reindex`: the derived indexes beside the store."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Annotated

import orjson
import typer

from paperscope.index.embedding import embed_missing
from paperscope.rank import topics as topics_rank
from paperscope.rank.neighbours_follow import follow_vectors
from paperscope.rank.search import SearchEngine
from paperscope.serve.cli import app
from paperscope.serve.cli.options import (
    MAX_ID,
    DbOption,
    IndexDirOption,
    JsonOption,
    QuietOption,
    command,
    existing_db,
    index_progress,
    library_errors,
    open_store,
    resumable,
)
from paperscope.serve.cli.output import console, progress

if TYPE_CHECKING:
    from paperscope.index.ray_embed import RayEmbedResult


def papers_progress(label: str, quiet: bool):
    """A "<label> [bar] done/total papers" progress bar on stderr, gone when it ends; plain
    progress lines when stderr is not a terminal (`serve.cli.output`)."""
    return progress(label, "papers", quiet=quiet)


def embed_with_progress(engine: SearchEngine, *, quiet: bool = False) -> int:
    """Embed every paper lacking a vector of the current model; returns how many were done.

    Each batch commits on its own, so an interrupted run keeps its work and the next resumes.
    """
    missing = len(engine.store.rowids_without_vectors(engine.embedder.version))
    if not missing:
        return 0
    with papers_progress("embedding", quiet) as bar:
        task = bar.add_task("embed", total=missing)
        done = embed_missing(
            engine.store,
            engine.embedder,
            index=engine.vectors,
            progress=lambda n: bar.advance(task, n),
        )
    settle_embedded(engine, done)
    return len(done)


def settle_embedded(engine: SearchEngine, rowids: list[int]) -> None:
    """New papers join the nearest topic of each aspect built so far, without a rebuild,
    whether `embed` or Ray actors computed their vectors (the map place is the index
    layer's `finish_embedded`)."""
    if rowids:
        topics_rank.assign_new(engine.store, engine.embedder, rowids=rowids)


def embed_on_ray(
    engine: SearchEngine, address: str | None, actors: int | None, *, quiet: bool = False
) -> RayEmbedResult:
    """Embed every paper lacking a vector of the current model on Ray actors: the cluster at
    `address`, or a local instance. The batches written are kept whatever happens."""
    # imported here: plain `embed` and the other commands never load the Ray code
    from paperscope.index.embedder import available_cores
    from paperscope.index.ray_embed import RayEmbedResult, RayEmbedRun, factory_for, ray_session

    missing = len(engine.store.rowids_without_vectors(engine.embedder.version))
    if not missing:
        return RayEmbedResult(actors=0)
    # a local instance gets this machine's cores, or more if asked for more actors
    cpus = None if address else max(available_cores(), actors or 0)
    with ray_session(address, num_cpus=cpus), papers_progress("embedding on Ray", quiet) as bar:
        task = bar.add_task("embed", total=missing)
        run = RayEmbedRun(
            engine.store, engine.embedder.version, factory_for(engine.embedder), actors=actors
        )
        result = run.run(progress=lambda n: bar.advance(task, n), index=engine.vectors)
    settle_embedded(engine, result.embedded)
    return result


@app.command()
def embed(
    db: DbOption = None,
    index_folder: IndexDirOption = None,
    ray: Annotated[
        bool,
        typer.Option(
            "--ray",
            help="Embed on Ray actors: a local Ray instance, or the cluster at ADDRESS. "
            "Needs the optional 'cluster' extra (docs/scale.md).",
        ),
    ] = False,
    address: Annotated[
        str | None,
        typer.Argument(
            help="With --ray: the Ray cluster, 'auto' (the one this node belongs to) or "
            "ray://HOST:PORT. Omitted: start a local Ray instance.",
            metavar="ADDRESS",
            show_default=False,
        ),
    ] = None,
    actors: Annotated[
        int | None,
        typer.Option(
            "--actors",
            min=1,
            help="With --ray: Ray actors, each loading the model once and sharing the "
            "cluster's CPUs equally. Default: one per CPU of the cluster.",
            show_default=False,
        ),
    ] = None,
    quiet: QuietOption = False,
    as_json: JsonOption = False,
) -> None:
    """Embed the papers that have no vector for the current model (resumable).

    Papers are searchable lexically as soon as they are imported; their vectors follow here.
    A new embedding model re-embeds every paper.

    With --ray, Ray actors compute the vectors and this process writes them
    batch by batch: a rerun after a failure embeds only what is missing.
    """
    if not ray and (address is not None or actors is not None):
        raise typer.BadParameter("ADDRESS and --actors go with --ray")
    started = time.perf_counter()
    ray_started = time.monotonic()
    result: RayEmbedResult | None = None
    kept = "the vectors written so far are kept"
    with library_errors(), resumable(kept), SearchEngine.open(existing_db(db)) as engine:
        if ray:
            result = embed_on_ray(engine, address, actors, quiet=quiet or as_json)
            done = len(result.embedded)
        else:
            done = embed_with_progress(engine, quiet=quiet or as_json)
        embedded = engine.store.count_embedded(engine.embedder.version)
        papers = engine.store.count()
    seconds = time.perf_counter() - started
    if as_json:
        data: dict = {"embedded_now": done, "embedded": embedded, "papers": papers}
        data["seconds"] = seconds
        if result is not None:
            data["ray"] = {
                "actors": result.actors,
                "actors_started": result.actors_started,
                "actors_lost": result.actors_lost,
                "left": result.left,
                # from the start until the first actor had its model: Ray started or reached
                "startup_seconds": None
                if result.first_ready is None
                else round(result.first_ready - ray_started, 2),
            }
        typer.echo(orjson.dumps(data))
    else:
        rate = f" ({done / seconds:.1f} papers/s)" if done else ""
        where = f" on {result.actors_started} Ray actors" if result and result.actors else ""
        console().print(
            f"embedded {done} papers{where} in {seconds:.1f} s{rate}; {embedded} of {papers} "
            "papers have vectors",
            highlight=False,
        )
    if result is not None and (result.left or result.actors_lost):
        lost = f"{result.actors_lost} of {result.actors} Ray actors died ({result.error})"
        if result.left:
            typer.secho(
                f"error: {lost}; {result.left} papers were not embedded",
                err=True,
                fg="red",
            )
            typer.echo("hint: run the same command again: it embeds only those", err=True)
            raise typer.Exit(1)
        typer.echo(f"warning: {lost}; the others embedded their papers", err=True)


@app.command()
def reindex(
    db: DbOption = None,
    index_folder: IndexDirOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Rebuild every index (lexical and vectors) from the store, the source of truth."""
    started = time.perf_counter()
    with (
        index_progress(as_json or quiet) as progress,
        SearchEngine.open(existing_db(db), progress=progress) as engine,
    ):
        engine.lexical.rebuild(lambda done, total: progress("lexical", done, total))
        engine.vectors.rebuild(progress)
        counts = {"papers": engine.store.count(), "vectors": len(engine.vectors)}
    counts["seconds"] = round(time.perf_counter() - started, 2)
    if as_json:
        typer.echo(orjson.dumps(counts))
        return
    console().print(
        f"rebuilt the lexical index ({counts['papers']} papers) and the vector index "
        f"({counts['vectors']} papers) in {counts['seconds']} s",
        highlight=False,
    )


@app.command()
def compact(
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Rewrite the store with 8 KiB pages and no free space (SQLite VACUUM).

    Stores created before paperscope used 8 KiB pages keep 4 KiB ones, on which vectors take
    about 1.4 times their size instead of 1.1 (docs/bench/vector_storage.txt). Needs the
    store to itself (stop `serve` first) and free disk space for one copy of it.
    """
    started = time.perf_counter()
    path = existing_db(db)
    with open_store(path) as store:
        before = (store.page_size(), _file_bytes(path))
        store.compact()
        after = (store.page_size(), _file_bytes(path))
    data = {
        "path": str(path),
        "bytes_before": before[1],
        "bytes_after": after[1],
        "page_size_before": before[0],
        "page_size": after[0],
        "seconds": round(time.perf_counter() - started, 2),
    }
    if as_json:
        typer.echo(orjson.dumps(data))
        return
    console().print(
        f"compacted {path}: {before[1] / 1e6:.1f} MB -> {after[1] / 1e6:.1f} MB, "
        f"{after[0]}-byte pages, in {data['seconds']} s",
        highlight=False,
    )


def _file_bytes(path) -> int:
    return sum(
        os.path.getsize(f"{path}{suffix}")
        for suffix in ("", "-wal")
        if os.path.exists(f"{path}{suffix}")
    )


#: Papers one worker process computes per task of `neighbours --jobs N`.
NEIGHBOUR_TASK = 256

_worker_engine: SearchEngine | None = None


def _open_worker(db_path: str) -> None:
    global _worker_engine
    _worker_engine = SearchEngine.open(db_path)


def _remember_chunk(rowids: list[int]) -> tuple[int, int]:
    """(lists written, papers looked at) for one task."""
    assert _worker_engine is not None
    return _worker_engine.remember_similar(rowids), len(rowids)


@app.command()
def neighbours(
    db: DbOption = None,
    index_folder: IndexDirOption = None,
    newest: Annotated[
        int | None,
        typer.Option(
            "--newest",
            min=1,
            max=MAX_ID,
            help="Only the N newest papers (say, the feed's). Default: every paper.",
            show_default=False,
        ),
    ] = None,
    jobs: Annotated[
        int,
        typer.Option("--jobs", "-j", min=1, help="Worker processes; each loads the vector index."),
    ] = 1,
    quiet: QuietOption = False,
    as_json: JsonOption = False,
) -> None:
    """Compute the similar-paper lists of paper pages ahead of time (resumable).

    Paper pages, `similar` and /api/v1/paper/ID/similar remember each list
    (about 8 ms to compute at 100k papers) until vectors are written or removed.

    Run this after `embed` or an import that embeds; `serve` runs it for the
    2,000 newest papers whenever its worker has embedded new ones.

    With --jobs N, N worker processes each load the vector index.
    """
    started = time.perf_counter()
    path = existing_db(db)
    with resumable("the lists computed so far are kept"), SearchEngine.open(path) as engine:
        # lists remembered on older vectors follow the new ones first (the reverse-kNN
        # update); then the lists still missing are computed
        with papers_progress("lists that follow new papers", quiet or as_json) as bar:
            task = bar.add_task("follow", total=None)
            followed = follow_vectors(
                engine, progress=lambda done, total: bar.update(task, completed=done, total=total)
            )
        rowids = engine.store.rowids_newest(newest)
        # the store's state, not an index's: with --jobs the workers load the vector index,
        # this process does not
        state = engine.stored_neighbour_state()
        todo = engine.neighbours.missing(rowids, state)
        with papers_progress("similar-paper lists", quiet or as_json) as bar:
            task = bar.add_task("neighbours", total=len(rowids), completed=len(rowids) - len(todo))
            if jobs == 1 or len(todo) <= NEIGHBOUR_TASK:
                computed = engine.remember_similar(todo, progress=lambda n: bar.advance(task, n))
            else:
                computed = _remember_in_processes(path, todo, jobs, lambda n: bar.advance(task, n))
        now = engine.stored_neighbour_state()
        remembered = len(rowids) - len(engine.neighbours.missing(rowids, now))
    seconds = time.perf_counter() - started
    data = {
        "papers": len(rowids),
        "computed": computed,
        "remembered": remembered,
        "seconds": round(seconds, 2),
        "vectors_changed": now != state,
        "followed": followed.as_dict(),
    }
    if as_json:
        typer.echo(orjson.dumps(data))
        return
    rate = f" ({computed / seconds:.1f} papers/s)" if computed else ""
    console().print(
        f"computed {computed} similar-paper lists in {seconds:.1f} s{rate}; "
        f"{remembered} of {len(rowids)} papers have one",
        highlight=False,
    )
    if now != state:
        console(stderr=True).print(
            "the store's vectors changed during the run (papers were embedded): run "
            f"{command('neighbours', db)} again",
            highlight=False,
        )


def _remember_in_processes(path, todo: list[int], jobs: int, advance) -> int:
    """`remember_similar` over `todo` in `jobs` processes, each with its own engine; returns
    how many lists were written."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    chunks = [todo[s : s + NEIGHBOUR_TASK] for s in range(0, len(todo), NEIGHBOUR_TASK)]
    # spawn: a forked child would share the parent's SQLite connections
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        jobs, mp_context=context, initializer=_open_worker, initargs=(str(path),)
    ) as pool:
        written = 0
        for done in as_completed([pool.submit(_remember_chunk, c) for c in chunks]):
            lists, papers = done.result()
            written += lists
            advance(papers)
    return written
