"""`paperscope search`, `show` and `stats`: reading the store."""

from __future__ import annotations

import functools
import shlex
from typing import Annotated

import orjson
import typer
from rich.table import Table
from rich.text import Text

from paperscope.dates import display_date
from paperscope.errors import InputError
from paperscope.index.embedder import default_embedder
from paperscope.normalize import strip_controls
from paperscope.rank import topics as topics_rank
from paperscope.rank.search import MAX_LIMIT, SIMILAR_MODE, SearchEngine, paper_reference
from paperscope.serve.cli import app
from paperscope.serve.cli.options import (
    DbOption,
    JsonOption,
    command,
    existing_db,
    index_progress,
    open_existing_store,
    paper_id_argument,
)
from paperscope.serve.cli.output import console, styled
from paperscope.serve.records import authors_line as _authors_line
from paperscope.serve.records import paper_full, paper_summary, sources_shown
from paperscope.store.topics import labels as topic_labels
from paperscope.store.topics import paper_topic


@app.command()
def search(
    query: Annotated[
        str,
        typer.Argument(
            help='Query: words, "phrases", ti: au: abs: cat: id: co: jr: all:, AND OR ANDNOT, '
            "( ), prefix*, year:2023, after:/before:, -word. A query that starts with '-' "
            "goes after `--` (search -- '-word more'). See docs/search.md."
        ),
    ],
    db: DbOption = None,
    mode: Annotated[
        str, typer.Option("--mode", "-m", help="hybrid, lexical or semantic.")
    ] = "hybrid",
    limit: Annotated[
        int,
        typer.Option("--limit", "-n", min=1, max=MAX_LIMIT, help="Hits per page."),
    ] = 20,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many hits (paging).")] = 0,
    sort: Annotated[
        str,
        typer.Option(
            help="relevance, trending (new and upvoted among the matches), newest, upvotes "
            "or citations."
        ),
    ] = "relevance",
    facets: Annotated[
        bool, typer.Option("--facets", help="Also count hits per category/year.")
    ] = False,
    as_json: JsonOption = False,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict", help="Refuse text that is not the query language (exit 2, with where)."
        ),
    ] = False,
    group: Annotated[
        str | None,
        typer.Option("--group", metavar="ASPECT", help="Group the hits by topic, task or method."),
    ] = None,
) -> None:
    """Search papers: BM25 and embeddings fused (hybrid, the default), or one of them.

    Any text is searched: what does not parse as the query language is searched as plain
    words, with one "notice:" line on stderr. With --strict a malformed query exits 2 naming
    the position of the problem.

    Examples:

    - `paperscope search 'au:"Juhua Hu" AND ti:clustering'`
    - `paperscope search 'cat:cs.LG year:2024' --sort newest -n 50`
    - `paperscope search diffusion --facets --json`
    """
    with (
        index_progress(as_json) as progress,
        SearchEngine.open(existing_db(db), progress=progress) as engine,
    ):
        if group is not None and group not in topics_rank.ALL_ASPECTS:
            raise InputError(
                f"unknown aspect {group!r}", hint="one of: " + ", ".join(topics_rank.ALL_ASPECTS)
            )
        result = engine.search(
            query, mode=mode, limit=limit, offset=offset, sort=sort, facets=facets, strict=strict
        )
        groups = (
            topics_rank.group_rowids(engine.store, [h.rowid for h in result.hits], group)
            if group
            else None
        )
        topic_names = _topic_names(engine.store, result.facets.get("topic", {}))
    _print_notes(result, mode, db)
    if groups is not None:
        _print_groups(result, groups, group, as_json, facets, topic_names)
        return
    if as_json:
        hits = [paper_summary(h.paper, h.score) for h in result.hits]
        if facets:
            body = {"results": hits, "total": result.total, "facets": result.facets}
            if result.opened:
                body["opened"] = result.opened
            if result.related:
                body["related"] = [paper_summary(h.paper, h.score) for h in result.related]
            typer.echo(orjson.dumps(body))
        else:
            typer.echo(orjson.dumps(hits))
        return
    err = console(stderr=True)
    if not result.total:
        err.print(f"no papers match {query!r} ({result.mode})", highlight=False)
        if result.related:
            err.print("related (nearest by meaning, below the relevance floor):", highlight=False)
            _print_hits(result.related, err)  # not results: stdout stays empty
        return
    if not result.hits:
        err.print(
            f"no results at offset {offset}: {_results(result.total)} in all ({result.mode})",
            highlight=False,
        )
        return
    _print_hits(result.hits)
    err.print(
        f"{offset + 1}-{offset + len(result.hits)} of {_results(result.total)} ({result.mode})",
        highlight=False,
    )
    if facets:
        _print_facets(result, topic_names)


def _print_facets(result, topic_names: dict[str, str]) -> None:
    for name, counts in result.facets.items():
        if not counts:  # e.g. topics before `topics rebuild`: no line "topic: " with nothing
            continue
        names = topic_names if name == "topic" else {}
        top = ", ".join(
            f"{names[k]} ({k}) {v}" if k in names else f"{k} {v}"
            for k, v in list(counts.items())[:12]
        )
        console().print(styled((name, "bold"), f": {top}"), highlight=False)


def _topic_names(store, counts: dict[str, int]) -> dict[str, str]:
    return {str(i): t.label for i, t in topic_labels(store, [int(k) for k in counts]).items()}


def _print_groups(
    result,
    groups: list,
    aspect: str,
    as_json: bool,
    facets: bool = False,
    topic_names: dict[str, str] | None = None,
) -> None:
    """Hits regrouped by their top topic of `aspect`: in JSON {"groups": [{id, label, size,
    results}], "total"}, the group of papers without a topic last with id null. With
    --facets, the facets as without --group (they were dropped without a word)."""
    by_rowid = {h.rowid: h for h in result.hits}
    if as_json:
        body = {
            "aspect": aspect,
            "total": result.total,
            "groups": [
                {
                    "id": t.id if t else None,
                    "label": t.label if t else None,
                    "size": len(rowids),
                    "results": [
                        paper_summary(by_rowid[r].paper, by_rowid[r].score) for r in rowids
                    ],
                }
                for t, rowids in groups
            ],
        }
        if facets:
            body["facets"] = result.facets
        typer.echo(orjson.dumps(body))
        return
    for t, rowids in groups:
        title = f"{t.label} ({t.id})" if t else f"no {aspect} yet"
        console().print(styled((title, "bold")), highlight=False)
        _print_hits([by_rowid[r] for r in rowids])
    if facets:
        _print_facets(result, topic_names or {})


def _results(total: int) -> str:
    return f"{total} result" + ("" if total == 1 else "s")


def _print_notes(result, mode: str, db: str | None = None) -> None:
    """Lines on stderr (never in the JSON) saying how the query was read."""
    if result.notice:
        typer.secho(f"notice: {result.notice}", err=True, fg="yellow")
    if result.opened:
        reference = paper_reference(result.query)
        kind = "DOI" if reference is not None and reference.kind == "DOI" else "arXiv id"
        typer.secho(f"note: opened {result.opened}: the query is that paper's {kind}", err=True)
    for note in result.notes:
        typer.secho(f"note: {note}", err=True, fg="yellow")
    if result.mode != mode:
        typer.echo(f"hint: {command('embed', db)} computes the vectors meaning needs", err=True)


def _print_hits(hits: list, out=None) -> None:
    table = Table("id", "date", "title", "authors", box=None)
    for hit in hits:
        p = hit.paper
        table.add_row(p.id, display_date(p.published), p.title, _authors_line(p))
        if hit.snippet is not None and hit.snippet.highlights:
            table.add_row("", "", _marked(hit.snippet), "")
    (out or console()).print(table, highlight=False)


def _marked(snippet) -> Text:
    """The snippet as terminal text, matched words in bold."""
    text = Text(("… " if snippet.start else ""), style="dim")
    # piece by piece, as the highlights are offsets into the fragment as stored (which a store
    # written before importers cleaned controls out may hold)
    piece = functools.partial(strip_controls, multiline=True)
    last = 0
    for a, b in snippet.highlights:
        text.append(piece(snippet.fragment[last:a]), style="dim")
        text.append(piece(snippet.fragment[a:b]), style="bold")
        last = b
    text.append(piece(snippet.fragment[last:]), style="dim")
    if snippet.end < snippet.text_length:
        text.append(" …", style="dim")
    return text


@app.command()
def similar(
    paper_id: Annotated[
        str,
        typer.Argument(metavar="ID", help="arXiv id or URL, DOI or id.", parser=paper_id_argument),
    ],
    db: DbOption = None,
    limit: Annotated[
        int,
        typer.Option("--limit", "-n", min=1, max=MAX_LIMIT, help="Papers to show."),
    ] = 10,
    mode: Annotated[
        str, typer.Option("--mode", "-m", help="semantic (embeddings), lexical or hybrid.")
    ] = SIMILAR_MODE,
    as_json: JsonOption = False,
) -> None:
    """Papers nearest to ID by embedding, without the paper itself and its duplicates."""
    with (
        index_progress(as_json) as progress,
        SearchEngine.open(existing_db(db), progress=progress) as engine,
    ):
        if mode != "lexical" and not engine.store.has_vectors():
            # checked before the model loads: without vectors there is nothing to compare;
            # the commands suggested run as typed, on this store (an id may hold "(" or ";")
            raise InputError(
                "no paper has a vector yet, so similar papers cannot be found by meaning",
                hint=f"{command(f'similar {shlex.quote(paper_id)} --mode lexical', db)} finds "
                f"them by shared words; {command('embed', db)} computes the vectors",
            )
        hits = engine.similar(paper_id, limit=limit, mode=mode)
    if as_json:
        typer.echo(orjson.dumps([paper_summary(h.paper, h.score) for h in hits]))
        return
    if not hits:
        console(stderr=True).print(
            f"no similar papers (is the store embedded? {command('embed', db)})", highlight=False
        )
        return
    _print_hits(hits)


@app.command()
def show(
    paper_id: Annotated[
        str,
        typer.Argument(metavar="ID", help="arXiv id or URL, DOI or id.", parser=paper_id_argument),
    ],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one paper with every field and the sources it was merged from."""
    with open_existing_store(db) as store:
        paper = store.get(paper_id)
        sources = sources_shown(store.paper_sources(paper.id))
        topic = paper_topic(store, paper.id)
    data = paper_full(paper)
    data["topic"] = topic
    data["merged_from"] = [{"source": s, "origin": o, "first_seen": t} for s, o, t in sources]
    if as_json:
        typer.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2))
        return
    out = console()
    out.print(styled((paper.title, "bold")), highlight=False)
    out.print(_authors_line(paper, most=50), highlight=False)
    table = Table(box=None, show_header=False)
    for key in (
        "id",
        "published",
        "updated",
        "categories",
        "doi",
        "journal_ref",
        "comment",
        "organization",
        "upvotes",
        "citations",
    ):
        value = display_date(data[key]) if key in ("published", "updated") else data[key]
        if value:
            table.add_row(key, " ".join(value) if isinstance(value, list) else str(value))
    for kind, url in paper.links.items():
        table.add_row(kind, url)
    for s, o, t in sources:
        table.add_row("source", f"{s} ({o}, {t})")
    out.print(table)
    if paper.abstract:
        out.print(paper.abstract, highlight=False)


@app.command()
def stats(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Counts of papers, authors and sources in the store."""
    with open_existing_store(db) as store:
        data = store.stats()
        data["embedded"] = store.count_embedded(default_embedder().version)
        data["without_vectors"] = data["papers"] - data["embedded"]
    if as_json:
        typer.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2))
        return
    table = Table(box=None, show_header=False)
    for key in (
        "papers",
        "authors",
        "embedded",
        "without_vectors",
        "with_abstract",
        "with_arxiv_id",
        "deleted",
        "oldest",
        "newest",
        "db_path",
        "db_bytes",
    ):
        table.add_row(key, str(data[key]))
    for source, n in data["by_source"].items():
        table.add_row(f"source {source}", str(n))
    for key, value in data["harvests"].items():
        table.add_row(f"harvest {key}", _harvest_state(value))
    console().print(table)


def _harvest_state(raw: str) -> str:
    """A harvest cursor as a person reads it (`--json` keeps the stored JSON text)."""
    try:
        state = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw
    if not isinstance(state, dict):
        return raw
    pages = state.get("pages")
    done = f"{pages} page{'s' if pages != 1 else ''}" if isinstance(pages, int) else ""
    if state.get("done"):
        when = state.get("completed_at") or state.get("updated_at") or ""
        return ", ".join(x for x in ("complete", done, f"at {when}" if when else "") if x)
    position = state.get("position")
    at = f"at {orjson.dumps(position).decode()}" if position else ""
    since = state.get("updated_at")
    last = f"last page {since}" if since else ""
    return ", ".join(x for x in ("in progress", done, at, last) if x)
