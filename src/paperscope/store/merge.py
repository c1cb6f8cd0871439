"""Merging two records of the same paper: keep the richest value of every field.

Pure functions over `Paper`; the store decides *which* records are the same paper
(arXiv id, then DOI, then S2/OpenAlex/DBLP id, then normalised title + first author) and calls
`merge_papers(old, new)`.
`old` is what the store holds, `new` the record being imported. The rules, one per field, each
pinned by one case of tests/test_merge.py built from two real records of different sources:

 1. title       -- the stored title; a new one only fills an empty title.
 2. abstract    -- the longer text (a full abstract beats a page's cut one); ties keep the old.
 3. authors     -- a complete list beats a partial one ("et al.", "9 authors") even when the
                   partial one is longer; between two of the same kind the longer list wins.
 4. author name -- at the same position with the same family name, the fuller given name
                   ("Juhua Hu" over "J. Hu"); affiliation and ORCID fill in from either side.
 5. categories  -- the union in order; arXiv codes (cs.LG) lead over short page codes.
 6. published   -- the earliest date at the best precision (`paperscope.dates`): a year or a
                   month never overrides a day inside it ("2026" + "2026-02-23" is
                   "2026-02-23"); of two dates that do not overlap the earlier wins.
 7. updated     -- the latest date, with the same precision rule.
 8. arxiv_id, doi, journal_ref, organization -- the first known value (old, else new).
 9. links       -- the union by kind; for a kind both have, the old URL stays.
10. sources     -- the union in order of arrival: every source that sent the paper is listed.
11. upvotes, citations, author_count -- the highest count either source gives.
12. comment     -- the longer text.
13. external_ids -- the union by system; for a system both have, the old id stays.
14. id          -- the stored id (the store moves it to the arXiv id when one arrives).
"""

from __future__ import annotations

from paperscope.dates import earliest, latest
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
        published=earliest(old.published, new.published),
        updated=latest(old.updated, new.updated),
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
