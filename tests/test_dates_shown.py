"""A date shows what its source knows: a year-only or month-only paper never gains a day in
pages, exports, feeds, feed listings or the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from paperscope.serve import export
from paperscope.store.browse import Browse
from paperscope.store.sqlite import SQLiteStore
from webtools import build_store, client_for

MERGE = Path(__file__).parent / "fixtures" / "merge"
YEAR_ONLY = "2602.20021"  # agents-of-chaos.bib: year = {2026}
MONTH_ONLY = "10.1007/s41095-022-0271-y"  # attention-survey.bib: year 2022, month mar


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("dates") / "papers.db"
    return build_store(path, [MERGE / "agents-of-chaos.bib", MERGE / "attention-survey.bib"])


def test_store_keeps_the_precision(db):
    with SQLiteStore(db) as store:
        assert store.get(YEAR_ONLY).published == "2026"
        assert store.get(MONTH_ONLY).published == "2022-03"


def test_paper_pages_show_year_and_month(db):
    with client_for(db) as client:
        year_page = client.get(f"/paper/{YEAR_ONLY}").text
        month_page = client.get(f"/paper/{MONTH_ONLY}").text
    assert '<time datetime="2026">2026</time>' in year_page
    assert "<dt>Published</dt><dd>2026</dd>" in year_page
    assert '<time datetime="2022-03">Mar 2022</time>' in month_page
    assert "<dt>Published</dt><dd>Mar 2022</dd>" in month_page
    for page in (year_page, month_page):
        assert "-01-01" not in page and "2022-03-01" not in page


def test_exports_carry_only_what_is_known(db):
    with client_for(db) as client:
        year_bib = client.get(f"/paper/{YEAR_ONLY}.bib").text
        month_bib = client.get(f"/paper/{MONTH_ONLY}.bib").text
        year_json = client.get(f"/paper/{YEAR_ONLY}.json").json()
        api = client.get(f"/api/v1/paper/{MONTH_ONLY}").json()
    assert "  year = {2026}" in year_bib and "month" not in year_bib
    assert "  year = {2022}" in month_bib and "  month = {mar}" in month_bib
    assert [p["published"] for p in year_json] == ["2026"]
    assert api["published"] == "2022-03"
    with SQLiteStore(db) as store:
        papers = [store.get(YEAR_ONLY), store.get(MONTH_ONLY)]
    rows = export.csv_text(papers).splitlines()
    assert rows[1].split(",")[3] == "2026" and rows[2].split(",")[3] == "2022-03"


def test_atom_entries_give_dc_date_instead_of_an_invented_instant(db):
    with SQLiteStore(db) as store:
        papers = [store.get(YEAR_ONLY), store.get(MONTH_ONLY)]
    feed = etree.fromstring(
        export.atom_feed("t", "http://127.0.0.1/x.atom", "http://127.0.0.1/", papers)
    )
    ns = {"a": export.ATOM_NS, "dc": export.DC_NS}
    entries = feed.findall("a:entry", ns)
    assert [e.findtext("dc:date", namespaces=ns) for e in entries] == ["2026", "2022-03"]
    assert [e.find("a:published", ns) for e in entries] == [None, None]
    assert "2026-01-01" not in etree.tostring(feed).decode()


def test_served_atom_dates_a_coarse_paper_by_its_record_not_1970(db):
    # Atom requires <updated>; readers show it. A year- or month-only paper gets the time its
    # record last changed in the store, never 1970 nor an invented 1 January.
    with SQLiteStore(db) as store:
        stamps = store.modified_times([YEAR_ONLY, MONTH_ONLY, "no-such-paper"])
        rowids = [store.resolve(YEAR_ONLY), store.resolve(MONTH_ONLY)]
        stored = dict(
            store.conn.execute(
                "SELECT id, modified_at FROM papers WHERE rowid IN (?, ?)", rowids
            ).fetchall()
        )
    assert stamps == stored and len(stamps) == 2
    with client_for(db) as client:
        response = client.get("/search.atom", params={"q": "year:2026 OR year:2022"})
    assert response.status_code == 200, response.text
    feed = etree.fromstring(response.content)
    ns = {"a": export.ATOM_NS, "dc": export.DC_NS}
    entries = feed.findall("a:entry", ns)
    assert len(entries) == 2
    updated = sorted(e.findtext("a:updated", namespaces=ns) for e in entries)
    assert updated == sorted(stamps.values())
    assert feed.findtext("a:updated", namespaces=ns) == max(stamps.values())
    assert "1970" not in response.text and "2026-01-01" not in response.text


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2026-01-01", "2026-12-31", {YEAR_ONLY}),  # the whole year: the year-only paper
        ("2026-01-01", "2026-01-31", set()),  # January is not known for it
        ("2026-01-01", "2026-01-01", set()),  # nor 1 January
        ("2022-03-01", "2022-03-31", {MONTH_ONLY}),
        ("2022-02-01", "2022-04-30", {MONTH_ONLY}),  # months around it
        ("2022-03-01", "2022-03-01", set()),  # a day of it: not known
        ("2022-03-01", "2022-03-07", set()),  # a week: not known
        ("2021-12-01", "2022-02-28", set()),  # months before it (and the year 2022 sorts here)
        ("2022-01-01", "2022-12-31", {MONTH_ONLY}),
    ],
)
def test_feed_periods_list_a_coarse_paper_only_when_its_period_is_inside(db, start, end, expected):
    with SQLiteStore(db) as store:
        found, total = Browse(store).papers_between(start, end, sort="newest")
    assert {p.id for _, p in found} == expected and total == len(expected)


def test_feed_days_skip_coarse_dates(db):
    with SQLiteStore(db) as store:
        browse = Browse(store)
        assert browse.latest_day() is None and browse.earliest_day() is None
        assert browse.nearest_days("2024-06-01") == (None, None)


def test_cli_show_prints_the_known_precision(db):
    env = {**os.environ, "COLUMNS": "200"}
    out = subprocess.run(
        [sys.executable, "-m", "paperscope", "show", MONTH_ONLY, "--db", str(db)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    published = [line.split() for line in out.splitlines() if line.strip().startswith("published")]
    assert published == [["published", "Mar", "2022"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("year:2026", {YEAR_ONLY}),
        ("after:2026-01-01 before:2026-01-31", set()),  # "2026" is not January 2026
        ("after:2026-01-01", {YEAR_ONLY}),
        ("before:2026-06-30", {MONTH_ONLY}),  # nor the first half of 2026
        ("year:2022", {MONTH_ONLY}),
        ("after:2022-03-01 before:2022-03-31", {MONTH_ONLY}),
        ("after:2022-03-02 before:2022-12-31", set()),  # "Mar 2022" may be March 1st
        ("before:2022-03-15", set()),
    ],
)
def test_date_filters_match_a_coarse_date_only_when_all_of_it_is_inside(db, query, expected):
    with client_for(db) as client:
        body = client.get("/api/v1/search", params={"q": query, "mode": "lexical"}).json()
    assert {hit["id"] for hit in body["results"]} == expected
    assert body["total"] == len(expected)
