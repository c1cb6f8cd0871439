"""Shared set-up of the digest tests: a store copy with papers of known days, a user, follows."""

from __future__ import annotations

from pathlib import Path

from paperscope.model import Author, Paper
from paperscope.store.backends import open_store

#: Newer than every sample paper: the store's latest announcement day once these are in.
DAY = "2026-12-01"


def paper(number: int, title: str, authors: list[str], categories: list[str], published: str):
    return Paper(
        title=title,
        abstract=f"{title}. An abstract long enough to index, about {title.lower()}.",
        authors=[Author(name) for name in authors],
        categories=categories,
        published=published,
        arxiv_id=f"2612.{number:05d}",
        sources=["test"],
    )


FIRST = [
    paper(1, "Compilers for everyone", ["Grace Hopper"], ["cs.PL"], DAY),
    paper(2, "Quantum cats in boxes", ["Erwin Katz"], ["quant-ph"], DAY),
    paper(3, "Diffusion transformers draw graphs", ["Someone Else"], ["cs.CG"], DAY),
    paper(4, "Hopper and Lovelace", ["Grace Hopper", "Ada Lovelace"], ["quant-ph"], DAY),
    # by a followed author, but older than the latest day: not in a first digest
    paper(5, "An older Hopper paper", ["Grace Hopper"], ["cs.PL"], "2026-11-20"),
]


def add_papers(db: Path, papers: list[Paper]) -> list[str]:
    """Write papers; their store ids (arXiv ids), in order."""
    with open_store(db) as store:
        store.write_batch(papers, origin="test")
        return [store.get(f"arxiv:{p.arxiv_id}").id for p in papers]
