"""`paperscope authors show|list|merge|split|update|rebuild`: author pages and corrections."""

from __future__ import annotations

from typing import Annotated

import orjson
import typer
from rich.table import Table

from paperscope.dates import display_date
from paperscope.errors import InputError, NotFoundError
from paperscope.serve.cli import HELP_MARKUP, app
from paperscope.serve.cli.options import DbOption, JsonOption, command, open_existing_store
from paperscope.serve.cli.output import console, styled
from paperscope.store.authors import (
    AuthorDirectory,
    AuthorProfile,
    AuthorSummary,
    check_lookup,
)

authors_app = typer.Typer(
    rich_markup_mode=HELP_MARKUP,
    help="Author pages: one per person, whatever the spelling. Corrections survive re-imports.",
    no_args_is_help=True,
)
app.add_typer(authors_app, name="authors")


#: Candidates an ambiguous name lists.
SHOWN = 10


def _not_empty(text: str) -> None:
    """An empty author said "no author ''", as if someone could be called that."""
    if not text.strip():
        raise InputError(
            "the author is empty: give a slug or a name",
            hint='e.g. `paperscope authors show juhua-hu` or `paperscope authors show "Hu, Juhua"`',
        )


def _pick(directory: AuthorDirectory, name_or_slug: str, db: str | None = None) -> str:
    """The slug a user means: a slug, else the one person with that exact spelling (`db`:
    the --db given, for the hint's command)."""
    check_lookup(name_or_slug)  # before any query: too long, or punctuation alone
    _not_empty(name_or_slug)
    try:
        return directory.resolve(name_or_slug)
    except NotFoundError:
        pass
    # exact() has no limit; find() is asked for one more than it shows, so that more than
    # SHOWN is said as such instead of passing the limit off as the count
    candidates = directory.exact(name_or_slug) or directory.find(name_or_slug, limit=SHOWN + 1)
    if len(candidates) == 1:
        return candidates[0].slug
    if not candidates:
        raise NotFoundError(
            f"no author {name_or_slug!r}", hint=f"{command('authors list', db)} shows authors"
        )
    listed = ", ".join(f"{c.slug} ({c.name}, {c.papers})" for c in candidates[:SHOWN])
    if len(candidates) > SHOWN:
        names = f"names more than {SHOWN} authors, among them"
    else:
        names = f"names {len(candidates)} authors"
    raise InputError(f"{name_or_slug!r} {names}: {listed}", hint="give one of those slugs")


def _summary(s: AuthorSummary) -> dict:
    return {"slug": s.slug, "name": s.name, "papers": s.papers}


def profile_json(profile: AuthorProfile) -> dict:
    """The author contract shared by `authors show --json` (and usable by the API)."""
    return {
        "slug": profile.slug,
        "name": profile.name,
        "variants": [{"name": n, "papers": c} for n, c in profile.variants],
        "affiliations": profile.affiliations,
        "papers": [
            {
                "id": p.id,
                "title": p.title,
                "date": p.published,
                "categories": p.categories,
                "authors": [a.name for a in p.authors],
            }
            for _, p in profile.papers
        ],
        "per_year": {str(y): n for y, n in profile.per_year.items()},
        "coauthors": [{**_summary(s), "shared": n} for s, n in profile.coauthors],
        "categories": [{"category": c, "papers": n} for c, n in profile.categories],
    }


@authors_app.command("show")
def show(
    name_or_slug: Annotated[
        str,
        typer.Argument(metavar="NAME_OR_SLUG", help='A slug (juhua-hu) or a name ("Hu, Juhua").'),
    ],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """One author: spellings, papers newest first, papers per year, coauthors, categories."""
    with open_existing_store(db) as store:
        directory = AuthorDirectory(store)
        profile = directory.profile(_pick(directory, name_or_slug, db))
    if as_json:
        typer.echo(orjson.dumps(profile_json(profile), option=orjson.OPT_INDENT_2))
        return
    out = console()
    out.print(styled((profile.name, "bold"), f" ({profile.slug})"), highlight=False)
    out.print("spellings: " + ", ".join(f"{n} ({c})" for n, c in profile.variants), highlight=False)
    if profile.affiliations:
        out.print("affiliations: " + "; ".join(profile.affiliations[:5]), highlight=False)
    out.print(
        "per year: " + ", ".join(f"{y} {n}" for y, n in profile.per_year.items()),
        highlight=False,
    )
    if profile.categories:
        out.print(
            "categories: " + ", ".join(f"{c} {n}" for c, n in profile.categories[:8]),
            highlight=False,
        )
    table = Table("id", "date", "categories", "title", box=None)
    for _, paper in profile.papers:
        table.add_row(
            paper.id, display_date(paper.published), " ".join(paper.categories[:2]), paper.title
        )
    out.print(table)
    if profile.coauthors:
        out.print(
            "coauthors: "
            + ", ".join(f"{s.name} [{s.slug}] {n}" for s, n in profile.coauthors[:15]),
            highlight=False,
        )


@authors_app.command("list")
def list_authors(
    db: DbOption = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Only authors whose name fits this.")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, max=1000, help="Authors to show.")
    ] = 50,
    offset: Annotated[
        int,
        typer.Option("--offset", min=0, help="Skip this many first (the next page: --offset 50)."),
    ] = 0,
    as_json: JsonOption = False,
) -> None:
    """Authors with the most papers first (or those whose name fits --name)."""
    if name is not None and not name.strip():
        # show, merge and split refuse an empty name; here it listed everyone, as if absent
        raise InputError("--name is empty", hint="leave --name out to list every author")
    with open_existing_store(db) as store:
        directory = AuthorDirectory(store)
        total: int | None = None
        if name:
            # one more than shown, to tell whether a next page exists
            found = directory.find(name, limit=offset + limit + 1)[offset:]
            more = len(found) > limit
            found = found[:limit]
        else:
            found = directory.list(limit=limit, offset=offset)
            total = directory.count()
            more = offset + len(found) < total
    if as_json:
        typer.echo(orjson.dumps([_summary(s) for s in found]))
        return
    what = f"of the authors whose name fits {name!r}" if total is None else f"of {total:,} authors"
    if not found:
        # an empty table's header alone read as a listing that failed to print
        if offset:
            typer.echo(f"note: --offset {offset:,} is past the last {what}", err=True)
        elif name:
            typer.echo(f"no author's name fits {name!r}", err=True)
        else:
            typer.echo(
                "no authors yet: they come with imported papers "
                f"({command('authors update', db)} catches up)",
                err=True,
            )
        return
    table = Table("slug", "name", "papers", box=None)
    for s in found:
        table.add_row(s.slug, s.name, str(s.papers))
    console().print(table, highlight=False)
    # Without this the list stopped at --limit (1,000 at most) as if that were everyone, and
    # nothing reached the people past it.
    if more:
        shown = f"{offset + 1:,}-{offset + len(found):,}"
        typer.echo(
            f"note: {shown} {what}; `--offset {offset + len(found)}` shows the next", err=True
        )


@authors_app.command("merge")
def merge(
    slugs: Annotated[
        list[str], typer.Argument(metavar="SLUG", help="Two or more; the first one survives.")
    ],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Make one author of several (the first slug survives; the others lead to it)."""
    for slug in slugs:
        _not_empty(slug)
    with open_existing_store(db) as store:
        survivor = AuthorDirectory(store).merge(slugs)
    if as_json:
        typer.echo(orjson.dumps({"slug": survivor}))
        return
    typer.echo(survivor)


@authors_app.command("split")
def split(
    slug: Annotated[str, typer.Argument(help="The author to split.")],
    variant: Annotated[
        str | None, typer.Option("--variant", help="Move this spelling to a new author.")
    ] = None,
    papers: Annotated[
        list[str] | None,
        typer.Option("--paper", help="Move this paper's occurrence to a new author (repeatable)."),
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Move a spelling or some papers of an author to a new author; prints the new slug."""
    if variant is None and not papers:
        raise InputError(
            "say what to split off: --variant NAME or --paper ID",
            hint="--variant moves one spelling to a new author, --paper the occurrence on "
            "that paper (repeatable); `paperscope authors show SLUG` lists both",
        )
    if variant is not None and papers:
        raise InputError(
            "give --variant NAME or --paper ID, not both",
            hint="split off the spelling and the papers in two runs",
        )
    _not_empty(slug)
    with open_existing_store(db) as store:
        new = AuthorDirectory(store).split(slug, variant=variant, papers=papers)
    if as_json:
        typer.echo(orjson.dumps({"slug": new}))
        return
    typer.echo(new)


@authors_app.command("update")
def update(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Catch author pages up with the papers imported or changed since the last catch-up.

    Pages do it by themselves on the next view; run this at the end of an import or harvest
    so no page view waits for it. Incremental: not a full rebuild."""
    import time

    with open_existing_store(db) as store:
        started = time.perf_counter()
        done = AuthorDirectory(store).ensure()
        seconds = round(time.perf_counter() - started, 2)
    papers, people = (done.papers, done.people) if done else (0, 0)
    if as_json:
        typer.echo(orjson.dumps({"papers": papers, "people": people, "seconds": seconds}))
        return
    typer.echo(f"{papers} changed papers, {people} authors reclustered in {seconds} s")


@authors_app.command("rebuild")
def rebuild(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Recluster every author from scratch.

    `update`, and every page view, only catch up with what changed; this gives the same
    people and is there to start over."""
    import time

    with open_existing_store(db) as store:
        started = time.perf_counter()
        people = AuthorDirectory(store).rebuild()
        seconds = round(time.perf_counter() - started, 2)
    if as_json:
        typer.echo(orjson.dumps({"people": people, "seconds": seconds}))
        return
    typer.echo(f"{people} authors in {seconds} s")
