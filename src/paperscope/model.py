"""The canonical paper record that crosses every layer.

Importers build `Paper` objects; the store merges and persists them; the index and ranking
layers read them back; the web and CLI render them. Nothing else describes a paper.

Dates are ISO 8601 strings in UTC: ``YYYY-MM-DD`` (most sources give only a day) or a full
``YYYY-MM-DDTHH:MM:SSZ`` timestamp. Strings keep records cheap to build and compare in bulk.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from paperscope.normalize import title_key

#: Longest author name (or affiliation, ORCID) a stored record may hold, in characters.
MAX_NAME = 1_000
#: Link kinds a paper can carry, in display order.
LINK_KINDS = ("abs", "pdf", "doi", "code", "project")


@dataclass(slots=True)
class Author:
    """One author as a source shows the name, with what the source knows about them."""

    name: str
    affiliation: str | None = None
    orcid: str | None = None


@dataclass(slots=True)
class Paper:
    """One paper: what every importer yields and every layer above the store reads.

    `authors` is ordered as the source lists them. When a source shows only part of the list
    ("Lin, Xiao, Yang et al." or "9 authors"), `authors_complete` is False and `author_count`
    holds the total when the source states it.
    """

    title: str
    abstract: str = ""
    authors: list[Author] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)  # primary first
    published: str | None = None
    updated: str | None = None
    arxiv_id: str | None = None  # without version
    doi: str | None = None  # lower-cased, no resolver prefix
    links: dict[str, str] = field(default_factory=dict)  # kinds from LINK_KINDS
    sources: list[str] = field(default_factory=list)  # importer/harvester names
    upvotes: int | None = None
    citations: int | None = None
    journal_ref: str | None = None
    comment: str | None = None
    organization: str | None = None
    authors_complete: bool = True
    author_count: int | None = None
    #: Identifiers in other systems ("s2", "openalex", "dblp", "hf", "kaggle" ...).
    external_ids: dict[str, str] = field(default_factory=dict)
    #: Filled in by the store; importers leave it empty.
    id: str = ""

    def canonical_id(self) -> str:
        """The arXiv id where known, else the DOI, else a stable hash of the normalised title."""
        if self.arxiv_id:
            return self.arxiv_id
        if self.doi:
            return self.doi
        return title_hash_id(self.title)

    @property
    def year(self) -> int | None:
        return int(self.published[:4]) if self.published else None


def title_hash_id(title: str) -> str:
    """The id of a paper known by title only: ``t`` + 16 hex digits of the normalised title."""
    return "t" + hashlib.sha1(title_key(title).encode()).hexdigest()[:16]


@dataclass(slots=True, frozen=True)
class BadRecord:
    """A record an importer could not turn into a paper; the run goes on without it.

    `where` locates it in the input for a person ("line 12", "record 3", "entry smith2020").
    """

    where: str
    message: str


@dataclass(slots=True, frozen=True)
class Deletion:
    """A source says this paper no longer exists (an OAI-PMH deleted record)."""

    arxiv_id: str
    where: str = ""


#: What an importer yields: papers, with bad records and deletions reported in stream order.
Item = Paper | BadRecord | Deletion
