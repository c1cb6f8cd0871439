"""Embedding the papers that have no vector of the current model yet, resumably.

Papers are embedded in batches, longest text first (batches of similar length pad little), and
each batch is saved in one transaction before the next starts: a killed run keeps every
finished batch, and the next run picks up the papers still missing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from paperscope.index.embedder import Embedder, passages, title_repeats
from paperscope.index.layout import place_papers
from paperscope.index.vectors import VectorIndex
from paperscope.store.sqlite import SQLiteStore

#: Papers per saved batch: ~3 passages each, a few seconds of embedding on 2 cores, so an
#: interruption loses little and a commit per batch costs nothing in comparison.
DEFAULT_BATCH = 64

PassageFn = Callable[[str, str], list[str]]


def embed_missing(
    store: SQLiteStore,
    embedder: Embedder,
    *,
    batch: int = DEFAULT_BATCH,
    index: VectorIndex | None = None,
    progress: Callable[[int], None] | None = None,
    limit: int | None = None,
) -> list[int]:
    """Embed every paper lacking vectors of `embedder.version`; returns their rowids in the
    order they were embedded.

    A paper's vectors are those of its passages (`embedder.passages` if the embedder has one,
    else `paperscope.index.embedder.passages`). `index`, when given, takes each batch as it is
    saved and is synced with the store at the end. `progress` gets the number of papers
    finished after each batch. `limit` embeds at most that many papers. The papers embedded
    get a place on the map when one was built (`paperscope.index.layout.place_papers`).
    """
    if batch < 1:
        raise ValueError(f"batch must be at least 1, not {batch}")
    todo = _longest_first(store, store.rowids_without_vectors(embedder.version))
    if limit is not None:
        todo = todo[:limit]
    done: list[int] = []
    for start in range(0, len(todo), batch):
        rowids = todo[start : start + batch]
        papers = store.load_rowids(rowids)
        rowids = [r for r in rowids if r in papers]
        rows, groups = embed_batch(
            embedder, [(r, papers[r].title, papers[r].abstract) for r in rowids]
        )
        store.save_vectors(embedder.version, rows)
        if index is not None:
            index.add(rowids, groups)
        done.extend(rowids)
        if progress is not None:
            progress(len(rowids))
    finish_embedded(store, embedder.version, done, index)
    return done


def finish_embedded(
    store: SQLiteStore, version: str, rowids: list[int], index: VectorIndex | None
) -> None:
    """What follows the writing of new vectors, whoever computed them (`embed_missing` here,
    Ray actors in `ray_embed`): the vector index records the store state it now matches, and
    the new papers join the map (if one was built) where their nearest neighbours are."""
    if not rowids:
        return
    if index is not None:
        index.ensure()
    place_papers(store, rowids, version, index)


def embed_batch(
    embedder: Embedder, papers: Sequence[tuple[int, str, str]]
) -> tuple[list[tuple[int, int, bytes]], list[np.ndarray]]:
    """The vectors of `papers` ((rowid, title, abstract)) in one model call: the rows
    `store.save_vectors` takes ((rowid, passage, float32 bytes)), and per paper, in order, the
    matrix of its passage vectors `VectorIndex.add` takes.

    Needs only the embedder, so it also runs where there is no store (a Ray actor).
    """
    cut: PassageFn = getattr(embedder, "passages", None) or passages
    # each paper's passages, then its whole text last
    texts = [cut(title, abstract) for _, title, abstract in papers]
    wholes = [whole_text(title, abstract) for _, title, abstract in papers]
    embedded = _embed(embedder, texts, wholes)
    groups, rows = [], []
    for (rowid, _, _), text, group in zip(papers, texts, embedded, strict=True):
        if text:
            rows.append((rowid, DOC_PASSAGE, group[-1].tobytes()))
            group = group[:-1]
        groups.append(group)
        rows.extend((rowid, passage, vector.tobytes()) for passage, vector in enumerate(group))
    return rows, groups


#: The passage number of a paper's whole-text vector (title + abstract, up to the embedder's
#: max length). Search scores passages; `similar` compares whole texts: on the labelled corpus
#: that put 0.784 of the 10 nearest papers in the same category, passages 0.760.
DOC_PASSAGE = -1


def whole_text(title: str, abstract: str) -> str:
    return f"{title}. {abstract}" if abstract else title


def _embed(
    embedder: Embedder, texts: Sequence[list[str]], wholes: Sequence[str]
) -> list[np.ndarray]:
    """Per paper, its unit passage vectors then its whole-text vector. A paper with nothing to
    embed (no title, no abstract) gets a single zero row, so it is not tried again on every run.

    An embedder with `embed_papers` (MiniLMEmbedder) gets whole papers, so it may share one
    model pass between the passages and the whole text; any other embeds the passages and the
    whole texts as one list of documents.
    """
    embed_papers = getattr(embedder, "embed_papers", None)
    if embed_papers is not None:
        groups = embed_papers(texts, wholes, pool_skip=[title_repeats(p) for p in texts])
    else:
        flat = [
            t for paper, whole in zip(texts, wholes, strict=True) if paper for t in (*paper, whole)
        ]
        vectors = (
            embedder.embed_documents(flat) if flat else np.zeros((0, embedder.dim), np.float32)
        )
        groups, at = [], 0
        for paper in texts:
            n = len(paper) + 1 if paper else 0
            groups.append(vectors[at : at + n])
            at += n
    return [
        np.ascontiguousarray(group, dtype=np.float32)
        if len(group)
        else np.zeros((1, embedder.dim), dtype=np.float32)
        for group in groups
    ]


def _longest_first(store: SQLiteStore, rowids: list[int]) -> list[int]:
    """`rowids` by title + abstract length, longest first (ties by rowid)."""
    lengths: dict[int, int] = {}
    for start in range(0, len(rowids), 900):
        chunk = rowids[start : start + 900]
        marks = ",".join("?" * len(chunk))
        lengths.update(
            store.conn.execute(
                f"SELECT rowid, length(title) + length(abstract) FROM papers "
                f"WHERE rowid IN ({marks})",
                chunk,
            ).fetchall()
        )
    return sorted(rowids, key=lambda r: (-lengths.get(r, 0), r))
