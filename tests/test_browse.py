"""Browse: days, ranges, categories, organisations and featured submissions on a small store."""

from __future__ import annotations

import pytest

from paperscope.errors import InputError, NotFoundError
from paperscope.model import Author, Paper
from paperscope.store.backends import open_store
from paperscope.store.browse import Browse, org_slug


def _paper(title, day, cats, org=None, upvotes=None):
    return Paper(
        title=title,
        authors=[Author("Ann Example")],
        categories=cats,
        published=day,
        organization=org,
        upvotes=upvotes,
        sources=["test"],
    )


NAVER = "NAVER AI Lab"


@pytest.fixture
def store(db_target, tmp_path):
    with open_store(db_target) as store:
        store.write_batch(
            [
                _paper(
                    "First paper about graphs",
                    "2026-02-20",
                    ["cs.LG", "stat.ML"],
                    "NAVER AI Lab",
                    5,
                ),
                _paper("Second paper about vision", "2026-02-23T10:00:00Z", ["cs.CV"], None, 9),
                _paper("Third paper about proofs", "2026-02-23", ["math.LO"], "naver ai lab", 1),
                _paper("Fourth paper about learning", "2026-02-27", ["cs.LG"]),
            ],
            origin="test",
        )
        yield store


def test_days(store):
    browse = Browse(store)
    assert browse.latest_day() == "2026-02-27"
    assert browse.earliest_day() == "2026-02-20"
    assert browse.nearest_days("2026-02-23") == ("2026-02-20", "2026-02-27")
    assert browse.nearest_days("2026-02-21") == ("2026-02-20", "2026-02-23")
    assert browse.nearest_days("2026-02-27") == ("2026-02-23", None)
    with pytest.raises(InputError):
        browse.nearest_days("2026-02-31")


def test_nearest_days_of_a_category_have_papers_of_it(store):
    # the feed's "nearest days" and previous/next links keep the category filter: they must
    # lead to days that list papers of it, not to 2026-02-23 (cs.CV and math.LO only)
    browse = Browse(store)
    assert browse.nearest_days("2026-02-23", "cs.LG") == ("2026-02-20", "2026-02-27")
    assert browse.nearest_days("2026-02-22", "cs.CV") == (None, "2026-02-23")
    assert browse.nearest_days("2026-02-23", "cs.lg") == ("2026-02-20", "2026-02-27")
    assert browse.nearest_days("2026-02-23", "hep-th") == (None, None)
    with pytest.raises(InputError):
        browse.nearest_days("2026-02-23", "cs LG")


def test_category_filter_ignores_case_as_search_does(store):
    browse = Browse(store)
    for code in ("cs.LG", "cs.lg", "CS.LG"):
        assert browse.papers_between("2026-02-01", "2026-02-28", category=code)[1] == 2


def test_papers_between_counts_timestamps_filters_and_sorts(store):
    browse = Browse(store)
    papers, total = browse.papers_between("2026-02-23", "2026-02-23", sort="upvotes")
    assert total == 2 and papers[0][1].title == "Second paper about vision"
    _, total = browse.papers_between("2026-02-01", "2026-02-28", category="cs.LG")
    assert total == 2
    _, total = browse.papers_between("2026-02-01", "2026-02-28", category="cs.L")
    assert total == 0  # whole codes only
    page, total = browse.papers_between(
        "2026-02-01", "2026-02-28", sort="newest", limit=1, offset=1
    )
    assert total == 4 and len(page) == 1
    with pytest.raises(InputError):
        browse.papers_between("2026-02-01", "2026-02-28", sort="random")


def test_organisation(store):
    browse = Browse(store)
    assert org_slug("NAVER AI Lab") == "naver-ai-lab"
    name, papers, total = browse.organization("naver-ai-lab")
    assert total == 2 and name in ("NAVER AI Lab", "naver ai lab")
    assert [p.title for _, p in papers] == ["Third paper about proofs", "First paper about graphs"]
    with pytest.raises(NotFoundError):
        browse.organization("nobody")


def test_organisations_in_other_scripts_have_pages_of_their_own(db_target):
    """An organisation named in Chinese or Cyrillic had the empty slug (its links went to
    `/org/`, a 404), and two organisations whose Latin parts agree shared one page: the slug
    dropped every letter outside ASCII, so "清华大学 AI Lab" and "北京大学 AI Lab" were both
    "ai-lab"."""
    tsinghua, peking, yandex = "清华大学 AI Lab", "北京大学 AI Lab", "Яндекс"
    with open_store(db_target) as store:
        store.write_batch(
            [
                _paper("Tsinghua paper", "2026-02-20", ["cs.LG"], tsinghua),
                _paper("Peking paper", "2026-02-21", ["cs.LG"], peking),
                _paper("Yandex paper", "2026-02-22", ["cs.IR"], yandex),
                _paper("Strasse paper", "2026-02-23", ["cs.IR"], "Straße Institut"),
            ],
            origin="test",
        )
        browse = Browse(store)
        assert org_slug(yandex) == "яндекс"
        assert org_slug(tsinghua) != org_slug(peking)
        for org, title in (
            (tsinghua, "Tsinghua paper"),
            (peking, "Peking paper"),
            (yandex, "Yandex paper"),
        ):
            name, papers, total = browse.organization(org_slug(org))
            assert (name, total, [p.title for _, p in papers]) == (org, 1, [title])
        listed = {slug: (name, n) for slug, name, n in browse.organizations()}
        assert listed[org_slug(yandex)] == (yandex, 1) and len(listed) == 4
        # Latin names keep their slugs, accents folded; a letter the old slug dropped ("ß")
        # is spelt out now, and the old slug still leads to the organisation
        assert org_slug("Université Paris VII") == "universite-paris-vii"
        assert org_slug("Straße Institut") == "strasse-institut"
        for slug in ("strasse-institut", "strae-institut"):
            assert browse.organization(slug)[2] == 1


def test_an_organisation_named_with_and_without_its_acronym_has_one_page(db_target):
    """Hugging Face names one organisation "Amazon Web Services" on one paper and "Amazon
    Web Services (AWS)" on another: two pages, each with half of its papers. A trailing
    acronym of the name's own words is dropped from the slug; any other is kept."""
    aws, aws_short = "Amazon Web Services (AWS)", "Amazon Web Services"
    with open_store(db_target) as store:
        store.write_batch(
            [
                _paper("First AWS paper", "2026-02-20", ["cs.LG"], aws),
                _paper("Second AWS paper", "2026-02-21", ["cs.LG"], aws_short),
                _paper("Third AWS paper", "2026-02-22", ["cs.LG"], aws_short),
                _paper("Mind paper", "2026-02-23", ["cs.LG"], "Google (DeepMind)"),
                _paper("Just Google", "2026-02-24", ["cs.LG"], "Google"),
            ],
            origin="test",
        )
        browse = Browse(store)
        assert org_slug(aws) == org_slug(aws_short) == "amazon-web-services"
        assert org_slug("Massachusetts Institute of Technology (MIT)") == (
            "massachusetts-institute-of-technology"
        )
        listed = {slug: (name, n) for slug, name, n in browse.organizations()}
        assert listed["amazon-web-services"] == (aws_short, 3)  # the most used spelling
        name, papers, total = browse.organization("amazon-web-services")
        assert (name, total, len(papers)) == (aws_short, 3, 3)
        # links made before keep leading to it
        assert browse.organization("amazon-web-services-aws")[2] == 3
        # an acronym of other words is part of the name: DeepMind is not Google
        assert org_slug("Google (DeepMind)") == "google-deepmind"
        assert listed["google-deepmind"] == ("Google (DeepMind)", 1) and listed["google"][1] == 1


def test_featured_and_local_upvotes(store):
    rowids = {p.title: r for r, p in store.iter_papers()}
    conn = store.conn
    uid = conn.execute(
        "INSERT INTO users (email, display_name, created_at) VALUES ('a@x', 'Ada', 'now') "
        "RETURNING id"
    ).fetchone()[0]
    first, second = rowids["First paper about graphs"], rowids["Second paper about vision"]
    conn.execute(
        "INSERT INTO submissions (paper_rowid, user_id, day, submitted_at) VALUES (?, ?, ?, ?)",
        (first, uid, "2026-02-24", "2026-02-24T08:00:00Z"),
    )
    conn.execute(
        "INSERT INTO submissions (paper_rowid, user_id, day, submitted_at, hidden) "
        "VALUES (?, ?, ?, ?, 1)",
        (second, uid, "2026-02-24", "2026-02-24T09:00:00Z"),
    )
    conn.execute(
        "INSERT INTO upvotes (user_id, paper_rowid, at) VALUES (?, ?, 'now')", (uid, first)
    )
    browse = Browse(store)
    assert [(r, name) for r, _, name in browse.featured("2026-02-24")] == [(first, "Ada")]
    assert browse.upvote_counts([first, second]) == {first: 1}
