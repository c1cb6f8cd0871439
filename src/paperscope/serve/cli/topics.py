"""`paperscope topics`: the topic hierarchy and its aspects (list, show, rebuild)."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Annotated

import orjson
import typer
from rich.table import Table

from paperscope.errors import InputError
from paperscope.index import layout
from paperscope.index.embedder import default_embedder
from paperscope.rank import topics as topics_rank
from paperscope.serve.cli import HELP_MARKUP, app
from paperscope.serve.cli.options import (
    MAX_ID,
    DbOption,
    JsonOption,
    QuietOption,
    command,
    open_existing_store,
    stage_progress,
)
from paperscope.serve.cli.output import console, styled
from paperscope.serve.topic_records import detail_json
from paperscope.store import topics as topic_store

topics_app = typer.Typer(
    rich_markup_mode=HELP_MARKUP,
    help="Topics: clusters of the papers by meaning, and groupings by task and method.",
    no_args_is_help=False,
    invoke_without_command=True,
)
app.add_typer(topics_app, name="topics")

AspectOption = Annotated[
    str, typer.Option("--aspect", help="topic (the main hierarchy), task or method.")
]


def _check_aspect(aspect: str) -> None:
    if aspect not in topics_rank.ALL_ASPECTS:
        raise InputError(
            f"unknown aspect {aspect!r}",
            hint="one of: " + ", ".join(topics_rank.ALL_ASPECTS),
        )


@topics_app.callback()
def topics_list(
    ctx: typer.Context,
    db: DbOption = None,
    aspect: AspectOption = topic_store.MAIN_ASPECT,
    as_json: JsonOption = False,
) -> None:
    """List topics: each top topic, then its sub-topics (id, label, size, parent)."""
    if ctx.invoked_subcommand:
        # `topics --db X show 1` and `topics --json rebuild`: the subcommand takes them (it
        # ran on the default store, with the group's --db silently dropped)
        ctx.obj = {"db": db, "json": as_json, "aspect": aspect}
        return
    _check_aspect(aspect)
    with open_existing_store(db) as store:
        rows = topics_rank.summaries(store, aspect)
        drift = topics_rank.drift(store, aspect)
    if as_json:
        typer.echo(orjson.dumps(rows))
        return
    if not rows:
        console(stderr=True).print(
            f"no topics yet: {command('topics rebuild', db)} clusters the embedded papers",
            highlight=False,
        )
        return
    table = Table("id", "size", "label", box=None)
    for row in rows:
        indent = "  " if row["parent"] else ""
        table.add_row(str(row["id"]), str(row["size"]), indent + row["label"])
    console().print(table, highlight=False)
    if drift:
        note = (
            f"built {drift['built_at']} on {drift['papers_at_build']} papers; "
            f"{drift['assigned_since']} assigned since ({drift['share_new']:.0%})"
        )
        if drift["assigned_since"]:
            # how far the new papers sit from their centroids, against the build's papers
            # (with none assigned there is no ratio: 0.00 read as "much closer")
            note += f", distance ratio {drift['distance_ratio']:.2f}"
        if drift["rebuild_advised"]:
            note += f"; a rebuild is advised: {command('topics rebuild', db)}"
        console(stderr=True).print(note, highlight=False)


def _with_group(
    ctx: typer.Context, db: str | None, as_json: bool
) -> tuple[str | None, bool, str | None]:
    """A subcommand's --db and --json, else those given to `topics` before it, and the
    group's --aspect when it is not the main one (`topics --db X --aspect task rebuild`)."""
    group = ctx.obj or {}
    aspect = group.get("aspect", topic_store.MAIN_ASPECT)
    return (
        db or group.get("db"),
        as_json or group.get("json", False),
        None if aspect == topic_store.MAIN_ASPECT else aspect,
    )


@topics_app.command("show")
def topics_show(
    topic_id: Annotated[
        int, typer.Argument(metavar="ID", min=0, max=MAX_ID, help="Topic id (see `topics`).")
    ],
    ctx: typer.Context,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """One topic: size, sub-topics, neighbours, papers per month, authors, central papers."""
    db, as_json, group_aspect = _with_group(ctx, db, as_json)
    if group_aspect is not None:
        raise InputError(
            "--aspect does not go with `topics show`: a topic id names one topic of one aspect",
            hint="`paperscope topics --aspect NAME` lists an aspect's topics",
        )
    with open_existing_store(db) as store:
        found = topics_rank.detail(store, topic_id)
        built = bool(topic_store.aspects(store))
    if found is None and not built:
        raise InputError(
            f"no topic {topic_id}: no topics yet",
            hint=f"{command('topics rebuild', db)} clusters the embedded papers",
        )
    if found is None:
        raise InputError(f"no topic {topic_id}", hint=f"{command('topics', db)} lists them")
    data = detail_json(found)
    if as_json:
        typer.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2))
        return
    out = console()
    t = found.topic
    out.print(styled((t.label, "bold"), f"  ({t.aspect} {t.id}, {t.size} papers)"), highlight=False)
    if found.parent:
        out.print(f"in: {found.parent.label} ({found.parent.id})", highlight=False)
    months = [f"{m} {n}" for m, n in found.months]
    if months and found.undated:  # the months then add up to the size
        months.append(f"no month {found.undated}")
    for key, items in (
        ("sub-topics", [f"{c.label} ({c.id}, {c.size})" for c in found.children]),
        ("near", [f"{n.label} ({n.id})" for n, _ in found.neighbours]),
        ("authors", [f"{a} {n}" for a, n in found.authors]),
        ("months", months),
    ):
        if items:
            out.print(f"{key}: " + "; ".join(items), highlight=False)
    for p in found.central:
        out.print(f"  {p.id}  {p.title}", highlight=False)


@topics_app.command("rebuild")
def topics_rebuild(
    ctx: typer.Context,
    db: DbOption = None,
    seed: Annotated[
        int, typer.Option("--seed", min=0, max=2**32 - 1, help="Seed of the clustering.")
    ] = 0,
    aspect: Annotated[
        list[str] | None,
        typer.Option("--aspect", help="Only this aspect (repeatable). Default: all."),
    ] = None,
    with_map: Annotated[
        bool,
        typer.Option(
            "--map/--no-map",
            help="Also lay out the map of the field again (as `paperscope map rebuild`).",
        ),
    ] = True,
    quiet: QuietOption = False,
    as_json: JsonOption = False,
) -> None:
    """Re-cluster the papers into topics and the task/method aspects; lay out the map again.

    Re-clusters the embedded papers, and (unless --no-map) lays out the map again: the full
    re-layout that new papers' placement by neighbours defers."""
    db, as_json, group_aspect = _with_group(ctx, db, as_json)
    if not aspect and group_aspect is not None:
        aspect = [group_aspect]  # `topics --aspect task rebuild`
    wanted = aspect or list(topics_rank.ALL_ASPECTS)
    for a in wanted:
        _check_aspect(a)
    started = time.perf_counter()
    embedder = default_embedder()
    err = console(stderr=True)

    def say(message: str) -> None:
        if not (as_json or quiet):
            err.print(message, highlight=False)

    with open_existing_store(db) as store:
        if not store.count_embedded(embedder.version):
            raise InputError(
                "no paper has a vector yet, so there is nothing to cluster",
                hint=f"{command('embed', db)} computes the vectors",
            )
        results = [topics_rank.build(store, embedder, a, seed=seed, progress=say) for a in wanted]
        laid_out = None
        if with_map:
            # minutes on a large store: the bars of `map rebuild`, not one silent line
            with stage_progress("papers", quiet=quiet or as_json) as update:
                laid_out = asdict(layout.rebuild_layout(store, seed=seed, progress=update))
    seconds = round(time.perf_counter() - started, 2)
    if as_json:
        typer.echo(orjson.dumps({"aspects": results, "map": laid_out, "seconds": seconds}))
        return
    for r in results:
        console().print(
            f"{r['aspect']}: {r['topics']} topics, {r['subtopics']} sub-topics over "
            f"{r['papers']} papers",
            highlight=False,
        )
    if laid_out is not None:
        console().print(
            f"map: {laid_out['papers']} papers laid out ({laid_out['sample']} by "
            f"{laid_out['method']}, the rest placed by their neighbours)",
            highlight=False,
        )
    console().print(f"done in {seconds:.1f} s", highlight=False)
