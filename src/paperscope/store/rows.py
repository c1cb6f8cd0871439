"""Turning `Paper` records into `papers` table rows and back, losslessly."""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson

from paperscope.model import Author, Paper
from paperscope.normalize import family_key, name_key, title_key

#: Columns written for a paper, in the order of `paper_row` (rowid and timestamps aside).
PAPER_COLUMNS = (
    "id",
    "title",
    "abstract",
    "authors",
    "authors_text",
    "authors_complete",
    "author_count",
    "categories",
    "published",
    "updated",
    "arxiv_id",
    "doi",
    "links",
    "sources",
    "upvotes",
    "citations",
    "journal_ref",
    "comment",
    "organization",
    "external_ids",
    "title_key",
    "first_author_key",
)


def _authors_json(authors: list[Author]) -> str:
    packed = []
    for a in authors:
        if a.orcid:
            packed.append([a.name, a.affiliation, a.orcid])
        elif a.affiliation:
            packed.append([a.name, a.affiliation])
        else:
            packed.append([a.name])
    return orjson.dumps(packed).decode()


def first_author_key(paper: Paper) -> str:
    return family_key(paper.authors[0].name) if paper.authors else ""


def paper_row(paper: Paper) -> tuple[Any, ...]:
    return (
        paper.id,
        paper.title,
        paper.abstract,
        _authors_json(paper.authors),
        ", ".join(a.name for a in paper.authors),
        int(paper.authors_complete),
        paper.author_count,
        " ".join(paper.categories),
        paper.published,
        paper.updated,
        paper.arxiv_id,
        paper.doi,
        orjson.dumps(paper.links).decode() if paper.links else "{}",
        " ".join(paper.sources),
        paper.upvotes,
        paper.citations,
        paper.journal_ref,
        paper.comment,
        paper.organization,
        orjson.dumps(paper.external_ids).decode() if paper.external_ids else "{}",
        title_key(paper.title),
        first_author_key(paper),
    )


def author_rows(rowid: int, paper: Paper) -> list[tuple[int, int, str, str, str]]:
    return [
        (rowid, pos, a.name, name_key(a.name), family_key(a.name))
        for pos, a in enumerate(paper.authors)
    ]


def row_to_paper(row: sqlite3.Row) -> Paper:
    return Paper(
        id=row["id"],
        title=row["title"],
        abstract=row["abstract"],
        authors=[Author(*a) for a in orjson.loads(row["authors"])],
        authors_complete=bool(row["authors_complete"]),
        author_count=row["author_count"],
        categories=row["categories"].split(),
        published=row["published"],
        updated=row["updated"],
        arxiv_id=row["arxiv_id"],
        doi=row["doi"],
        links=orjson.loads(row["links"]),
        sources=row["sources"].split(),
        upvotes=row["upvotes"],
        citations=row["citations"],
        journal_ref=row["journal_ref"],
        comment=row["comment"],
        organization=row["organization"],
        external_ids=orjson.loads(row["external_ids"]),
    )


#: Systems of `Paper.external_ids` whose ids name one paper everywhere, so a record with the
#: same id is the same paper (not a BibTeX key, which only names an entry in one file, nor
#: a page's rank). A paper with no arXiv id or DOI and a title too short to merge on is found
#: again through them.
ID_SYSTEMS = ("s2", "openalex", "dblp")


def aliases_of(paper: Paper) -> list[str]:
    """The alias keys a paper is found under when another record of it arrives."""
    keys = []
    if paper.arxiv_id:
        keys.append("arxiv:" + paper.arxiv_id)
    if paper.doi:
        keys.append("doi:" + paper.doi)
    for system in ID_SYSTEMS:
        ident = paper.external_ids.get(system)
        if ident:
            keys.append(f"{system}:{ident}")
    return keys
