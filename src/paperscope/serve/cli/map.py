"""`paperscope map rebuild|place|status`: the 2-D map of the field (docs/map.md)."""

from __future__ import annotations

import importlib.util
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import orjson
import typer

from paperscope.errors import InputError
from paperscope.index import layout
from paperscope.index.paths import index_dir
from paperscope.serve.cli import HELP_MARKUP, app
from paperscope.serve.cli.options import (
    DbOption,
    JsonOption,
    QuietOption,
    command,
    existing_db,
    open_existing_store,
    open_store,
    stage_progress,
)
from paperscope.store import map as store_map

map_app = typer.Typer(
    rich_markup_mode=HELP_MARKUP,
    help="The map of the field: every paper placed in 2-D by its meaning (the /map page).",
    no_args_is_help=True,
)
app.add_typer(map_app, name="map")


@map_app.command("rebuild")
def rebuild(
    db: DbOption = None,
    method: Annotated[
        str, typer.Option(help="Layout method: tsne (openTSNE), umap (needs umap-learn), pca.")
    ] = layout.DEFAULT_METHOD,
    sample: Annotated[
        int, typer.Option(min=10, help="Papers laid out by the method; the rest are placed.")
    ] = layout.SAMPLE,
    seed: Annotated[int, typer.Option(help="Random seed of the sample and the layout.")] = 0,
    quiet: QuietOption = False,
    as_json: JsonOption = False,
) -> None:
    """Lay out every embedded paper again (minutes at 1M papers).

    New papers join the map by themselves when they are embedded; run this when many have
    (`map status` shows how many)."""
    if method not in layout.METHODS:
        raise InputError(
            f"unknown layout method {method!r}", hint=f"one of {', '.join(layout.METHODS)}"
        )
    # an optional package: without it the layout failed with a traceback after the vectors
    # were read (minutes on a large store)
    if method == "umap" and importlib.util.find_spec("umap") is None:
        raise InputError(
            "--method umap needs the umap-learn package, which is not installed",
            hint="pip install umap-learn (or paperscope's bench extra), or --method tsne",
        )
    with (
        open_existing_store(db) as store,
        stage_progress("papers", quiet=quiet or as_json) as update,
    ):
        if layout.main_model(store) is None:
            # an empty map would record no model, and papers embedded later would never
            # join it (placement is by the map's model)
            raise InputError(
                "no paper has a vector yet, so there is nothing to lay out",
                hint=f"{command('embed', db)} computes the vectors",
            )
        built = layout.rebuild_layout(
            store, method=method, sample=sample, seed=seed, progress=update
        )
    if as_json:
        typer.echo(orjson.dumps(asdict(built)))
        return
    typer.echo(
        f"laid out {built.papers} papers ({built.sample} by {built.method}, the rest placed by "
        f"their neighbours) in {built.seconds:.1f} s"
    )


@map_app.command("place")
def place(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Place the embedded papers that have no point yet.

    Embedding does it by itself; this catches up a map built before papers were embedded
    elsewhere."""
    db_path = existing_db(db)
    with open_store(db_path) as store:
        built = store_map.state(store)
        todo = [] if built is None else store_map.unplaced(store, built.model, layout.DOC_PASSAGE)
        placed = 0
        if todo and built is not None:
            placed = layout.place_papers(store, todo, built.model, _vector_index(store, db_path))
    if as_json:
        typer.echo(orjson.dumps({"unplaced": len(todo), "placed": placed}))
        return
    if built is None:
        typer.echo(f"no map yet: {command('map rebuild', db)} lays one out")
    else:
        typer.echo(f"placed {placed} of {len(todo)} papers without a point")


def _vector_index(store, db_path: Path):
    """The store's vector index of the map's model, when its folder exists (None: placement
    falls back to the map's coarsest points)."""
    from paperscope.index.vectors import VectorIndex

    built = store_map.state(store)
    folder = index_dir(db_path) / "vectors"
    if built is None or not folder.exists():
        return None
    row = store.conn.execute(
        "SELECT vector FROM paper_vectors WHERE model = ? LIMIT 1", (built.model,)
    ).fetchone()
    if row is None:
        return None
    return VectorIndex(store, folder, built.model, len(row[0]) // 4)


@map_app.command("status")
def status(db: DbOption = None, as_json: JsonOption = False) -> None:
    """The map's build (method, size, when) and the papers placed since."""
    with open_existing_store(db) as store:
        built = store_map.state(store)
        points, placed = store_map.count_points(store)
        unplaced = len(store_map.unplaced(store, built.model, layout.DOC_PASSAGE)) if built else 0
    data = {
        "built": asdict(built) if built else None,
        "points": points,
        "placed_since": placed,
        "unplaced": unplaced,
    }
    if as_json:
        typer.echo(orjson.dumps(data))
        return
    if built is None:
        typer.echo(f"no map yet: {command('map rebuild', db)} lays one out")
        return
    typer.echo(
        f"{points} points: {built.papers} laid out by {built.method} at {built.built_at}, "
        f"{placed} placed since, {unplaced} embedded papers without a point"
    )
