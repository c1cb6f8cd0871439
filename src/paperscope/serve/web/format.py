"""Helpers the templates call: URLs of things and short renderings of papers.

Everything returned here is plain text; Jinja2's autoescape escapes it on output. The one
exception, `snippet_html`, builds its markup from escaped pieces (`Snippet.to_html`).
"""

from __future__ import annotations

from pathlib import PurePath
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


def feed_url(kind: str = "day", key: str | None = None, **params: object) -> str:
    path = {"day": "/", "week": f"/week/{key}", "month": f"/month/{key}"}[kind]
    args = {k: v for k, v in params.items() if v not in (None, "")}
    if kind == "day" and key:
        args = {"date": key, **args}
    return path + ("?" + urlencode(args) if args else "")


def snippet_html(snippet: Snippet | None) -> Markup:
    return Markup(snippet.to_html("mark")) if snippet is not None else Markup("")


def paper_date(paper: Paper) -> str:
    """The publication date as known: "2026", "Feb 2026" or "2026-02-23" (never a made-up day)."""
    return display_date(paper.published)


def machine_date(value: str | None) -> str:
    """A `<time datetime>` value: the ISO date at its own precision ("2026", "2026-02")."""
    return (value or "")[:10]


def paper_title(paper: Paper) -> str:
    """The title to show; a stub (added by id, not harvested yet) has none, so its id stands
    in: never an empty heading, tab title or link."""
    if paper.title and paper.title.strip():
        return paper.title
    return f"arXiv:{paper.arxiv_id}" if paper.arxiv_id else paper.id


def is_stub(paper: Paper) -> bool:
    return not (paper.title and paper.title.strip())


def votes_words(paper: Paper, local: int = 0) -> str:
    """Upvotes in words, each count with where it comes from: "2 here · 333 on Hugging Face"
    (the source count is Hugging Face's, the only source with upvotes). Empty when neither."""
    parts = []
    if local:
        parts.append(f"{local} here")
    if paper.upvotes is not None:
        parts.append(f"{paper.upvotes} on Hugging Face")
    return " · ".join(parts)


def origin_label(origin: str | None) -> str:
    """Where a source record came from, as shown to visitors: a URL as it is, an imported
    file by its name only (the server's directories are nobody's business)."""
    text = origin or ""
    if "://" in text:
        return text
    return PurePath(text.replace("\\", "/")).name or text


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
        "paper_title": paper_title,
        "is_stub": is_stub,
        "votes_words": votes_words,
        "origin_label": origin_label,
    }


def web_url(value: object) -> str:
    """`value` when it is an http(s) URL, else "": a source's `javascript:` or `data:` link
    never becomes an href (the CSP would block it; this keeps it off the page)."""
    text = value if isinstance(value, str) else ""
    return text if text.strip().lower().startswith(("http://", "https://")) else ""


def template_filters() -> dict:
    return {"urlquote": lambda s: quote(str(s), safe=""), "web_url": web_url}
