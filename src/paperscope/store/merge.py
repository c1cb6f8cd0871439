"""Merging two records of the same paper: keep the richest value of every field.

Pure functions over `Paper`; the store decides *which* records are the same paper
(arXiv id, then DOI, then normalised title + first author) and calls `merge_papers`.
"""

from __future__ import annotations

from paperscope.model import Author, Paper
from paperscope.normalize import family_key, split_name


def _richer_text(old: str | None, new: str | None) -> str | None:
    """The longer of two texts; ties keep the old one so re-imports change nothing."""
    if not new:
        return old
    if not old:
        return new
    return new if len(new) > len(old) else old


def _fuller_name(old: Author, new: Author) -> Author:
    """Same person at the same position: keep the fuller spelling and fill in what is known."""
    name = old.name
    if family_key(old.name) == family_key(new.name):
        old_given, new_given = split_name(old.name)[0], split_name(new.name)[0]
        if len(new_given.replace(".", "")) > len(old_given.replace(".", "")):
            name = new.name
    return Author(name, old.affiliation or new.affiliation, old.orcid or new.orcid)


def merge_authors(old: Paper, new: Paper) -> tuple[list[Author], bool]:
    """(authors, complete): a complete list beats a partial one, a longer list a shorter one;
    names are filled in position by position where the two lists agree on family names."""
    old_rank = (old.authors_complete and bool(old.authors), len(old.authors))
    new_rank = (new.authors_complete and bool(new.authors), len(new.authors))
    base, other = (new, old) if new_rank > old_rank else (old, new)
    merged = list(base.authors)
    for i, author in enumerate(merged[: len(other.authors)]):
        if family_key(author.name) == family_key(other.authors[i].name):
            merged[i] = _fuller_name(author, other.authors[i])
    return merged, base.authors_complete


def _is_arxiv_code(code: str) -> bool:
    return "." in code or "-" in code or code.islower()


def merge_categories(old: list[str], new: list[str]) -> list[str]:
    """Union in order; arXiv-style codes (cs.LG, hep-ex) lead over short page codes."""
    if not old:
        return list(new)
    first = old if any(map(_is_arxiv_code, old[:1])) or not new else new
    second = new if first is old else old
    out = list(first)
    out.extend(c for c in second if c not in out)
    return out


def _min(a: str | None, b: str | None) -> str | None:
    return min(x for x in (a, b) if x) if (a or b) else None


def _max_int(a: int | None, b: int | None) -> int | None:
    return max(x for x in (a, b) if x is not None) if (a is not None or b is not None) else None


def merge_papers(old: Paper, new: Paper) -> Paper:
    """A new record for `old`'s paper with the richest value of every field of both."""
    authors, complete = merge_authors(old, new)
    return Paper(
        title=old.title or new.title,
        abstract=_richer_text(old.abstract, new.abstract) or "",
        authors=authors,
        categories=merge_categories(old.categories, new.categories),
        published=_min(old.published, new.published),
        updated=max((d for d in (old.updated, new.updated) if d), default=None),
        arxiv_id=old.arxiv_id or new.arxiv_id,
        doi=old.doi or new.doi,
        links={**new.links, **old.links},
        sources=old.sources + [s for s in new.sources if s not in old.sources],
        upvotes=_max_int(old.upvotes, new.upvotes),
        citations=_max_int(old.citations, new.citations),
        journal_ref=old.journal_ref or new.journal_ref,
        comment=_richer_text(old.comment, new.comment),
        organization=old.organization or new.organization,
        authors_complete=complete,
        author_count=_max_int(old.author_count, new.author_count),
        external_ids={**new.external_ids, **old.external_ids},
        id=old.id,
    )
