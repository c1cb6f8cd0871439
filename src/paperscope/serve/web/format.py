"""Helpers the templates call: URLs of things and short renderings of papers.

Everything returned here is plain text; Jinja2's autoescape escapes it on output. The one
exception, `snippet_html`, builds its markup from escaped pieces (`Snippet.to_html`).
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from markupsafe import Markup

from paperscope.dates import display_date
from paperscope.index.lexical import Snippet
from paperscope.model import Paper
from paperscope.serve.records import authors_line

#: Authors shown before "et al." in lists of papers.
SHOWN_AUTHORS = 3


def paper_url(paper: Paper | str) -> str:
    ident = paper if isinstance(paper, str) else paper.id
    return "/paper/" + quote(ident, safe="")


def author_url(slug: str) -> str:
    return "/author/" + quote(slug, safe="")


def category_url(code: str) -> str:
    return "/cat/" + quote(code, safe="")


def search_url(query: str, **params: object) -> str:
    args = {"q": query, **{k: v for k, v in params.items() if v not in (None, "")}}
    return "/search?" + urlencode(args)


def snippet_html(snippet: Snippet | None) -> Markup:
    return Markup(snippet.to_html("mark")) if snippet is not None else Markup("")


def paper_date(paper: Paper) -> str:
    """The publication date as known: "2026", "Feb 2026" or "2026-02-23" (never a made-up day)."""
    return display_date(paper.published)


def machine_date(value: str | None) -> str:
    """A `<time datetime>` value: the ISO date at its own precision ("2026", "2026-02")."""
    return (value or "")[:10]


def author_total(paper: Paper) -> int:
    return paper.author_count or len(paper.authors)


def template_globals() -> dict:
    return {
        "paper_url": paper_url,
        "author_url": author_url,
        "category_url": category_url,
        "search_url": search_url,
        "authors_line": lambda p, most=SHOWN_AUTHORS: authors_line(p, most),
        "snippet_html": snippet_html,
        "paper_date": paper_date,
        "display_date": display_date,
        "machine_date": machine_date,
        "author_total": author_total,
    }


def template_filters() -> dict:
    return {"urlquote": lambda s: quote(str(s), safe="")}
