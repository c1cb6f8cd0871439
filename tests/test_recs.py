"""Recommendations on a real store: 150 real abstracts (samples/corpus), embedded with the
bundled model, ratings written as rows of the personal tables."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from paperscope.errors import InputError, NotFoundError
from paperscope.index.embedding import embed_missing
from paperscope.model import Author, Paper
from paperscope.rank.recs import Recommender
from paperscope.rank.search import SearchEngine
from paperscope.store.accounts import Accounts
from paperscope.store.backends import open_store
from paperscope.store.ratings import (
    Ratings,
    record_follow,
    record_rating,
    record_tag,
    record_upvote,
)
from paperscope.store.sqlite import SQLiteStore
from webtools import copy_store

CORPUS = Path(__file__).resolve().parents[1] / "samples" / "corpus" / "arxiv-ml-abstracts-1000.csv"
#: Topics by a word of the title: clear-cut, unlike the corpus's overlapping categories.
TOPICS = {"seg": r"segmentation", "rl": r"reinforcement", "ts": r"time series"}
PER_TOPIC = {"seg": 40, "rl": 40, "ts": 20}
OTHERS = 50
FIRST_DAY = date(2026, 1, 1)
HOPPER = "Grace Hopper"


def _corpus() -> list[dict]:
    import csv

    with CORPUS.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _topic(title: str) -> str | None:
    for name, pattern in TOPICS.items():
        if re.search(pattern, title, re.I):
            return name
    return None


def _pick() -> list[tuple[dict, str]]:
    """150 rows: 40 segmentation, 40 reinforcement learning, 20 time series, 50 others."""
    counts = dict.fromkeys([*PER_TOPIC, "other"], 0)
    wanted = {**PER_TOPIC, "other": OTHERS}
    picked = []
    for row in _corpus():
        topic = _topic(row["titles"]) or "other"
        if counts[topic] < wanted[topic]:
            counts[topic] += 1
            picked.append((row, topic))
    return picked


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    import ast

    db = tmp_path_factory.mktemp("recs") / "papers.db"
    papers = []
    others = 0
    for i, (row, topic) in enumerate(_pick()):
        authors = [Author(f"Author {i % 37} Person"), Author(f"Second {i % 11} Writer")]
        if topic == "other":
            others += 1
            if others <= 3:  # three "other" papers by the author a cold-start user follows
                authors.insert(0, Author(HOPPER))
        papers.append(
            Paper(
                title=" ".join(row["titles"].split()),
                abstract=" ".join(row["summaries"].split()),
                authors=authors,
                categories=list(ast.literal_eval(row["terms"])),
                published=(FIRST_DAY + timedelta(days=i)).isoformat(),
                arxiv_id=f"2601.{i + 1:05d}",
                sources=["corpus-csv"],
            )
        )
    with SQLiteStore(db) as store:
        store.write_batch(papers, origin="arxiv-ml-abstracts-1000.csv")
        embed_missing(store, SearchEngine(store).embedder)
        accounts = Accounts(store)
        for name in ("ana", "ben", "cy", "dee"):
            accounts.add(f"{name}@example.org", None, display_name=name)
    return db


class World:
    """A private copy of the store, its engine, and the papers by topic."""

    def __init__(self, db: Path | str) -> None:
        self.engine = SearchEngine.open(db)
        self.store = self.engine.store
        self.topic: dict[int, str] = {}
        self.by_topic: dict[str, list[int]] = {}
        for rowid, paper in self.store.iter_papers():
            t = _topic(paper.title) or "other"
            self.topic[rowid] = t
            self.by_topic.setdefault(t, []).append(rowid)
        accounts = Accounts(self.store)
        self.users = {u.display_name: u.id for u in accounts.list()}

    def thumbs(self, user: str, rowids, rating: int = 1) -> None:
        for rowid in rowids:
            record_rating(self.store, self.users[user], rowid, rating=rating)

    def topics_of(self, recs) -> list[str]:
        return [self.topic[r.rowid] for r in recs]


@pytest.fixture(scope="module")
def template_pg(template, pg_server) -> str:
    """The template store copied into PostgreSQL once (`db copy`): its database name."""
    from paperscope.store.copy import copy_store as copy_between

    url = pg_server.fresh(migrated=False)
    with open_store(template) as src, open_store(url) as dst:
        assert copy_between(src, dst).same
    return pg_server.database_name(url)


@pytest.fixture
def world(backend, template, tmp_path, request, monkeypatch) -> Iterator[World]:
    """The template store, private to the test, on each backend (on PostgreSQL its indexes
    are rebuilt in tmp_path)."""
    if backend == "sqlite":
        db = copy_store(template, tmp_path / "papers.db")
    else:
        server = request.getfixturevalue("pg_server")
        db = server.fresh(template=request.getfixturevalue("template_pg"))
        monkeypatch.setenv("PAPERSCOPE_INDEX_DIR", str(tmp_path / "index"))
    w = World(db)
    yield w
    w.engine.close()
    if backend != "sqlite":
        server.drop(db)


# ---------------------------------------------------------------------------------------------


def test_recommendations_follow_the_positives_topic(world):
    liked = world.by_topic["rl"][:6]
    world.thumbs("ana", liked)
    recs = Recommender(world.engine).recommend(world.users["ana"], limit=10)
    assert len(recs) == 10
    topics = world.topics_of(recs)
    assert topics.count("rl") >= 7, topics
    assert not {r.rowid for r in recs} & set(liked)
    titles = {world.store.load_rowids([r])[r].title for r in liked}
    for rec in recs:
        assert rec.kind == "similar"
        assert rec.reason.startswith("close to ")
        assert rec.reason.removeprefix("close to ") in titles
        assert rec.ref == world.store.get(rec.ref).id
    scores = [r.score for r in recs]
    assert all(isinstance(s, float) for s in scores)


def test_never_recommends_saved_rated_upvoted_tagged_or_excluded(world):
    uid = world.users["ben"]
    seg = world.by_topic["seg"]
    record_rating(world.store, uid, seg[0], saved=True)
    record_rating(world.store, uid, seg[1], rating=1)
    record_rating(world.store, uid, seg[2], rating=-1)
    record_upvote(world.store, uid, seg[3])
    record_tag(world.store, uid, "vision", seg[4])
    excluded = seg[5:12]
    recs = Recommender(world.engine).recommend(uid, limit=50, exclude=excluded)
    got = {r.rowid for r in recs}
    assert len(recs) == 50
    assert not got & {*seg[:5], *excluded}
    # and the seen set really is what the store says
    assert Ratings(world.store).seen(uid) == set(seg[:5])


def test_new_thumbs_retrains_and_changes_recommendations(world):
    uid = world.users["ana"]
    world.thumbs("ana", world.by_topic["seg"][:5])
    rec = Recommender(world.engine)
    first = rec.recommend(uid, limit=10)
    assert rec.trainings == 1
    assert world.topics_of(first).count("seg") >= 7
    # the same request again is served from the cached model
    again = rec.recommend(uid, limit=10)
    assert rec.trainings == 1
    assert [r.rowid for r in again] == [r.rowid for r in first]
    stored = Ratings(world.store).load_model(uid, "")
    # thumbs down on the top recommendation: it is gone, the model is replaced
    record_rating(world.store, uid, first[0].rowid, rating=-1)
    after_down = rec.recommend(uid, limit=10)
    assert rec.trainings == 2
    assert first[0].rowid not in {r.rowid for r in after_down}
    replaced = Ratings(world.store).load_model(uid, "")
    assert replaced.fingerprint != stored.fingerprint
    # thumbs up on time-series papers: they now show up
    world.thumbs("ana", world.by_topic["ts"][:5])
    after_up = rec.recommend(uid, limit=10)
    assert rec.trainings == 3
    assert "ts" in world.topics_of(after_up)
    assert "ts" not in world.topics_of(first)


def test_a_second_process_loads_the_stored_model_without_training(world, tmp_path):
    uid = world.users["ana"]
    world.thumbs("ana", world.by_topic["rl"][:5])
    first = Recommender(world.engine)
    expected = [r.rowid for r in first.recommend(uid, limit=10)]
    assert first.trainings == 1
    with SearchEngine.open(world.store.path) as other:
        second = Recommender(other)
        assert [r.rowid for r in second.recommend(uid, limit=10)] == expected
        assert second.trainings == 0
        # a rating written by the first process is noticed by the second
        record_rating(world.store, uid, expected[0], rating=-1)
        assert expected[0] not in {r.rowid for r in second.recommend(uid, limit=10)}
        assert second.trainings == 1


def test_per_tag_recommendations_follow_that_tag(world):
    uid = world.users["cy"]
    for rowid in world.by_topic["seg"][:5]:
        record_tag(world.store, uid, "segmentation", rowid)
    for rowid in world.by_topic["rl"][:5]:
        record_tag(world.store, uid, "agents", rowid)
    rec = Recommender(world.engine)
    seg = world.topics_of(rec.recommend(uid, limit=10, tag="segmentation"))
    rl = world.topics_of(rec.recommend(uid, limit=10, tag="agents"))
    assert seg.count("seg") >= 7, seg
    assert rl.count("rl") >= 7, rl
    with pytest.raises(NotFoundError):
        rec.recommend(uid, tag="no such tag")


def test_cold_start_from_a_followed_category(world):
    uid = world.users["dee"]
    assert Recommender(world.engine).recommend(uid) == []  # nothing to go on
    record_follow(world.store, uid, "category", "cs.RO")
    recs = Recommender(world.engine).recommend(uid, limit=10)
    assert recs
    for r in recs:
        assert "cs.RO" in r.paper.categories
        assert (r.kind, r.ref, r.reason) == ("category", "cs.RO", "in cs.RO")


def test_cold_start_from_a_followed_author_and_a_seed_paper(world):
    uid = world.users["dee"]
    record_follow(world.store, uid, "author", HOPPER)
    seed = world.by_topic["ts"][0]
    record_follow(world.store, uid, "paper", world.store.load_rowids([seed])[seed].id)
    recs = Recommender(world.engine).recommend(uid, limit=10)
    by_author = [r for r in recs if r.kind == "author"]
    assert len(by_author) == 3
    for r in by_author:
        assert r.reason == f"by {HOPPER}" and r.ref == HOPPER
        assert HOPPER in [a.name for a in r.paper.authors]
    seeded = [r for r in recs if r.kind == "seed"]
    # one seed paper is little to go on: most (not all) of its neighbours share its topic,
    # which holds 13% of the papers
    assert seeded and sum(world.topic[r.rowid] == "ts" for r in seeded) >= len(seeded) / 2
    assert all(r.reason.startswith("close to ") for r in seeded)
    assert seed not in {r.rowid for r in recs}


def test_cold_start_from_a_saved_query(world):
    uid = world.users["dee"]
    record_follow(world.store, uid, "query", "ti:segmentation")
    recs = Recommender(world.engine).recommend(uid, limit=5)
    assert len(recs) == 5
    for r in recs:
        assert (r.kind, r.reason) == ("query", "matches ti:segmentation")
        assert "segmentation" in r.paper.title.lower()


def test_diversification_covers_both_interests(world):
    uid = world.users["ben"]
    # a busy interest (8 papers) and a small one (2)
    world.thumbs("ben", world.by_topic["seg"][:8])
    world.thumbs("ben", world.by_topic["rl"][:2])
    recs = Recommender(world.engine).recommend(uid, limit=10)
    topics = world.topics_of(recs)
    assert "seg" in topics and "rl" in topics, topics
    # each recommendation names the positive it is closest to, from either interest
    reasons = {world.topic[world.store.resolve(r.ref)] for r in recs}
    assert reasons == {"seg", "rl"}


def test_without_diversification_the_busy_interest_crowds_out_the_small_one(world, monkeypatch):
    """What the test above guards against: the model alone ranks the small interest low."""
    import paperscope.rank.recs as recs

    monkeypatch.setattr(recs, "INTEREST_DISTANCE", 2.0)  # one interest
    monkeypatch.setattr(recs, "MMR_LAMBDA", 1.0)  # no MMR
    uid = world.users["ben"]
    world.thumbs("ben", world.by_topic["seg"][:8])
    world.thumbs("ben", world.by_topic["rl"][:2])
    topics = world.topics_of(Recommender(world.engine).recommend(uid, limit=10))
    assert topics.count("rl") < 2, topics


def test_since_keeps_newer_papers_only(world):
    world.thumbs("ana", world.by_topic["seg"][:5])
    recs = Recommender(world.engine).recommend(world.users["ana"], limit=20, since="2026-04-01")
    assert recs
    assert all(r.paper.published >= "2026-04-01" for r in recs)
    with pytest.raises(InputError):
        Recommender(world.engine).recommend(world.users["ana"], since="April")
    with pytest.raises(InputError):
        Recommender(world.engine).recommend(world.users["ana"], limit=0)


def test_new_and_deleted_papers_reach_the_matrix(world):
    uid = world.users["ana"]
    world.thumbs("ana", world.by_topic["rl"][:5])
    rec = Recommender(world.engine)
    first = rec.recommend(uid, limit=5)
    loads = rec.matrix.loads
    # delete the best recommendation: the store generation moves, the matrix catches up
    gone = first[0].paper.arxiv_id
    world.store.write_batch([], origin="test", deletions=[gone])
    after = rec.recommend(uid, limit=5)
    assert rec.matrix.loads == loads + 1
    assert first[0].rowid not in {r.rowid for r in after}
    assert rec.trainings == 1  # ratings did not change: same model


def test_a_small_interest_gets_its_share_from_its_own_neighbours(world):
    """Two positives of ten get two places of ten (shares by size), and each candidate's
    affinity to an interest is its cosine to that interest's nearest positive."""
    import numpy as np

    uid = world.users["ben"]
    world.thumbs("ben", world.by_topic["seg"][:8])
    world.thumbs("ben", world.by_topic["rl"][:2])
    rec = Recommender(world.engine)
    topics = world.topics_of(rec.recommend(uid, limit=10))
    assert topics.count("rl") >= 2, topics
    assert topics.count("seg") >= 6, topics
    model = rec._state.models[(uid, "")]
    assert len(model.member_rowids) == 10 and len(model.interests) >= 2
    rows = rec.matrix.positions(model.member_rowids)
    affinity = rec._affinity(model, rows)
    # a positive is its own nearest positive: affinity 1 to its interest, at most 1 elsewhere
    own = affinity[np.arange(len(rows)), model.member_labels]
    assert np.allclose(own, 1.0, atol=1e-4)
    assert (affinity <= own[:, None] + 1e-4).all()
