"""The trending score: its documented behaviour on constructed cases, and the feed's SQL
version ranking the same way as the reference in Python."""

from __future__ import annotations

from paperscope.model import Author, Paper
from paperscope.rank.trending import age_hours, rank, trending_score
from paperscope.store.backends import open_store
from paperscope.store.browse import Browse

NOW = "2026-12-02T12:00:00Z"


def test_newer_beats_older_at_equal_votes():
    assert trending_score(0, 10, "2026-12-02", NOW) > trending_score(0, 10, "2026-12-01", NOW)
    assert trending_score(2, 0, "2026-11-30", NOW) > trending_score(2, 0, "2026-11-20", NOW)


def test_more_votes_beat_fewer_at_equal_age():
    assert trending_score(0, 11, "2026-12-01", NOW) > trending_score(0, 10, "2026-12-01", NOW)
    assert trending_score(1, 0, "2026-12-01", NOW) > trending_score(0, 0, "2026-12-01", NOW)


def test_a_local_vote_outweighs_a_source_vote():
    assert trending_score(1, 0, "2026-12-01", NOW) > trending_score(0, 2, "2026-12-01", NOW)


def test_an_old_highly_voted_paper_eventually_falls_below_a_fresh_one():
    fresh = trending_score(0, 0, "2026-12-02", NOW)
    assert trending_score(0, 1000, "2026-11-30", NOW) > fresh  # two days: votes still win
    assert trending_score(0, 1000, "2025-12-02", NOW) < fresh  # a year: age wins


def test_age_is_in_hours_never_negative_and_undated_papers_sink():
    assert age_hours("2026-12-02", NOW) == 12.0
    assert age_hours("2026-12-02T11:00:00Z", NOW) == 1.0
    assert age_hours("2026-12-03", NOW) == 0.0
    assert trending_score(0, 5, None, NOW) < trending_score(0, 0, "2025-01-01", NOW)


def _paper(title: str, day: str, upvotes: int | None) -> Paper:
    return Paper(
        title=title,
        abstract="An abstract.",
        authors=[Author(f"Ann {title.split()[-1]}")],
        categories=["cs.LG"],
        published=day,
        upvotes=upvotes,
        sources=["test"],
    )


def test_sql_and_python_rank_alike(db_target, tmp_path):
    cases = [
        ("Paper alpha one", "2026-12-02", 0),
        ("Paper beta two", "2026-12-01", 40),
        ("Paper gamma three", "2026-11-20", 500),
        ("Paper delta four", "2026-11-28", None),
        ("Paper eps five", "2026-11-29", 1),
        ("Paper zeta six", "2026-12-02", 1),
    ]
    with open_store(db_target) as store:
        store.write_batch([_paper(*c) for c in cases], origin="test")
        uid = store.conn.execute(
            "INSERT INTO users (email, display_name, created_at) VALUES ('a@x', 'A', ?) "
            "RETURNING id",
            (NOW,),
        ).fetchone()[0]
        delta = next(r for r, p in store.iter_papers() if p.title == "Paper delta four")
        store.conn.execute(
            "INSERT INTO upvotes (user_id, paper_rowid, at) VALUES (?, ?, ?)", (uid, delta, NOW)
        )
        browse = Browse(store, now=NOW)
        listed, total = browse.papers_between("2026-11-01", "2026-12-31", limit=10)
        assert total == len(cases)
        papers = dict(listed)
        expected = rank(papers, browse.upvote_counts(papers), NOW)
        assert [r for r, _ in listed] == [r for r, _ in expected]
        # the local upvote counts thrice: delta (1 local) is above eps (1 source, a day newer)
        titles = [p.title for _, p in listed]
        assert titles.index("Paper delta four") < titles.index("Paper eps five")


def test_search_sort_trending_ranks_matches_by_the_score(db_target, tmp_path):
    from datetime import UTC, datetime, timedelta

    from paperscope.rank.search import SearchEngine

    today = datetime.now(UTC).date()
    day = lambda n: (today - timedelta(days=n)).isoformat()  # noqa: E731
    # the engine ages papers from the real clock: dates relative to today
    cases = [
        ("Paper alpha one", day(0), 0),
        ("Paper beta two", day(1), 500),
        ("Paper gamma three", day(400), 900),
    ]
    with open_store(db_target) as store:
        store.write_batch([_paper(*c) for c in cases], origin="test")
        with SearchEngine(store) as engine:
            result = engine.search("cat:cs.LG", mode="lexical", sort="trending", limit=10)
    assert result.total == 3
    assert [h.paper.title for h in result.hits] == [
        "Paper beta two",
        "Paper alpha one",
        "Paper gamma three",
    ]
