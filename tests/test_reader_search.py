"""What a reader of search results sees (issue 15), from the CLI, the API and the engine:
a total that does not change with the page, facets that agree with what a click gives, "no
papers match" below the semantic floor, an arXiv id or URL that opens the paper, filters
without words, and a store without vectors that says it ranked by words."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from conftest import FORMATS, PAGES
from paperscope.rank.search import SEMANTIC_FLOOR, SearchEngine
from paperscope.serve.cli import app
from webtools import client_for

MODES = ("hybrid", "lexical", "semantic")
NONSENSE = "zzqqxxnonexistentword"
#: A paper of the Hugging Face daily list in the sample store.
ARXIV_ID = "2602.18940"

runner = CliRunner()


def cli(*args: str):
    return runner.invoke(app, list(args))


def found(db, query: str, *args: str) -> dict:
    """`search --facets --json`: results, total, facets (and opened, related)."""
    result = cli("search", query, "--db", str(db), "--facets", "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def api(sample_db):
    with client_for(sample_db) as client:
        yield client


# ------------------------------------------------------------------ totals


@pytest.mark.parametrize("mode", MODES)
def test_total_is_the_same_on_every_page(sample_db, mode):
    first = found(sample_db, "learning", "--mode", mode, "--limit", "5")
    total = first["total"]
    assert total > 10
    for offset in (20, 45):  # pages 5 and 10 of 5
        again = found(
            sample_db, "learning", "--mode", mode, "--limit", "5", "--offset", str(offset)
        )
        assert again["total"] == total
        assert len(again["results"]) == max(0, min(5, total - offset))
    # every page up to the total is full, and the total is how many can be listed
    listed = found(sample_db, "learning", "--mode", mode, "--limit", "1000")
    assert len(listed["results"]) == total
    # past the end: no results and the same total, in words that agree
    beyond = cli("search", "learning", "--db", str(sample_db), "--mode", mode, "--offset", "19960")
    assert beyond.exit_code == 0 and not beyond.stdout.strip()
    assert f"no results at offset 19960: {total} results in all" in beyond.stderr


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("size", [20, 30])
def test_pages_list_every_result_once(sample_db, mode, size):
    # paging past the candidates the first page fuses (100) once repeated one paper and
    # skipped another: each page must be the slice of one order, whatever page asked
    total = found(sample_db, "learning", "--mode", mode, "--limit", "1")["total"]
    assert total > size  # two pages at least
    pages = []
    for offset in range(0, total, size):
        page = found(
            sample_db, "learning", "--mode", mode, "--limit", str(size), "--offset", str(offset)
        )
        pages += [hit["id"] for hit in page["results"]]
    assert len(pages) == len(set(pages)) == total
    whole = found(sample_db, "learning", "--mode", mode, "--limit", "1000")
    assert [hit["id"] for hit in whole["results"]] == pages


@pytest.mark.parametrize("mode", MODES)
def test_api_total_is_the_same_on_every_page(api, mode):
    totals = {
        api.get("/api/v1/search", params={"q": "learning", "mode": mode, "offset": o}).json()[
            "total"
        ]
        for o in (0, 80, 180, 19960)
    }
    assert len(totals) == 1


# ------------------------------------------------------------------ facets


def test_query_messages_quote_the_text_without_raw_control_characters(sample_db):
    """Messages about the query quote it on a terminal: an escape character in it is written
    out (`\\x1b`), never sent raw (a pasted escape sequence could retitle or clear it)."""
    from test_cli import run_cli

    done = run_cli("search", "(\x1b\x07)", "--db", str(sample_db))
    assert done.returncode == 2 and "error: no words to search for" in done.stderr
    assert "\x1b" not in done.stderr and "\x07" not in done.stderr
    assert "hint: '(\\x1b\\x07)' is only punctuation" in done.stderr
    # the parser's messages quote the text too, as a notice and with --strict as the error
    for strict in ((), ("--strict",)):
        done = run_cli("search", "year:2020\x1b", "--db", str(sample_db), *strict)
        assert "\x1b" not in done.stderr, done.stderr
        assert "'2020\\x1b' is not a year or a range" in done.stderr


@pytest.mark.parametrize("mode", MODES)
def test_an_archive_without_its_star_is_the_whole_archive(sample_db, api, mode):
    """`cat:cs` (or "cs" in the page's Category box) matched nothing, since no paper is in a
    category named "cs", while `cat:hep-th` finds an archive without sub-categories: a code
    without a dot is its archive, as `cs.*` is."""
    star = found(sample_db, "learning cat:cs.*", "--mode", mode)
    assert star["total"] > 0
    bare = found(sample_db, "learning cat:cs", "--mode", mode)
    assert bare["total"] == star["total"]
    assert [h["id"] for h in bare["results"]] == [h["id"] for h in star["results"]]
    params = {"q": "learning", "mode": mode, "limit": 100}
    answer = api.get("/api/v1/search", params={**params, "cat": "cs"}).json()
    assert answer["total"] == star["total"]
    html = api.get("/search", params={"q": "learning", "mode": mode, "cat": "CS"}).text
    assert count_line(html).startswith(f"{star['total']} result")
    # a category with a dot is still that category only
    lg = found(sample_db, "learning cat:cs.LG", "--mode", mode)
    assert 0 < lg["total"] <= star["total"]
    assert all("cs.LG" in h["categories"] for h in lg["results"])


def test_an_archive_page_lists_the_archive(sample_db, api):
    everything = found(sample_db, "cat:cs.*", "--limit", "1")["total"]
    page = api.get("/cat/cs")
    assert page.status_code == 200 and f"{everything} papers" in page.text
    assert "none yet" not in page.text  # top authors are counted per category, not archive
    assert api.get("/api/v1/category/cs").json()["total"] == everything


def test_a_query_too_long_for_the_web_says_what_to_do(api):
    """ "query longer than 500 characters" was the whole answer: it now says how long the
    text was and what to do, in the API's error and under the page's box."""
    text = "word " * 120
    error = api.get("/api/v1/search", params={"q": text}).json()["error"]
    assert error["status"] == 400
    assert error["message"] == f"query longer than 500 characters ({len(text)})"
    assert error["hint"].startswith("shorten it")
    page = api.get("/search", params={"q": text})
    assert page.status_code == 400 and "shorten it: a title, a sentence" in page.text


def count_line(html: str) -> str:
    """The search page's count line (`p.count`), as text."""
    import re

    found = re.search(r'<p class="count muted" role="status">(.*?)</p>', html, re.S)
    assert found, html
    return re.sub(r"\s+", " ", found.group(1)).strip()


def test_page_says_which_results_it_shows(api):
    """Page 3 of a search said "N results · hybrid" only, as page 1 did, while the command
    says "11-15 of N results": the page now names the places it lists ("N results · showing
    11–15"), out of the same total as the API's."""
    total = api.get("/api/v1/search", params={"q": "learning", "limit": 5}).json()["total"]
    assert total > 15
    for page, places in ((1, "1–5"), (3, "11–15")):
        html = api.get("/search", params={"q": "learning", "size": 5, "page": page}).text
        assert count_line(html) == f"{total} results · showing {places} · hybrid"
    # one page holds them all: the total alone, as before
    single = api.get("/api/v1/search", params={"q": "normalization", "limit": 100}).json()
    single = single["total"]
    assert 1 < single <= 100
    html = api.get("/search", params={"q": "normalization", "size": 100}).text
    assert count_line(html) == f"{single} results · hybrid"
    # the last, short page
    last = (total - 1) // 5 + 1
    html = api.get("/search", params={"q": "learning", "size": 5, "page": last}).text
    assert count_line(html) == f"{total} results · showing {(last - 1) * 5 + 1}–{total} · hybrid"


@pytest.mark.parametrize("mode", MODES)
def test_a_citation_sort_without_citations_says_so(sample_db, api, mode):
    """Sorted by citations where no result has a count, the list was in an order that meant
    nothing, and nothing said so: a note does (the sample papers carry no citations)."""
    note = "no result has citations on record: sorted by citations, they are in no useful order"
    params = {"q": "learning", "mode": mode, "sort": "citations"}
    answer = api.get("/api/v1/search", params=params).json()
    assert answer["results"] and answer["results"][0]["citations"] is None
    assert any(n.startswith(note) for n in answer["notes"])
    result = cli("search", "learning", "--db", str(sample_db), "--sort", "citations")
    assert f"note: {note}" in result.stderr
    assert note in api.get("/search", params=params).text
    plain = api.get("/api/v1/search", params={"q": "learning", "mode": mode}).json()
    assert not any(n.startswith(note) for n in plain["notes"])


def test_api_page_past_the_end_says_so(api):
    """The command says "no results at offset K: N results in all" and the page "No results
    on page P"; the API answered an empty list with no note, which reads as "nothing
    matches": a note says where the results end."""
    total = api.get("/api/v1/search", params={"q": "learning", "limit": 5}).json()["total"]
    past = api.get(
        "/api/v1/search", params={"q": "learning", "limit": 5, "offset": total + 100}
    ).json()
    assert past["results"] == [] and past["total"] == total
    last = (total - 1) // 5 * 5
    assert (
        f"no results at offset {total + 100}: {total} in all; the last page is offset={last}"
        in (past["notes"])
    )
    listed = api.get("/api/v1/search", params={"q": "learning", "limit": 5, "offset": last})
    assert listed.json()["results"] and not listed.json()["notes"]
    nothing = api.get("/api/v1/search", params={"q": NONSENSE, "mode": "lexical"}).json()
    assert nothing["notes"] == []  # no match at all is not a page past the end


@pytest.mark.parametrize("mode", MODES)
def test_facets_agree_with_the_results_a_click_gives(sample_db, mode):
    body = found(sample_db, "learning", "--mode", mode)
    years, cats = body["facets"]["year"], body["facets"]["categories"]
    assert years and cats
    for year, count in years.items():
        clicked = found(sample_db, f"learning year:{year}", "--mode", mode, "--limit", "100")
        assert clicked["total"] == count == len(clicked["results"]), (mode, year)
    for code, count in cats.items():
        clicked = found(sample_db, f"learning cat:{code}", "--mode", mode, "--limit", "100")
        assert clicked["total"] == count, (mode, code)
    # as documented: each dated paper counted once per year, each paper once per category
    listed = found(sample_db, "learning", "--mode", mode, "--limit", "1000")["results"]
    assert sum(years.values()) == sum(1 for hit in listed if hit["date"])
    assert sum(cats.values()) <= sum(len(hit["categories"]) for hit in listed)


def test_api_facet_click_gives_the_count(api):
    body = api.get("/api/v1/search", params={"q": "learning", "facets": "true"}).json()
    year, count = next(iter(body["facets"]["year"].items()))
    clicked = api.get(
        "/api/v1/search",
        params={"q": "learning", "from": f"{year}-01-01", "until": f"{year}-12-31"},
    ).json()
    assert clicked["total"] == count


@pytest.mark.parametrize("mode", MODES)
def test_page_year_click_within_the_dates_gives_the_count(api, mode):
    """Under a From date inside a year, that year's facet counts the papers after it, but its
    link asked for the whole year: "2023 14" gave 24. The link keeps the page's dates."""
    import html as htmllib
    import re

    years = api.get(
        "/api/v1/search", params={"q": "learning", "mode": mode, "facets": "true"}
    ).json()["facets"]["year"]
    year = max(years, key=lambda y: years[y])  # the year most likely split by a mid-year date
    params = {"q": "learning", "mode": mode, "from": f"{year}-07-01", "until": "2099-12-31"}
    page = api.get("/search", params=params).text
    link = re.search(rf'<a href="([^"]+)">{year}</a> <span class="muted">(\d+)</span>', page)
    assert link, page
    url, shown = htmllib.unescape(link.group(1)), int(link.group(2))
    assert f"from={year}-07-01" in url and f"until={year}-12-31" in url
    clicked = api.get(url).text
    assert count_line(clicked).startswith(f"{shown} result")


# ------------------------------------------------------------------ the semantic floor


@pytest.mark.parametrize("mode", ["hybrid", "semantic"])
def test_nonsense_matches_nothing(sample_db, mode):
    result = cli("search", NONSENSE, "--db", str(sample_db), "--mode", mode)
    assert result.exit_code == 0
    assert f"no papers match {NONSENSE!r}" in result.stderr
    body = found(sample_db, NONSENSE, "--mode", mode)
    assert body["results"] == [] and body["total"] == 0
    assert body["facets"]["year"] == {} and body["facets"]["categories"] == {}
    # the nearest papers only as "related", all below the floor
    assert 0 < len(body["related"]) <= 5
    assert all(hit["score"] < SEMANTIC_FLOOR for hit in body["related"])


def test_nonsense_from_the_command_line(sample_db):
    """The real `paperscope` command, as the issue ran it."""
    done = subprocess.run(
        [sys.executable, "-m", "paperscope", "search", NONSENSE, "--db", str(sample_db)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert f"no papers match {NONSENSE!r} (hybrid)" in done.stderr
    # the related papers are not results: their table goes to stderr (docs/search.md), so
    # `search ... | wc -l` counts none
    assert done.stdout == ""
    assert "related (nearest by meaning" in done.stderr and " id " in done.stderr


@pytest.mark.parametrize("text", ["(", "NOT", "\U0001f600", '"', "OR AND"])
def test_text_without_words_is_not_called_empty(sample_db, api, text):
    """Text with no word in it ("(", an emoji, a lone operator) was answered "error: empty
    query", which tells a reader who typed something that the box was empty; the answer names
    what is missing and what to type, on the command line, the API and the page alike."""
    from test_cli import run_cli

    done = run_cli("search", text, "--db", str(sample_db))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "error: no words to search for at position 0" in done.stderr
    assert f"hint: '{text}' is only punctuation, symbols or operators" in done.stderr
    assert "empty query" not in done.stderr
    error = api.get("/api/v1/search", params={"q": text}).json()["error"]
    assert error["status"] == 400 and error["message"].startswith("no words to search for")
    assert "type some words" in error["hint"]
    page = api.get("/search", params={"q": text})
    assert page.status_code == 400 and "no words to search for" in page.text
    assert "empty query" not in page.text
    # blank text is still an empty query
    assert "error: empty query" in run_cli("search", "   ", "--db", str(sample_db)).stderr


def test_api_says_no_match_and_offers_related(api):
    body = api.get("/api/v1/search", params={"q": NONSENSE}).json()
    assert body["total"] == 0 and body["results"] == [] and body["next"] is None
    assert body["related"] and all(h["score"] < SEMANTIC_FLOOR for h in body["related"])


def test_real_queries_keep_their_matches(sample_db):
    with SearchEngine.open(sample_db) as engine:
        for text in ("global normalization", "clustering", "hyperspherical energy"):
            result = engine.search(text, mode="semantic", limit=5)
            assert result.total >= 1 and result.hits and not result.related, text


# ------------------------------------------------------------------ ids and filters


@pytest.mark.parametrize(
    "text",
    [
        ARXIV_ID,
        f"{ARXIV_ID}v2",
        f"arXiv:{ARXIV_ID}",
        f"https://arxiv.org/abs/{ARXIV_ID}",
        f"https://arxiv.org/pdf/{ARXIV_ID}v1",
        f"  arxiv.org/abs/{ARXIV_ID}/ ",
        # the other addresses a reader copies for an arXiv paper: they were searched as words
        # ("searched as text: unknown field 'https:'") and matched nothing
        f"https://huggingface.co/papers/{ARXIV_ID}",
        f"hf.co/papers/{ARXIV_ID}",
        f"https://huggingface.co/papers/{ARXIV_ID}#community",
        f"https://arxiv.org/abs/{ARXIV_ID}?context=cs",
        f"10.48550/arXiv.{ARXIV_ID}",
        f"https://doi.org/10.48550/arXiv.{ARXIV_ID}",
    ],
)
def test_an_arxiv_id_or_url_opens_the_paper(sample_db, api, text):
    body = found(sample_db, text)
    assert [h["id"] for h in body["results"]] == [ARXIV_ID]
    assert body["total"] == 1 and body["opened"] == ARXIV_ID
    line = cli("search", text, "--db", str(sample_db))
    assert f"note: opened {ARXIV_ID}" in line.stderr and ARXIV_ID in line.stdout
    answer = api.get("/api/v1/search", params={"q": text}).json()
    assert answer["opened"] == ARXIV_ID and [h["id"] for h in answer["results"]] == [ARXIV_ID]
    page = api.get("/search", params={"q": text}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == f"/paper/{ARXIV_ID}"


@pytest.mark.parametrize(
    "doi", [f"10.48550/arXiv.{ARXIV_ID}", f"https://doi.org/10.48550/arXiv.{ARXIV_ID}"]
)
def test_arxivs_doi_names_the_paper(sample_db, api, doi):
    """/paper/{DOI} resolves DOIs, but arXiv's own DOI of a paper the store holds by its
    arXiv id was a 404 (and `show DOI` an error): it names that arXiv id."""
    page = api.get(f"/paper/{doi}", follow_redirects=False)
    assert page.status_code == 301 and page.headers["location"] == f"/paper/{ARXIV_ID}"
    shown = cli("show", doi, "--db", str(sample_db), "--json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["id"] == ARXIV_ID


def test_an_arxiv_id_the_store_lacks_says_where_the_paper_is(sample_db, api):
    """`show 2101.00001` and /paper/2101.00001 answered "hint: ids are arXiv ids (2301.12345),
    DOIs or the id `search` shows", which tells a reader who gave an arXiv id nothing: the
    hint names the paper's arXiv page and the command that adds it."""
    from test_cli import run_cli

    done = run_cli("show", "arXiv:2101.00001v2", "--db", str(sample_db))
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.splitlines() == [
        "error: no paper 'arXiv:2101.00001v2' in the store",
        "hint: arXiv 2101.00001 is not in this collection: https://arxiv.org/abs/2101.00001;"
        " `paperscope harvest arxiv --id-list 2101.00001` adds it",
    ]
    page = api.get("/paper/2101.00001")
    assert page.status_code == 404 and "https://arxiv.org/abs/2101.00001" in page.text
    # not an arXiv id (no month 99): the general hint
    other = run_cli("show", "9999.99999", "--db", str(sample_db))
    assert "hint: ids are arXiv ids (2301.12345)" in other.stderr


def test_an_opened_id_has_facets_of_the_usual_shape(sample_db, api):
    """`search ID --facets --json` answered `"facets": {}` where every other search gives
    `{"categories": ..., "year": ...}`, so a client reading `facets["year"]` broke on an id:
    they count the one paper opened (and nothing for an id the store lacks)."""
    words = found(sample_db, "learning")["facets"]
    opened = found(sample_db, ARXIV_ID)
    assert {"categories", "year"} <= set(opened["facets"]) and set(opened["facets"]) <= set(words)
    (paper,) = opened["results"]
    year = paper["date"][:4]
    assert opened["facets"]["year"] == {year: 1}
    assert opened["facets"]["categories"] == dict.fromkeys(paper["categories"], 1)
    missing = found(sample_db, "2101.00001")["facets"]
    assert missing == {"categories": {}, "year": {}}
    answer = api.get("/api/v1/search", params={"q": ARXIV_ID, "facets": "true"}).json()
    assert answer["facets"]["year"] == {year: 1}


def test_an_unknown_arxiv_id_says_so(sample_db):
    body = found(sample_db, "https://arxiv.org/abs/2101.00001")
    assert body["results"] == [] and body["total"] == 0
    result = cli("search", "https://arxiv.org/abs/2101.00001", "--db", str(sample_db))
    assert result.exit_code == 0 and "arXiv 2101.00001 is not in this collection" in result.stderr


@pytest.mark.parametrize("text", ["2101.00001v2", "https://huggingface.co/papers/2101.00001"])
def test_the_page_of_an_unknown_arxiv_id_links_it_on_arxiv(api, text):
    """The page said "No papers match. Try fewer words, another mode, or drop a filter.", no
    advice for an id: it says the collection lacks the paper and links its arXiv page."""
    page = api.get("/search", params={"q": text})
    assert page.status_code == 200
    assert "This collection does not hold arXiv 2101.00001." in page.text
    assert '<a href="https://arxiv.org/abs/2101.00001">Open it on arXiv</a>' in page.text
    assert "Try fewer words" not in page.text
    assert "Try fewer words" in api.get("/search", params={"q": NONSENSE}).text


@pytest.mark.parametrize(
    "text", ["https://huggingface.co/papers/2101.00001", "10.48550/arXiv.2101.00001"]
)
def test_an_unknown_paper_address_says_which_arxiv_id(sample_db, text):
    body = found(sample_db, text)
    assert body["results"] == [] and body["total"] == 0 and "related" not in body
    result = cli("search", text, "--db", str(sample_db))
    assert result.exit_code == 0 and "arXiv 2101.00001 is not in this collection" in result.stderr
    assert "notice:" not in result.stderr  # not read as words with an unknown field


#: A paper of the DBLP sample known by its DOI alone, and a DOI no sample holds.
DOI = "10.1007/s00453-024-01221-8"
MISSING_DOI = "10.9999/not.in.any.sample"


@pytest.fixture(scope="module")
def doi_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("doi-store") / "papers.db"
    bib = FORMATS / "bibtex" / "dblp-export-with-crossref-author-limaye.bib"
    done = cli("import", str(bib), "--db", str(db), "--no-embed", "-q")
    assert done.exit_code == 0, done.output
    return db


@pytest.mark.parametrize(
    "text", [DOI, DOI.upper(), f"doi:{DOI}", f"https://doi.org/{DOI}", f"dx.doi.org/{DOI}"]
)
def test_a_doi_opens_the_paper(doi_db, text):
    """A DOI was searched as words ("10", "1007", ...) where the reader meant the one paper,
    as an arXiv id is: it opens that paper, on the command line, in the API and the page."""
    body = found(doi_db, text)
    assert [h["id"] for h in body["results"]] == [DOI]
    assert body["total"] == 1 and body["opened"] == DOI
    line = cli("search", text, "--db", str(doi_db))
    assert f"note: opened {DOI}: the query is that paper's DOI" in line.stderr
    with client_for(doi_db) as local:
        answer = local.get("/api/v1/search", params={"q": text}).json()
        assert answer["opened"] == DOI and [h["id"] for h in answer["results"]] == [DOI]
        page = local.get("/search", params={"q": text}, follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == f"/paper/{DOI}"


def test_a_doi_the_store_lacks_says_where_the_paper_is(doi_db):
    body = found(doi_db, f"https://doi.org/{MISSING_DOI}")
    assert body["results"] == [] and body["total"] == 0 and "related" not in body
    result = cli("search", MISSING_DOI, "--db", str(doi_db))
    assert result.exit_code == 0
    assert f"DOI {MISSING_DOI} is not in this collection" in result.stderr
    with client_for(doi_db) as local:
        page = local.get("/search", params={"q": MISSING_DOI})
    assert f"This collection does not hold DOI {MISSING_DOI}." in page.text
    assert f'<a href="https://doi.org/{MISSING_DOI}">Open it at doi.org</a>' in page.text
    assert "Try fewer words" not in page.text


@pytest.mark.parametrize("mode", MODES)
def test_filters_without_words_list_the_filtered_papers(sample_db, api, mode):
    facets = found(sample_db, "learning", "--mode", "lexical")["facets"]
    code = next(iter(facets["categories"]))
    year = max(facets["year"])
    body = found(sample_db, f"cat:{code} year:{year}", "--mode", mode, "--limit", "100")
    assert body["results"] and body["total"] == len(body["results"])
    for hit in body["results"]:
        assert code in hit["categories"] and hit["date"].startswith(year)
    answer = api.get(
        "/api/v1/search",
        params={"cat": code, "from": f"{year}-01-01", "until": f"{year}-12-31", "mode": mode},
    ).json()
    assert answer["total"] == body["total"]
    page = api.get("/search", params={"q": "", "cat": code, "from": f"{year}-01-01"})
    assert page.status_code == 200 and 'class="papers"' in page.text


@pytest.mark.parametrize("mode", MODES)
def test_filters_without_words_say_they_come_newest_first(sample_db, api, mode):
    """Filters alone list newest first, while the answer, the page's menu and the command
    said "relevance": a note says so, on every surface; a query with words has none."""
    note = "no words to rank by relevance: newest first"
    result = cli("search", "au:Hu", "--db", str(sample_db), "--mode", mode)
    assert result.exit_code == 0 and f"note: {note}" in result.stderr
    assert note not in cli("search", "clustering au:Hu", "--db", str(sample_db)).stderr
    answer = api.get("/api/v1/search", params={"cat": "cs.LG", "mode": mode}).json()
    assert note in answer["notes"]
    dates = [h["date"] or "" for h in answer["results"]]
    assert dates == sorted(dates, reverse=True)
    words = api.get("/api/v1/search", params={"q": "learning", "mode": mode}).json()
    assert note not in words["notes"]
    page = api.get("/search", params={"q": "", "cat": "cs.LG", "mode": mode})
    assert page.status_code == 200 and note in page.text


# ------------------------------------------------------------------ a store without vectors


@pytest.fixture(scope="module")
def unembedded(tmp_path_factory):
    path = tmp_path_factory.mktemp("unembedded") / "papers.db"
    pages = sorted(str(p) for p in PAGES.glob("*.txt"))
    assert cli("import", *pages, "--db", str(path), "--no-embed", "-q").exit_code == 0
    return path


def test_search_without_vectors_ranks_by_words_and_says_so(unembedded):
    result = cli("search", "learning", "--db", str(unembedded))
    assert result.exit_code == 0
    assert "(lexical)" in result.stderr and "(hybrid)" not in result.stderr
    assert "ranked by words only" in result.stderr
    assert f"hint: `paperscope embed --db {unembedded}` computes" in result.stderr
    with SearchEngine.open(unembedded) as engine:
        for mode in ("hybrid", "semantic"):
            found_ = engine.search("learning", mode=mode)
            assert found_.mode == "lexical" and found_.total > 0
        assert engine._embedder is None  # the model was never loaded


def test_similar_without_vectors_suggests_lexical(unembedded):
    some = json.loads(cli("search", "learning", "--db", str(unembedded), "--json").stdout)[0]
    done = subprocess.run(
        [sys.executable, "-m", "paperscope", "similar", some["id"], "--db", str(unembedded)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 1
    assert "no paper has a vector" in done.stderr
    # the suggested commands name this store, so they can be run as printed
    assert (
        f"hint: `paperscope similar {some['id']} --mode lexical --db {unembedded}` finds them "
        f"by shared words; `paperscope embed --db {unembedded}` computes the vectors"
    ) in done.stderr
    lexical = cli("similar", some["id"], "--db", str(unembedded), "--mode", "lexical", "--json")
    assert lexical.exit_code == 0 and json.loads(lexical.stdout)
