"""`paperscope search`, `show` and `stats`: reading the store."""

from __future__ import annotations

from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from paperscope.config import resolve_db_path
from paperscope.dates import display_date
from paperscope.index.embedder import default_embedder
from paperscope.rank.search import MAX_LIMIT, SIMILAR_MODE, SearchEngine
from paperscope.serve.cli import app
from paperscope.serve.cli.options import DbOption, JsonOption, index_progress, open_store
from paperscope.serve.records import authors_line as _authors_line
from paperscope.serve.records import paper_full, paper_summary


@app.command()
def search(
    query: Annotated[
        str,
        typer.Argument(
            help='Query: words, "phrases", ti: au: abs: cat: id: co: jr: all:, AND OR ANDNOT, '
            "( ), prefix*, year:2023, after:/before:, -word. See docs/search.md."
        ),
    ],
    db: DbOption = None,
    mode: Annotated[
        str, typer.Option("--mode", "-m", help="hybrid, lexical or semantic.")
    ] = "hybrid",
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=MAX_LIMIT)] = 20,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many hits (paging).")] = 0,
    sort: Annotated[
        str, typer.Option(help="relevance, newest, upvotes or citations.")
    ] = "relevance",
    facets: Annotated[
        bool, typer.Option("--facets", help="Also count hits per category/year.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Search papers: BM25 and embeddings fused (hybrid, the default), or one of them.

    Exit code 2 for a malformed query, with the position of the problem.
    """
    with (
        index_progress(as_json) as progress,
        SearchEngine.open(resolve_db_path(db), progress=progress) as engine,
    ):
        result = engine.search(
            query, mode=mode, limit=limit, offset=offset, sort=sort, facets=facets
        )
    for note in result.notes:
        typer.secho(f"note: {note}", err=True, fg="yellow")
    if as_json:
        hits = [paper_summary(h.paper, h.score) for h in result.hits]
        if facets:
            typer.echo(
                orjson.dumps({"results": hits, "total": result.total, "facets": result.facets})
            )
        else:
            typer.echo(orjson.dumps(hits))
        return
    if not result.hits:
        Console(stderr=True).print(f"no papers match {query!r}", highlight=False)
        return
    _print_hits(result.hits)
    Console(stderr=True).print(
        f"{offset + 1}-{offset + len(result.hits)} of {result.total} ({result.mode})",
        highlight=False,
    )
    if facets:
        for name, counts in result.facets.items():
            top = ", ".join(f"{k} {v}" for k, v in list(counts.items())[:12])
            Console().print(f"[bold]{name}[/]: {top}", highlight=False)


def _print_hits(hits: list) -> None:
    table = Table("id", "date", "title", "authors", box=None)
    for hit in hits:
        p = hit.paper
        table.add_row(p.id, display_date(p.published), p.title, _authors_line(p))
        if hit.snippet is not None and hit.snippet.highlights:
            table.add_row("", "", _marked(hit.snippet), "")
    Console().print(table, highlight=False)


def _marked(snippet) -> Text:
    """The snippet as terminal text, matched words in bold."""
    text = Text(("… " if snippet.start else ""), style="dim")
    last = 0
    for a, b in snippet.highlights:
        text.append(snippet.fragment[last:a], style="dim")
        text.append(snippet.fragment[a:b], style="bold")
        last = b
    text.append(snippet.fragment[last:], style="dim")
    if snippet.end < snippet.text_length:
        text.append(" …", style="dim")
    return text


@app.command()
def similar(
    paper_id: Annotated[str, typer.Argument(metavar="ID", help="arXiv id or URL, DOI or id.")],
    db: DbOption = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=MAX_LIMIT)] = 10,
    mode: Annotated[
        str, typer.Option("--mode", "-m", help="semantic (embeddings), lexical or hybrid.")
    ] = SIMILAR_MODE,
    as_json: JsonOption = False,
) -> None:
    """Papers nearest to ID by embedding, without the paper itself and its duplicates."""
    with (
        index_progress(as_json) as progress,
        SearchEngine.open(resolve_db_path(db), progress=progress) as engine,
    ):
        hits = engine.similar(paper_id, limit=limit, mode=mode)
    if as_json:
        typer.echo(orjson.dumps([paper_summary(h.paper, h.score) for h in hits]))
        return
    if not hits:
        Console(stderr=True).print("no similar papers (is the store embedded? `paperscope embed`)")
        return
    _print_hits(hits)


@app.command()
def show(
    paper_id: Annotated[str, typer.Argument(metavar="ID", help="arXiv id or URL, DOI or id.")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one paper with every field and the sources it was merged from."""
    with open_store(db) as store:
        paper = store.get(paper_id)
        sources = store.paper_sources(paper.id)
    data = paper_full(paper)
    data["merged_from"] = [{"source": s, "origin": o, "first_seen": t} for s, o, t in sources]
    if as_json:
        typer.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2))
        return
    console = Console()
    console.print(f"[bold]{paper.title}[/]", highlight=False)
    console.print(_authors_line(paper, most=50), highlight=False)
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
    console.print(table)
    if paper.abstract:
        console.print(paper.abstract, highlight=False)


@app.command()
def stats(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Counts of papers, authors and sources in the store."""
    with open_store(db) as store:
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
        table.add_row(f"harvest {key}", value)
    Console().print(table)
