"""Topics: a two-level hierarchy of clusters of the papers' vectors, per aspect.

* aspect ``topic``: the whole-text vectors (title + abstract, passage DOC_PASSAGE);
* aspects ``task`` and ``method``: the embedded cue sentences of rank/topic_aspects.py.

Top topics are spherical k-means clusters of the unit vectors, k = TOP_PER_PAPERS scaled
(sqrt(n / 2), between 2 and MAX_TOP); each top topic of at least MIN_SPLIT papers is split
again by k-means into sub-topics. Labels come from class-based TF-IDF (rank/topic_labels.py);
sub-topic labels leave out the words of their parent's label. docs/topics.md has the figures
that chose these (bench/topics.py).

New papers join the nearest top centroid, then its nearest sub-topic centroid (`assign_new`),
without re-clustering; the drift record says when `paperscope topics rebuild` is due.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from paperscope.index.embedding import DOC_PASSAGE
from paperscope.rank import topic_labels
from paperscope.rank.topic_aspects import ASPECTS, aspect_text
from paperscope.store import topics as topic_store
from paperscope.store.sqlite import SQLiteStore
from paperscope.store.topics import MAIN_ASPECT, BuildInfo, Topic

ALL_ASPECTS = (MAIN_ASPECT, *ASPECTS)
MAX_TOP = 40
MAX_SUB = 8
#: A top topic smaller than this keeps no sub-topics (a split of a dozen papers is noise).
MIN_SPLIT = 16
#: Above this many papers, mini-batch k-means (memory and time grow linearly, not per init).
MINIBATCH_ABOVE = 50_000
CENTRAL = 5
#: Rebuild advised when this share of the papers arrived after the build, or new papers sit
#: this much farther from their centroid than the build's papers did (bench/topics.py).
DRIFT_SHARE = 0.25
DRIFT_DISTANCE_RATIO = 1.25

Progress = Callable[[str], None]


def top_count(n: int) -> int:
    return int(min(MAX_TOP, max(2, round(math.sqrt(n / 2))))) if n >= 2 else n


def sub_count(size: int) -> int:
    if size < MIN_SPLIT:
        return 0
    return int(min(MAX_SUB, max(2, round(math.sqrt(size / 8)))))


def _unit(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1)


def kmeans(
    vectors: np.ndarray, k: int, seed: int, n_init: int = 4
) -> tuple[np.ndarray, np.ndarray]:
    """(labels, unit centroids) of k-means on unit vectors: squared Euclidean distance there
    orders like cosine, and unit centroids make assignment a dot product."""
    from sklearn.cluster import KMeans, MiniBatchKMeans  # a second to import: on use only

    k = max(1, min(k, len(vectors)))
    if len(vectors) > MINIBATCH_ABOVE:
        model = MiniBatchKMeans(k, random_state=seed, n_init=3, batch_size=4096)
    else:
        model = KMeans(k, random_state=seed, n_init=n_init)
    labels = model.fit_predict(vectors)
    return labels, _unit(model.cluster_centers_.astype(np.float32))


@dataclass
class Hierarchy:
    """Cluster numbers per paper: top (0..k-1) and, inside it, sub (-1 when unsplit)."""

    top: np.ndarray
    sub: np.ndarray
    top_centroids: np.ndarray
    sub_centroids: dict[int, np.ndarray]


def cluster(vectors: np.ndarray, seed: int = 0, k: int | None = None) -> Hierarchy:
    vectors = _unit(vectors.astype(np.float32))
    top, centroids = kmeans(vectors, k or top_count(len(vectors)), seed)
    sub = np.full(len(vectors), -1, np.int64)
    subs: dict[int, np.ndarray] = {}
    for c in range(len(centroids)):
        members = np.flatnonzero(top == c)
        k_sub = sub_count(len(members))
        if not k_sub:
            continue
        labels, sub_centroids = kmeans(vectors[members], k_sub, seed, n_init=2)
        sub[members] = labels
        subs[c] = sub_centroids
    return Hierarchy(top, sub, centroids, subs)


def _texts(store: SQLiteStore, rowids: Sequence[int], aspect: str) -> list[str]:
    papers = store.load_rowids(rowids)
    out = []
    for r in rowids:
        p = papers.get(int(r))
        if p is None:
            out.append("")
        elif aspect == MAIN_ASPECT:
            out.append(f"{p.title}. {p.abstract}")
        else:
            out.append(aspect_text(aspect, p.title, p.abstract))
    return out


def aspect_matrix(store: SQLiteStore, aspect: str, embedder) -> tuple[np.ndarray, np.ndarray]:
    """(rowids, unit vectors) of `aspect` for every live embedded paper, embedding the
    aspect text of papers that lack it first."""
    if aspect == MAIN_ASPECT:
        return topic_store.doc_vectors(store, embedder.version, DOC_PASSAGE)
    embed_aspect(
        store,
        aspect,
        embedder,
        topic_store.rowids_without_aspect_vector(store, aspect, embedder.version),
    )
    return topic_store.aspect_vectors(store, aspect, embedder.version)


def embed_aspect(store: SQLiteStore, aspect: str, embedder, rowids: Sequence[int]) -> None:
    for start in range(0, len(rowids), 512):
        chunk = list(rowids[start : start + 512])
        texts = _texts(store, chunk, aspect)
        vectors = embedder.embed_documents(texts).astype(np.float32)
        topic_store.save_aspect_vectors(
            store,
            aspect,
            embedder.version,
            [(r, v.tobytes()) for r, v in zip(chunk, vectors, strict=True)],
        )


def build(
    store: SQLiteStore,
    embedder,
    aspect: str = MAIN_ASPECT,
    *,
    seed: int = 0,
    progress: Progress | None = None,
) -> dict:
    """Cluster, label and save the topics of `aspect`; returns a summary."""
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    say(f"{aspect}: reading vectors")
    rowids, vectors = aspect_matrix(store, aspect, embedder)
    if len(rowids) < 2:
        return {"aspect": aspect, "papers": len(rowids), "topics": 0, "subtopics": 0}
    say(f"{aspect}: clustering {len(rowids)} papers")
    h = cluster(vectors, seed)
    vectors = _unit(vectors.astype(np.float32))
    say(f"{aspect}: labelling")
    texts = _texts(store, rowids.tolist(), aspect)
    top_terms = [Counter() for _ in range(len(h.top_centroids))]
    sub_keys = [(c, s) for c in sorted(h.sub_centroids) for s in range(len(h.sub_centroids[c]))]
    sub_index = {key: i for i, key in enumerate(sub_keys)}
    sub_terms = [Counter() for _ in sub_keys]
    for i, text in enumerate(texts):
        found = topic_labels.terms(text)
        top_terms[h.top[i]].update(found)
        if h.sub[i] >= 0:
            sub_terms[sub_index[(int(h.top[i]), int(h.sub[i]))]].update(found)
    top_ranked = topic_labels.class_tfidf(top_terms)
    sub_ranked = topic_labels.class_tfidf(sub_terms) if sub_terms else []

    next_id = topic_store.next_topic_id(store)
    topics: list[Topic] = []
    finest = np.zeros(len(rowids), np.int64)
    distances = np.zeros(len(rowids), np.float32)
    for c, centroid in enumerate(h.top_centroids):
        members = np.flatnonzero(h.top == c)
        if not len(members):
            continue
        top_id = next_id
        next_id += 1
        top_label = topic_labels.label(top_ranked[c])
        topics.append(
            Topic(
                top_id,
                None,
                1,
                top_label,
                len(members),
                aspect,
                centroid,
                _central(rowids, vectors, members, centroid),
            )
        )
        finest[members] = top_id
        distances[members] = 1 - vectors[members] @ centroid
        for s, sub_centroid in enumerate(h.sub_centroids.get(c, [])):
            sub_members = members[h.sub[members] == s]
            if not len(sub_members):
                continue
            ranked = sub_ranked[sub_index[(c, s)]]
            topics.append(
                Topic(
                    next_id,
                    top_id,
                    2,
                    topic_labels.label(ranked, avoid=top_label.split(" · "), most=2),
                    len(sub_members),
                    aspect,
                    sub_centroid,
                    _central(rowids, vectors, sub_members, sub_centroid),
                )
            )
            finest[sub_members] = next_id
            distances[sub_members] = 1 - vectors[sub_members] @ sub_centroid
            next_id += 1
    info = BuildInfo(
        aspect=aspect,
        built_at=topic_store.utc_now(),
        model=embedder.version,
        seed=seed,
        papers=len(rowids),
        build_distance=float(distances.mean()),
        assigned=0,
        assigned_distance=0.0,
    )
    say(f"{aspect}: saving {len(topics)} topics")
    topic_store.save_build(
        store, aspect, topics, list(zip(rowids.tolist(), finest.tolist(), strict=True)), info
    )
    return {
        "aspect": aspect,
        "papers": len(rowids),
        "topics": sum(1 for t in topics if t.level == 1),
        "subtopics": sum(1 for t in topics if t.level == 2),
        "seed": seed,
        "seconds": round(time.perf_counter() - started, 2),
    }


def _central(rowids: np.ndarray, vectors: np.ndarray, members: np.ndarray, centroid) -> list[int]:
    scores = vectors[members] @ centroid
    best = members[np.argsort(-scores, kind="stable")[:CENTRAL]]
    return [int(r) for r in rowids[best]]


def _nearest(vectors: np.ndarray, topics: list[Topic]) -> list[tuple[int, float]]:
    """(finest topic id, cosine distance) per vector: nearest top centroid, then the nearest
    of its sub-topics, so a paper's sub-topic always lies inside its topic."""
    tops = [t for t in topics if t.level == 1 and t.centroid is not None]
    subs: dict[int, list[Topic]] = {}
    for t in topics:
        if t.level == 2 and t.centroid is not None:
            subs.setdefault(t.parent, []).append(t)
    top_matrix = np.stack([t.centroid for t in tops])
    out = []
    for v in vectors:
        best = tops[int(np.argmax(top_matrix @ v))]
        chosen, score = best, float(best.centroid @ v)
        kids = subs.get(best.id)
        if kids:
            scores = np.stack([k.centroid for k in kids]) @ v
            chosen, score = kids[int(np.argmax(scores))], float(scores.max())
        out.append((chosen.id, 1.0 - score))
    return out


def assign_new(
    store: SQLiteStore,
    embedder,
    aspects: Sequence[str] = ALL_ASPECTS,
    rowids: Sequence[int] | None = None,
) -> dict:
    """Give embedded papers without a topic of a built aspect their nearest topic: `rowids`
    (the papers just embedded), or every such paper when None (a scan of the store's
    vectors); returns {aspect: papers assigned}. Aspects never built are left alone."""
    done: dict[str, int] = {}
    for aspect in aspects:
        info = topic_store.build_info(store, aspect)
        if info is None or info.model != embedder.version:
            continue
        if rowids is not None:
            have = topic_store.topics_of(store, rowids, aspect)
            fresh = [int(r) for r in rowids if int(r) not in have]
        if aspect == MAIN_ASPECT:
            if rowids is None:
                todo = topic_store.unassigned_rowids(store, embedder.version, DOC_PASSAGE, aspect)
            else:
                todo = fresh
            if not todo:
                continue
            found = topic_store.passage_matrix(store, embedder.version, DOC_PASSAGE, todo)
        else:
            if rowids is None:
                missing = topic_store.rowids_without_aspect_vector(store, aspect, embedder.version)
            else:
                missing = fresh
            embed_aspect(store, aspect, embedder, missing)
            if rowids is None:
                todo = topic_store.unassigned_aspect_rowids(store, aspect, embedder.version)
            else:
                todo = fresh
            if not todo:
                continue
            found = topic_store.aspect_matrix_of(store, aspect, embedder.version, todo)
        rowids, vectors = found
        if not len(rowids):
            continue
        topics = topic_store.list_topics(store, aspect)
        if not topics:
            continue
        nearest = _nearest(_unit(vectors.astype(np.float32)), topics)
        topic_store.assign(
            store, aspect, [(int(r), t, d) for r, (t, d) in zip(rowids, nearest, strict=True)]
        )
        done[aspect] = len(rowids)
    return done


def drift(store: SQLiteStore, aspect: str = MAIN_ASPECT) -> dict | None:
    """How far the papers assigned since the build have moved the picture, and whether a
    rebuild is advised (DRIFT_SHARE, DRIFT_DISTANCE_RATIO)."""
    info = topic_store.build_info(store, aspect)
    if info is None:
        return None
    share = info.assigned / max(info.papers + info.assigned, 1)
    ratio = (
        info.assigned_distance / info.build_distance
        if info.assigned and info.build_distance
        else 0.0
    )
    return {
        "built_at": info.built_at,
        "papers_at_build": info.papers,
        "assigned_since": info.assigned,
        "share_new": round(share, 4),
        "build_distance": round(info.build_distance, 4),
        "assigned_distance": round(info.assigned_distance, 4),
        "distance_ratio": round(ratio, 4),
        "rebuild_advised": share > DRIFT_SHARE or ratio > DRIFT_DISTANCE_RATIO,
    }


@dataclass
class TopicDetail:
    topic: Topic
    parent: Topic | None
    children: list[Topic]
    neighbours: list[tuple[Topic, float]]
    months: list[tuple[str, int]]
    authors: list[tuple[str, int]]
    central: list  # Papers nearest the centroid, nearest first
    rowids: list[int]

    @property
    def undated(self) -> int:
        """Papers `months` leaves out: no date, or a year alone."""
        return len(self.rowids) - sum(n for _, n in self.months)


NEIGHBOURS = 5


def detail(store: SQLiteStore, topic_id: int, authors: int = 10) -> TopicDetail | None:
    """What a topic page shows: its place in the hierarchy, nearest topics of its level (by
    centroid cosine), papers per month, top authors and central papers."""
    topic = topic_store.get_topic(store, topic_id)
    if topic is None:
        return None
    parent = topic_store.get_topic(store, topic.parent) if topic.parent else None
    peers = [
        t
        for t in topic_store.list_topics(store, topic.aspect)
        if t.level == topic.level and t.id != topic.id and t.centroid is not None
    ]
    neighbours: list[tuple[Topic, float]] = []
    if peers and topic.centroid is not None:
        sims = np.stack([t.centroid for t in peers]) @ topic.centroid
        order = np.argsort(-sims, kind="stable")[:NEIGHBOURS]
        neighbours = [(peers[i], float(sims[i])) for i in order]
    rowids = topic_store.topic_rowids(store, topic_id)
    dates, names = topic_store.published_and_authors(store, rowids)
    months = Counter(d[:7] for d in dates if d and len(d) >= 7)
    papers = store.load_rowids(topic.central)
    return TopicDetail(
        topic=topic,
        parent=parent,
        children=topic_store.children(store, topic_id),
        neighbours=neighbours,
        months=sorted(months.items()),
        authors=names.most_common(authors),
        central=[papers[r] for r in topic.central if r in papers],
        rowids=rowids,
    )


def summaries(store: SQLiteStore, aspect: str = MAIN_ASPECT) -> list[dict]:
    """The topic list of the CLI and API: {id, label, size, parent}, each top topic followed
    by its sub-topics; `aspect` is added for an aspect other than the main hierarchy."""
    out = []
    for t in topic_store.list_topics(store, aspect):
        row = t.as_dict()
        if aspect != MAIN_ASPECT:
            row["aspect"] = aspect
        out.append(row)
    return out


def fill_topic_refs(node, store: SQLiteStore):
    """`node` with each ``topic:ID`` holding the rowids of that topic and its sub-topics (an
    unknown id matches nothing)."""
    from paperscope.rank import query as q

    if isinstance(node, q.TopicRef):
        return replace(node, rowids=tuple(topic_store.topic_rowids(store, node.id)))
    if isinstance(node, q.And | q.Or):
        return type(node)(tuple(fill_topic_refs(i, store) for i in node.items))
    if isinstance(node, q.Not):
        return q.Not(fill_topic_refs(node.item, store))
    return node


def topic_facet(store: SQLiteStore, rowids, top: int = 12) -> dict[str, int]:
    """Matches per top topic, as {str(topic id): papers}, largest first."""
    finest = topic_store.count_topics(store, rowids)
    if not finest:
        return {}
    parents = {t.id: t.parent or t.id for t in topic_store.labels(store, set(finest)).values()}
    counts: Counter[int] = Counter()
    for t, n in finest.items():
        counts[parents.get(t, t)] += n
    return {str(t): n for t, n in counts.most_common(top)}


def group_rowids(
    store: SQLiteStore, rowids: Sequence[int], aspect: str = MAIN_ASPECT
) -> list[tuple[Topic | None, list[int]]]:
    """`rowids` regrouped by their top topic of `aspect`: groups in the order of their first
    paper (the best hit leads), papers in their given order; papers without a topic of that
    aspect last, under None."""
    finest = topic_store.topics_of(store, rowids, aspect)
    known = topic_store.labels(store, set(finest.values()))
    parents = topic_store.labels(store, {t.parent for t in known.values() if t.parent})
    groups: dict[int | None, list[int]] = {}
    for r in rowids:
        t = known.get(finest.get(r, -1))
        top = (parents.get(t.parent) or t) if t is not None and t.parent else t
        groups.setdefault(top.id if top else None, []).append(r)
    tops = {**known, **parents}
    ordered = [(tops[k], v) for k, v in groups.items() if k is not None]
    if None in groups:
        ordered.append((None, groups[None]))
    return ordered


def cover(rowids: Sequence[int], topic_by_rowid: dict[int, int]) -> list[int]:
    """Greedy topic coverage of a ranked list (best first): the best paper of each topic not
    yet covered, in rank order, until every topic has one; then the rest by rank. Papers
    without a topic count as a topic of their own each (they are never pushed down)."""
    seen: set = set()
    first, rest = [], []
    for r in rowids:
        key = topic_by_rowid.get(r, ("none", r))
        (rest if key in seen else first).append(r)
        seen.add(key)
    return first + rest


def top_topics(store: SQLiteStore, rowids: Sequence[int]) -> dict[int, Topic]:
    """rowid -> its top topic of the main hierarchy, for the papers that have one."""
    finest = topic_store.topics_of(store, rowids)
    known = topic_store.labels(store, set(finest.values()))
    parents = topic_store.labels(store, {t.parent for t in known.values() if t.parent})
    out = {}
    for r, t in finest.items():
        topic = known.get(t)
        if topic is not None:
            out[r] = parents.get(topic.parent, topic) if topic.parent else topic
    return out


def diversify(store: SQLiteStore, rowids: Sequence[int]) -> list[int]:
    """`cover` over the papers' top topics; unchanged when the store has no topics."""
    tops = top_topics(store, rowids)
    if not tops:
        return list(rowids)
    return cover(rowids, {r: t.id for r, t in tops.items()})
