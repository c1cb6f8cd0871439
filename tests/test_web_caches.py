"""The per-process caches behind the pages (bench/web_load.py) show what the store holds now:
a write by another process, an upvote through the app's own connection or a deleted paper
appear on the next request, not after the cache happens to expire."""

from __future__ import annotations

import re

import numpy as np

from paperscope.model import Author, Paper
from paperscope.rank.search import SearchEngine
from paperscope.store.accounts import Accounts
from paperscope.store.browse import Browse
from paperscope.store.library import Library
from paperscope.store.sqlite import SQLiteStore
from webtools import client_for

PROBE_TITLE = "Cache probe: a paper written after the page was read"


def _latest_day(db) -> str:
    with SQLiteStore(db) as store:
        return Browse(store).latest_day()


def test_feed_page_shows_a_paper_another_process_wrote(store_copy):
    day = _latest_day(store_copy)
    with client_for(store_copy) as client:
        for path in (f"/?date={day}&sort=newest", f"/?date={day}", f"/api/v1/feed?date={day}"):
            assert PROBE_TITLE not in client.get(path).text
        probe = Paper(
            title=PROBE_TITLE,
            abstract="A probe for the feed caches.",
            authors=[Author("Casey Probe")],
            categories=["cs.LG"],
            published=day,
            arxiv_id="2999.00001",
        )
        with SQLiteStore(store_copy) as other:
            other.write_batch([probe], origin="test")
        for path in (f"/?date={day}&sort=newest", f"/?date={day}", f"/api/v1/feed?date={day}"):
            assert PROBE_TITLE in client.get(path).text, path


def test_feed_page_shows_an_upvote_made_through_the_same_connection(store_copy):
    day = _latest_day(store_copy)
    with client_for(store_copy) as client:
        path = f"/?date={day}&sort=newest"
        before = client.get(path).text
        store = client.app.state.site.store  # the connection the pages read through
        (rowid, paper), *_ = Browse(store).papers_between(day, day, sort="newest", limit=1)[0]
        votes = (paper.upvotes or 0) + Browse(store).upvote_counts([rowid]).get(rowid, 0)
        user = Accounts(store).add("voter@example.org", None)
        Library(store).upvote(user.id, rowid)
        after = client.get(path).text
    assert _votes_shown(before, paper.id) == votes  # the reader's list shows "0 here" too
    assert _votes_shown(after, paper.id) == votes + 1


def _votes_shown(html: str, ident: str) -> int | None:
    """The upvotes shown beside the listed paper `ident`: the local count ("N here") plus the
    source's ("M on Hugging Face"); None when it shows neither."""
    item = next(i for i in html.split('<li class="paper">') if f'href="/paper/{ident}"' in i)
    item = item.split("</li>", 1)[0]
    local = re.search(r'class="upvote-count">(\d+)</span> here', item)
    source = re.search(r"(\d+) on Hugging Face", item)
    if not local and not source:
        return None
    return sum(int(found.group(1)) for found in (local, source) if found)


def test_paper_page_drops_a_deleted_similar_paper(store_copy):
    with client_for(store_copy) as client:
        with SQLiteStore(store_copy) as store:
            paper = next(p for _, p in store.iter_papers() if p.abstract)
        path = "/paper/" + paper.id
        similar = _similar_ids(client.get(path).text)
        # deletions name arXiv ids
        gone = next(i for i in similar if re.fullmatch(r"\d{4}\.\d{4,5}", i))
        with SQLiteStore(store_copy) as other:
            assert other.write_batch([], origin="test", deletions=[gone]).deleted == 1
        again = _similar_ids(client.get(path).text)
    assert gone not in again
    assert again  # the rest are still shown


def _similar_ids(html: str) -> list[str]:
    section = html.split('id="similar-title"', 1)[1].split("</section>", 1)[0]
    return re.findall(r'<h3 class="title"><a href="/paper/([^"]+)"', section)


def test_query_vectors_are_remembered_read_only_and_equal_to_the_embedders(sample_store):
    with SearchEngine.open(sample_store) as engine:
        first = engine._embed_query("graph neural networks")
        again = engine._embed_query("graph neural networks")
        assert again is first
        assert not first.flags.writeable
        # the query session may run on fewer threads: the same vector up to float rounding
        expected = engine.embedder.embed_query("graph neural networks")
        assert np.allclose(first, expected, atol=1e-5)
        other = engine._embed_query("protein folding")
        assert not np.allclose(other, first, atol=1e-2)


def test_author_pages_show_a_merge_made_by_another_process(store_copy):
    from paperscope.store.authors import AuthorDirectory

    with client_for(store_copy) as client:
        assert client.get("/author/juhua-hu").status_code == 200
        with SQLiteStore(store_copy) as other:
            people = AuthorDirectory(other)
            other_slug = people.profile("juhua-hu").coauthors[0][0].slug  # another person
            assert people.merge(["juhua-hu", other_slug]) == "juhua-hu"
        # a correction moves no paper: the page and the API still see it on the next request
        page = client.get(f"/author/{other_slug}", follow_redirects=False)
        assert page.status_code == 301 and page.headers["location"] == "/author/juhua-hu"
        api = client.get(f"/api/v1/author/{other_slug}")
        assert api.json()["slug"] == "juhua-hu"
