"""The JSON API, the Atom feeds, the downloads, OpenSearch and /docs, through FastAPI's
TestClient on the sample store: every route, its shapes, its limits and its errors."""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from lxml import etree
from typer.testing import CliRunner

from conftest import XSS_AUTHOR, XSS_TITLE
from paperscope.model import Author, Paper
from paperscope.serve.cli import app as cli_app
from paperscope.store.authors import AuthorDirectory
from paperscope.store.backends import open_store
from webtools import client_for

ATOM = "{http://www.w3.org/2005/Atom}"
CONTRACT = {"id", "title", "authors", "date", "categories", "score"}
DOI = "10.5555/paperscope.test/42"


def with_doi_paper(db) -> None:
    """A paper known only by a DOI (its id has slashes) added to the store at `db`."""
    paper = Paper(
        title="Graph neural networks for citation recommendation with transformers",
        abstract="We recommend citations with graph neural networks and transformer encoders.",
        authors=[Author("Ada Lovelace"), Author("Charles Babbage")],
        categories=["cs.LG"],
        published="2026-02-25",
        doi=DOI,
        links={"doi": f"https://doi.org/{DOI}"},
    )
    with open_store(db) as store:
        store.write_batch([paper], origin="test")


def cli_ids(db, *args: str) -> list[str]:
    result = CliRunner().invoke(cli_app, ["search", *args, "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    return [hit["id"] for hit in json.loads(result.stdout)]


def api_error(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()["error"]
    assert body["status"] == status and body["message"]
    return body


# ------------------------------------------------------------------------------ search


@pytest.mark.parametrize("mode", ["hybrid", "lexical", "semantic"])
def test_search_matches_the_cli(client, sample_db, mode) -> None:
    response = client.get("/api/v1/search", params={"q": "transformer", "limit": 10, "mode": mode})
    assert response.status_code == 200
    body = response.json()
    assert body["results"] and body["total"] >= len(body["results"])
    for hit in body["results"]:
        assert set(hit) >= CONTRACT
        assert isinstance(hit["authors"], list) and isinstance(hit["score"], float)
    api_ids = [hit["id"] for hit in body["results"]]
    assert api_ids == cli_ids(sample_db, "transformer", "--limit", "10", "--mode", mode)


def test_search_pages_follow_next(client, sample_db) -> None:
    first = client.get("/api/v1/search", params={"q": "learning", "limit": 5}).json()
    assert first["limit"] == 5 and first["offset"] == 0 and first["total"] > 10
    assert first["next"]
    parts = urlsplit(first["next"])
    second = client.get(parts.path + "?" + parts.query).json()
    assert second["offset"] == 5
    ids = [h["id"] for h in first["results"] + second["results"]]
    assert len(set(ids)) == 10
    assert ids == cli_ids(sample_db, "learning", "--limit", "10")
    # hybrid totals count the fused candidates; lexical totals are exact, so its last page ends
    lexical = client.get("/api/v1/search", params={"q": "learning", "mode": "lexical"}).json()
    last = client.get(
        "/api/v1/search",
        params={"q": "learning", "limit": 5, "offset": lexical["total"] - 1, "mode": "lexical"},
    ).json()
    assert len(last["results"]) == 1 and last["next"] is None


def test_search_hits_carry_snippet_url_and_counts(client) -> None:
    hit = client.get("/api/v1/search", params={"q": "transformer", "limit": 1}).json()["results"][0]
    assert "<mark>" not in (hit["snippet"] or "") and "transformer" in hit["snippet"].lower()
    assert hit["url"].startswith("http://127.0.0.1/paper/")
    assert "upvotes" in hit and "citations" in hit


def test_search_filters_fold_into_the_query(client, sample_db) -> None:
    params = {"q": "learning", "cat": ["cs.CV", "cs.CL"], "from": "2020-01-01", "limit": 20}
    body = client.get("/api/v1/search", params=params).json()
    assert body["query"] == "learning (cat:cs.cv OR cat:cs.cl) submittedDate:[20200101 TO *]"
    assert body["results"]
    for hit in body["results"]:
        assert {"cs.CV", "cs.CL"} & set(hit["categories"])
        assert hit["date"] >= "2020-01-01"
    assert [h["id"] for h in body["results"]] == cli_ids(sample_db, body["query"], "--limit", "20")
    until = client.get("/api/v1/search", params={"q": "learning", "until": "2020-12-31"}).json()
    assert until["results"] and all(h["date"] <= "2020-12-31" for h in until["results"])


def test_search_facets(client) -> None:
    params = {"q": "learning", "mode": "lexical", "facets": "true", "limit": 100}
    body = client.get("/api/v1/search", params=params).json()
    hits = body["results"]
    assert body["total"] == len(hits) > 20  # every match is on this one page
    # the counts, computed again from every hit
    categories = Counter(code for hit in hits for code in hit["categories"])
    years = Counter(hit["date"][:4] for hit in hits if hit["date"])
    assert body["facets"]["categories"] == dict(categories) and len(categories) >= 3
    assert body["facets"]["year"] == dict(years) and len(years) > 3
    assert client.get("/api/v1/search", params={"q": "learning"}).json()["facets"] is None


def test_search_malformed_query_is_400_with_position_when_strict(client) -> None:
    params = {"q": "graph AND (neural", "strict": "true"}
    body = api_error(client.get("/api/v1/search", params=params), 400)
    assert body["position"] == 10 and "parenthesis" in body["message"]
    body = api_error(client.get("/api/v1/search", params={"q": "x" * 501}), 400)
    assert "500" in body["message"] and body["position"] == 500


def test_search_reads_any_text_with_a_notice(client) -> None:
    # not strict (the default): the same text is searched as plain words, and `notice` says so
    body = client.get("/api/v1/search", params={"q": "graph AND (neural"}).json()
    assert body["results"] and "parenthesis" in body["notice"]
    assert body["notice"].startswith("searched as text")
    plain = client.get("/api/v1/search", params={"q": "graph neural"}).json()
    assert plain["notice"] is None
    assert [h["id"] for h in body["results"]] == [h["id"] for h in plain["results"]]
    # with filters folded in, the notice still speaks of the typed text
    params = {"q": "excess: learning", "cat": "cs.LG"}
    body = client.get("/api/v1/search", params=params).json()
    assert "unknown field 'excess:'" in body["notice"]


@pytest.mark.parametrize(
    "text",
    [
        # typed alone: "-survey" excludes ("al.)" is not written punctuation once read)
        "contrastive learning for medical image segmentation with very few labels (see Chen"
        " et al.) -survey",
        # typed alone: pasted text, "-C." is a word; the URL is a word with a colon
        "Our code is at https://github.com/a/b and evaluated on ImageNet-A, -C.",
        "We find that the model does NOT generalize to unseen domains, contrary to prior claims.",
        "a study of Erd\\H",
        "cooling to -5 kelvin",
        # an exclusion of a word that starts with a digit or a symbol stays one
        "point cloud NOT 3D",
        "Erd\\H {o}s and Stra\\ss OR x",
    ],
)
def test_folded_filters_keep_the_reading_of_the_text(text) -> None:
    # the API folds cat/from/until into the query's canonical text and reads it again
    from datetime import date

    from paperscope.rank import query as q
    from paperscope.serve.web.api import compose_query

    node = q.parse_query(text).node
    composed = compose_query(text, ["cs.LG"], date(2023, 1, 1), None, strict=False)
    items = node.items if isinstance(node, q.And) else (node,)
    filters = (q.Category("cs.lg", False), q.DateRange(date(2023, 1, 1), None))
    assert q.parse_query(composed).node == q.And((*items, *filters))


def test_a_pasted_sentence_keeps_its_dashed_words_with_filters_folded_in(client) -> None:
    # "-C," and "-R." in prose are words; the date filter is added to the query as a field and
    # still applies when the composed query is read again
    text = (
        "For more than a decade, researchers have measured progress in object recognition on "
        "ImageNet-based generalization benchmarks such as ImageNet-A, -C, and -R."
    )
    title = "Does Progress On Object Recognition Benchmarks Improve Real-World Generalization?"
    for params in ({"q": text}, {"q": text, "from": "2023-07-01", "until": "2023-07-31"}):
        body = client.get("/api/v1/search", params=params).json()
        assert body["results"][0]["title"] == title
        notice = "searched as text: a sentence, where -C, -R are words, not operators"
        assert body["notice"] == notice
    late = client.get("/api/v1/search", params={"q": text, "from": "2023-08-01"}).json()
    assert title not in [h["title"] for h in late["results"]]


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 101},
        {"limit": 0},
        {"offset": -1},
        {"mode": "fuzzy"},
        {"sort": "random"},
        {"from": "2024-13-01"},
        {"from": "2025-01-01", "until": "2024-01-01"},
        {"cat": "cs.LG) OR (x"},
        {"facets": "maybe"},
        {"limit": "ten"},
    ],
)
def test_search_bad_parameters_are_422(client, params) -> None:
    api_error(client.get("/api/v1/search", params={"q": "learning", **params}), 422)


@pytest.mark.parametrize("typed", ["2020", "20200101", "2024-13-01", "yesterday"])
def test_a_bad_date_says_what_to_type(client, typed) -> None:
    # pydantic reads 2020 and 20200101 as Unix timestamps: "should have zero time"
    error = api_error(client.get("/api/v1/search", params={"q": "x", "from": typed}), 422)
    assert error["message"] == f"bad parameter: from: expected a date as YYYY-MM-DD, got {typed!r}"


def test_search_without_query_is_422(client) -> None:
    api_error(client.get("/api/v1/search"), 422)
    api_error(client.get("/api/v1/search", params={"q": ""}), 422)


def test_page_size_follows_settings(sample_db) -> None:
    with client_for(sample_db, max_page_size=3, page_size=2) as small:
        assert len(small.get("/api/v1/search", params={"q": "learning"}).json()["results"]) == 2
        api_error(small.get("/api/v1/search", params={"q": "learning", "limit": 4}), 422)
    with client_for(sample_db, max_query_length=10) as short:
        api_error(short.get("/api/v1/search", params={"q": "a" * 11}), 400)
        assert short.get("/api/v1/search", params={"q": "a" * 10}).status_code == 200


def test_hostile_paper_is_plain_json(client) -> None:
    response = client.get("/api/v1/search", params={"q": "script tag attribute", "limit": 5})
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-content-type-options"] == "nosniff"
    hits = {h["id"]: h for h in response.json()["results"]}
    assert hits["2611.00001"]["title"] == XSS_TITLE
    assert hits["2611.00001"]["authors"][0] == XSS_AUTHOR


# ------------------------------------------------------------------------------ papers


def test_paper_full_record(client) -> None:
    body = client.get("/api/v1/paper/2611.00001").json()
    assert body["id"] == "2611.00001" and body["title"] == XSS_TITLE
    assert body["authors"][0]["name"] == XSS_AUTHOR
    assert body["url"] == "http://127.0.0.1/paper/2611.00001"
    assert body["merged_from"] and body["merged_from"][0]["source"]
    for key in ("abstract", "categories", "published", "links", "sources", "external_ids"):
        assert key in body
    # versions and URLs resolve to the same paper
    assert client.get("/api/v1/paper/2611.00001v2").json()["id"] == "2611.00001"


def test_paper_unknown_is_404_json(client) -> None:
    body = api_error(client.get("/api/v1/paper/9999.99999"), 404)
    assert "9999.99999" in body["message"]
    api_error(client.get("/api/v1/paper/9999.99999/similar"), 404)


def test_similar_papers(client, sample_db) -> None:
    body = client.get("/api/v1/paper/2611.00001/similar", params={"limit": 3}).json()
    assert body["id"] == "2611.00001" and body["mode"] == "semantic"
    ids = [h["id"] for h in body["results"]]
    assert len(ids) == 3 and "2611.00001" not in ids
    assert all(set(h) >= CONTRACT for h in body["results"])
    result = CliRunner().invoke(
        cli_app, ["similar", "2611.00001", "--db", str(sample_db), "-n", "3", "--json"]
    )
    assert ids == [h["id"] for h in json.loads(result.stdout)]
    too_many = api_error(client.get("/api/v1/paper/2611.00001/similar", params={"limit": 101}), 422)
    # similar papers come in one list: no advice to page with an offset it does not take
    assert too_many["message"] == "limit must be between 1 and 100"
    assert "offset" not in json.dumps(too_many)
    paged = api_error(client.get("/api/v1/search", params={"q": "x", "limit": 101}), 422)
    assert paged["message"] == "limit must be between 1 and 100"
    api_error(client.get("/api/v1/paper/2611.00001/similar", params={"mode": "x"}), 422)


def test_doi_ids_with_slashes(store_any) -> None:
    with_doi_paper(store_any)
    with client_for(store_any) as c:
        body = c.get(f"/api/v1/paper/{DOI}").json()
        assert body["id"] == DOI and body["doi"] == DOI
        assert body["url"] == "http://127.0.0.1/paper/10.5555%2Fpaperscope.test%2F42"
        similar = c.get(f"/api/v1/paper/{DOI}/similar", params={"mode": "lexical"}).json()
        assert similar["id"] == DOI and similar["results"]
        assert DOI not in [h["id"] for h in similar["results"]]
        bib = c.get(f"/paper/{DOI}.bib")
        assert bib.status_code == 200 and "doi = {10.5555/paperscope.test/42}" in bib.text
        disposition = bib.headers["content-disposition"]
        assert disposition == 'attachment; filename="10.5555_paperscope.test_42.bib"'
        assert c.get(f"/paper/{DOI}.json").json()[0]["doi"] == DOI


# ------------------------------------------------------------------------------ authors


def some_author(db) -> tuple[str, str]:
    with open_store(db) as store:
        directory = AuthorDirectory(store)
        directory.ensure()
        rowid = store.resolve("2611.00002")
        slug = directory.slugs_for_paper(rowid)[0]
        return slug, directory.profile(slug).name


def test_author_profile(client, sample_db) -> None:
    slug, name = some_author(sample_db)
    body = client.get(f"/api/v1/author/{slug}").json()
    assert body["slug"] == slug and body["name"] == name
    assert "2611.00002" in [h["id"] for h in body["results"]]
    assert body["total"] == len(body["results"]) and body["next"] is None
    assert body["variants"] and body["variants"][0]["papers"] >= 1
    coauthors = {c["name"]: c for c in body["coauthors"]}
    assert coauthors and all(
        c["url"].startswith("http://127.0.0.1/author/") for c in coauthors.values()
    )
    dates = [h["date"] for h in body["results"]]
    assert dates == sorted(dates, reverse=True)


def test_author_pages_and_404(client, sample_db) -> None:
    with open_store(sample_db) as store:
        directory = AuthorDirectory(store)
        directory.ensure()
        busy = max(directory.list(limit=500), key=lambda a: a.papers)
    assert busy.papers >= 3
    first = client.get(f"/api/v1/author/{busy.slug}", params={"limit": 2}).json()
    assert first["total"] == busy.papers and len(first["results"]) == 2 and first["next"]
    api_error(client.get("/api/v1/author/no-such-person-anywhere"), 404)
    api_error(client.get(f"/api/v1/author/{busy.slug}", params={"limit": 1000}), 422)


# ------------------------------------------------------------------------------ feed


def test_feed_day_week_month_agree_with_feedviews(client, sample_db) -> None:
    from paperscope.serve.web.feedviews import feed_page

    latest = client.get("/api/v1/feed").json()
    assert latest["kind"] == "day" and latest["total"] >= 1
    day = latest["key"]
    again = client.get("/api/v1/feed", params={"date": day}).json()
    assert [h["id"] for h in again["results"]] == [h["id"] for h in latest["results"]]
    hf_day = client.get("/api/v1/feed", params={"date": "2026-02-24", "limit": 10}).json()
    assert hf_day["total"] >= 10 and len(hf_day["results"]) == 10 and hf_day["next"]
    with client_for(sample_db) as other:
        site = other.app.state.site
        view = feed_page(site, "day", "2026-02-24", "trending", None, 10, 0)
    assert [h["id"] for h in hf_day["results"]] == [p.id for _, p in view.papers]
    week = client.get("/api/v1/feed/week/2026-W09", params={"sort": "newest"}).json()
    assert week["kind"] == "week" and week["total"] >= hf_day["total"]
    month = client.get("/api/v1/feed/month/2026-02").json()
    assert month["kind"] == "month" and month["total"] >= week["total"]
    cat = client.get("/api/v1/feed/month/2026-02", params={"cat": "cs.CV"}).json()
    assert all("cs.CV" in h["categories"] for h in cat["results"])


def test_feed_empty_day_points_to_a_day_with_papers(client) -> None:
    body = client.get("/api/v1/feed", params={"date": "2026-02-28"}).json()  # a Saturday
    assert body["total"] == 0 and body["results"] == []
    assert body["nearest_day"]
    assert client.get("/api/v1/feed", params={"date": body["nearest_day"]}).json()["total"] > 0


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/feed?date=2026-02-30",
        "/api/v1/feed?date=yesterday",
        "/api/v1/feed/week/2026-W60",
        "/api/v1/feed/month/2026-13",
        "/api/v1/feed?sort=loudest",
        "/api/v1/feed?limit=101",
    ],
)
def test_feed_bad_parameters_are_422(client, url) -> None:
    api_error(client.get(url), 422)


# ------------------------------------------------------------------------------ category


def test_category(client) -> None:
    body = client.get("/api/v1/category/cs.CV", params={"limit": 2}).json()
    assert body["code"] == "cs.CV" and body["total"] >= 5 and len(body["results"]) == 2
    assert body["next"]
    assert all("cs.CV" in h["categories"] for h in body["results"])
    dates = [h["date"] for h in body["results"]]
    assert dates == sorted(dates, reverse=True)
    assert body["top_authors"] and body["top_authors"][0]["papers"] >= 1
    api_error(client.get("/api/v1/category/xx.NOPE"), 404)


def test_category_in_another_case_is_the_same_category(client) -> None:
    # the papers matched in any case, but top authors were looked up as typed: none
    exact = client.get("/api/v1/category/cs.CV").json()
    for code in ("cs.cv", "CS.CV"):
        body = client.get(f"/api/v1/category/{code}").json()
        assert body["code"] == "cs.CV" and body["total"] == exact["total"]
        assert body["top_authors"] == exact["top_authors"] != []
        past = client.get(f"/api/v1/category/{code}", params={"offset": 500}).json()
        assert past["code"] == "cs.CV" and past["top_authors"] == exact["top_authors"]
    page = client.get("/cat/cs.cv").text
    assert '<h1 id="cat-title">cs.CV</h1>' in page and "none yet" not in page


# ------------------------------------------------------------------------------ OpenAPI and /docs


API_ROUTES = {
    ("get", "/api/v1/search"),
    ("get", "/api/v1/paper/{ident}"),
    ("get", "/api/v1/paper/{ident}/similar"),
    ("get", "/api/v1/author/{slug}"),
    ("get", "/api/v1/feed"),
    ("get", "/api/v1/feed/week/{week}"),
    ("get", "/api/v1/feed/month/{month}"),
    ("get", "/api/v1/category/{code}"),
}
EXPORT_ROUTES = {
    "/feed.atom",
    "/search.atom",
    "/author/{slug}.atom",
    "/cat/{code}.atom",
    "/search.bib",
    "/search.csv",
    "/search.json",
    "/paper/{ident}.bib",
    "/paper/{ident}.csv",
    "/paper/{ident}.json",
    "/opensearch.xml",
}


def test_openapi_documents_every_route(client) -> None:
    spec = client.get("/openapi.json").json()
    listed = {(m, p) for p, item in spec["paths"].items() for m in item}
    assert listed >= API_ROUTES
    assert set(spec["paths"]) >= EXPORT_ROUTES
    for method, path in API_ROUTES:
        op = spec["paths"][path][method]
        assert op["summary"] and op["tags"]
        assert {"200", "404", "422"} <= set(op["responses"])
        assert "$ref" in op["responses"]["200"]["content"]["application/json"]["schema"]
    schemas = spec["components"]["schemas"]
    assert set(schemas["SearchHit"]["properties"]) >= CONTRACT
    assert {"results", "total", "next"} <= set(schemas["SearchResponse"]["properties"])


def test_docs_page_lists_routes_and_loads_nothing_from_elsewhere(client) -> None:
    response = client.get("/docs")
    assert response.status_code == 200 and "text/html" in response.headers["content-type"]
    page = response.text
    for _, path in API_ROUTES:
        assert f"<code>{path}</code>" in page
    for path in EXPORT_ROUTES:
        assert f"<code>{path}</code>" in page
    assert "SearchHit" in page and "Retry-After" in page
    hosts = {urlsplit(url).netloc for url in re.findall(r"https?://[^\s\"'<>]+", page)}
    assert hosts <= {"127.0.0.1"}, hosts
    assert "<script>" not in page and "style=" not in page


# ------------------------------------------------------------------------------ Atom


def parse_atom(response) -> etree._Element:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/atom+xml")
    root = etree.fromstring(response.content)
    assert root.tag == f"{ATOM}feed"
    return root


def test_feed_atom_latest_and_given_day(client) -> None:
    latest = parse_atom(client.get("/feed.atom"))
    entries = latest.findall(f"{ATOM}entry")
    titles = [e.findtext(f"{ATOM}title") for e in entries]
    assert XSS_TITLE in titles  # the hostile papers are the newest day
    raw = client.get("/feed.atom").content
    assert b"<script>" not in raw and b"&lt;script&gt;" in raw and b"<img" not in raw
    day = parse_atom(client.get("/feed.atom", params={"date": "2026-02-24"}))
    assert len(day.findall(f"{ATOM}entry")) >= 10
    assert day.find(f"{ATOM}link[@rel='self']").get("href").endswith("/feed.atom?date=2026-02-24")
    assert client.get("/feed.atom", params={"date": "bad"}).status_code == 400


def test_feed_atom_of_a_category_links_the_page_of_that_category(client) -> None:
    """The feed of `?cat=cs.CV` linked "/" as its page, which shows other papers; and a page
    filtered by a category offered the unfiltered feed to subscribe to."""
    feed = parse_atom(client.get("/feed.atom", params={"cat": "cs.CV"}))
    assert feed.find(f"{ATOM}link[@rel='alternate']").get("href").endswith("/?cat=cs.CV")
    day = parse_atom(client.get("/feed.atom", params={"cat": "cs.CV", "date": "2025-10-16"}))
    alternate = day.find(f"{ATOM}link[@rel='alternate']").get("href")
    assert alternate.endswith("/?date=2025-10-16&cat=cs.CV")
    assert feed.findall(f"{ATOM}entry") and len(feed.findall(f"{ATOM}entry")) == len(
        day.findall(f"{ATOM}entry")
    )  # without a date: cs.CV's newest day, not the store's
    page = client.get("/", params={"cat": "cs.CV"}).text
    assert 'type="application/atom+xml" title="paperscope daily feed: cs.CV"' in page
    assert 'href="/feed.atom?cat=cs.CV"' in page


def test_an_empty_atom_feed_is_dated_now_not_1970(client) -> None:
    feed = parse_atom(client.get("/search.atom", params={"q": "zzyzxnotaword"}))
    assert feed.findall(f"{ATOM}entry") == []
    updated = datetime.fromisoformat(feed.findtext(f"{ATOM}updated"))
    assert abs((datetime.now(UTC) - updated).total_seconds()) < 600


def test_search_author_category_atom(client, sample_db) -> None:
    search = parse_atom(client.get("/search.atom", params={"q": "transformer"}))
    assert search.findtext(f"{ATOM}title") == "paperscope search: transformer"
    dates = [e.findtext(f"{ATOM}published") for e in search.findall(f"{ATOM}entry")]
    assert dates and dates == sorted(dates, reverse=True)
    slug, name = some_author(sample_db)
    author = parse_atom(client.get(f"/author/{slug}.atom"))
    assert author.findtext(f"{ATOM}title") == f"paperscope: {name}"
    assert author.findall(f"{ATOM}entry")
    cat = parse_atom(client.get("/cat/cs.CV.atom"))
    terms = [
        {c.get("term") for c in e.findall(f"{ATOM}category")} for e in cat.findall(f"{ATOM}entry")
    ]
    assert terms and all("cs.CV" in t for t in terms)
    assert client.get("/cat/xx.NOPE.atom").status_code == 404
    assert client.get("/author/no-such-person-anywhere.atom").status_code == 404
    assert client.get("/search.atom", params={"q": "a AND (b"}).status_code == 400


# ------------------------------------------------------------------------------ downloads


def test_search_downloads(client) -> None:
    ids = [
        h["id"]
        for h in client.get("/api/v1/search", params={"q": "transformer", "limit": 7}).json()[
            "results"
        ]
    ]
    bib = client.get("/search.bib", params={"q": "transformer", "limit": 7})
    assert bib.headers["content-type"].startswith("application/x-bibtex")
    assert bib.headers["content-disposition"] == (
        'attachment; filename="paperscope-search-transformer.bib"'
    )
    assert bib.text.count("\n@") + bib.text.startswith("@") == 7
    rows = list(
        csv.DictReader(
            io.StringIO(client.get("/search.csv", params={"q": "transformer", "limit": 7}).text)
        )
    )
    assert [r["id"] for r in rows] == ids
    records = client.get("/search.json", params={"q": "transformer", "limit": 7}).json()
    assert [r["id"] for r in records] == ids and "abstract" in records[0]
    default = client.get("/search.json", params={"q": "learning"}).json()
    assert len(default) == 100  # max_page_size unless a limit is given
    # more than max_page_size when asked: a query matching more than 150 of the 170 papers
    # ("learning" matches 120 since hybrid counts only papers above the semantic floor)
    every = {"q": "after:2000-01-01", "limit": 150}
    assert len(client.get("/search.json", params=every).json()) == 150
    assert client.get("/search.csv", params={"q": "x", "limit": 1001}).status_code == 422
    assert client.get("/search.bib", params={"q": "a AND (b"}).status_code == 400
    odd = client.get("/search.csv", params={"q": 'ti:"a/b" <x>'})
    assert odd.headers["content-disposition"] == (
        'attachment; filename="paperscope-search-ti_a_b_x.csv"'
    )


def test_search_downloads_take_filters_alone_as_the_api_does(client) -> None:
    # docs/api.md: "same parameters as the API search", where q may be empty with filters
    params = {"cat": "cs.CV", "limit": 100}
    api = client.get("/api/v1/search", params={**params, "q": ""}).json()
    assert api["total"] > 0
    records = client.get("/search.json", params=params)
    assert records.status_code == 200, records.text[:300]
    assert [r["id"] for r in records.json()] == [h["id"] for h in api["results"]]
    assert 'filename="paperscope-search-filtered.json"' in records.headers["content-disposition"]
    assert client.get("/search.bib", params={"q": " "}).status_code == 400
    assert client.get("/search.csv").status_code == 400


def test_paper_downloads_escape_hostile_text(client) -> None:
    bib = client.get("/paper/2611.00002.bib")
    assert bib.status_code == 200
    assert r"Injection \& " in bib.text
    assert bib.headers["content-disposition"] == 'attachment; filename="2611.00002.bib"'
    rows = list(csv.DictReader(io.StringIO(client.get("/paper/2611.00001.csv").text)))
    assert rows[0]["title"] == XSS_TITLE and rows[0]["authors"].startswith(XSS_AUTHOR)
    record = client.get("/paper/2611.00001.json").json()
    assert record[0]["title"] == XSS_TITLE
    assert client.get("/paper/9999.99999.bib").status_code == 404


def test_opensearch(client) -> None:
    response = client.get("/opensearch.xml")
    assert response.headers["content-type"].startswith("application/opensearchdescription+xml")
    root = etree.fromstring(response.content)
    ns = "{http://a9.com/-/spec/opensearch/1.1/}"
    templates = {u.get("type"): u.get("template") for u in root.findall(f"{ns}Url")}
    assert templates["text/html"] == "http://127.0.0.1/search?q={searchTerms}"
    assert templates["application/atom+xml"] == "http://127.0.0.1/search.atom?q={searchTerms}"


def test_links_use_the_configured_base_url(sample_db) -> None:
    with client_for(sample_db, base_url="https://papers.example.org") as c:
        hit = c.get("/api/v1/search", params={"q": "transformer", "limit": 1}).json()
        assert hit["results"][0]["url"].startswith("https://papers.example.org/paper/")
        assert hit["next"].startswith("https://papers.example.org/api/v1/search?")
        assert (
            b"https://papers.example.org/search?q={searchTerms}" in c.get("/opensearch.xml").content
        )


def test_unknown_api_path_is_404_json(client) -> None:
    body = api_error(client.get("/api/v1/nothing-here"), 404)
    assert body["message"] == "no such page"
    api_error(client.get("/api/v2/search", params={"q": "x"}), 404)


def test_next_link_keeps_repeated_filters(client) -> None:
    params = {"q": "learning", "cat": ["cs.LG", "cs.CV"], "limit": 2, "mode": "lexical"}
    body = client.get("/api/v1/search", params=params).json()
    assert body["total"] > 2 and body["next"]
    assert "cat=cs.LG" in body["next"] and "cat=cs.CV" in body["next"]
    parts = urlsplit(body["next"])
    second = client.get(parts.path + "?" + parts.query).json()
    assert second["query"] == body["query"] and second["offset"] == 2


def test_trending_sort_is_accepted(client) -> None:
    body = client.get("/api/v1/search", params={"q": "learning", "sort": "trending"}).json()
    assert body["sort"] == "trending" and body["results"]
