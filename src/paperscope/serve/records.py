"""The shapes a paper takes on every surface: JSON (CLI `--json` and the API) and short lines.

`paper_summary` is a contract: checks read its keys (id, title, authors, date, categories,
score) from `paperscope search --json` and `GET /api/v1/search`.
"""

from __future__ import annotations

import re

from paperscope.model import Paper
from paperscope.normalize import escape_controls


def paper_summary(paper: Paper, score: float | None = None) -> dict:
    """The JSON shape of a hit (a contract: id, title, authors, date, categories, score)."""
    out = {
        "id": paper.id,
        "title": paper.title,
        "authors": [a.name for a in paper.authors],
        "date": paper.published,
        "categories": paper.categories,
    }
    if score is not None:
        out["score"] = round(score, 6)
    return out


def paper_full(paper: Paper) -> dict:
    return {
        "id": paper.id,
        "title": paper.title,
        "abstract": paper.abstract,
        "authors": [
            {
                k: v
                for k, v in (("name", a.name), ("affiliation", a.affiliation), ("orcid", a.orcid))
                if v
            }
            for a in paper.authors
        ],
        "authors_complete": paper.authors_complete,
        "author_count": paper.author_count,
        "categories": paper.categories,
        "published": paper.published,
        "updated": paper.updated,
        "arxiv_id": paper.arxiv_id,
        "doi": paper.doi,
        "links": paper.links,
        "sources": paper.sources,
        "upvotes": paper.upvotes,
        "citations": paper.citations,
        "journal_ref": paper.journal_ref,
        "comment": paper.comment,
        "organization": paper.organization,
        "external_ids": paper.external_ids,
    }


def authors_line(paper: Paper, most: int = 3) -> str:
    names = [a.name for a in paper.authors]
    total = paper.author_count or len(names)
    if not names:
        return f"{total} author{'s' if total != 1 else ''}" if total else ""
    shown = ", ".join(names[:most])
    if len(names) > most or not paper.authors_complete:
        shown += f" et al. ({total})" if total > len(names[:most]) else " et al."
    return shown


#: A path Windows wrote: a drive ("C:\\", "C:/") or a UNC share ("\\\\server"). Only there is a
#: backslash certainly a separator; in a POSIX name it is an ordinary character.
_WINDOWS_PATH_RE = re.compile(r"^(?:[A-Za-z]:[\\/]|\\\\)")


def origin_name(origin: str) -> str:
    """What a source's origin shows: a file's name, never the path it had on the server.

    Imports store the file name; stores written before that hold the path a file was
    imported from (a Windows one split at backslashes too). Harvest origins (source, URL and
    parameters) are shown as they are. Control characters are shown escaped (`\\x1b`, `\\n`).
    """
    if "://" in origin:
        return escape_controls(origin)
    path = origin.replace("\\", "/") if _WINDOWS_PATH_RE.match(origin) else origin
    return escape_controls(path.rstrip("/").rsplit("/", 1)[-1] or origin)


def sources_shown(sources: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """(format, origin, first seen) rows as the paper page, API and `show` list them."""
    return [(source, origin_name(origin), first_seen) for source, origin, first_seen in sources]
