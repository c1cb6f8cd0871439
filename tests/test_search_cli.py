"""Search as a user runs it: modes, filters, malformed queries, similar, embed, index rebuilds."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter

import pytest
from typer.testing import CliRunner

from backends import wanted
from conftest import PAGES
from paperscope.config import is_db_url
from paperscope.index.paths import index_dir
from paperscope.serve.cli import app

runner = CliRunner()


def cli(*args: str):
    return runner.invoke(app, list(args))


def hits(db: str, *args: str) -> list[dict]:
    result = cli("search", *args, "--db", db, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module", params=wanted())
def db(request, tmp_path_factory):
    """The three sample pages imported without vectors, then embedded once: a SQLite file,
    or a PostgreSQL database (its index folder under the session's data folder)."""
    if request.param == "sqlite":
        path = str(tmp_path_factory.mktemp("search") / "papers.db")
    else:
        path = request.getfixturevalue("pg_server").fresh()
    pages = sorted(str(p) for p in PAGES.glob("*.txt"))
    assert cli("import", *pages, "--db", path, "--no-embed", "-q").exit_code == 0
    # searchable by keyword at once, before any vector exists
    lexical = hits(path, "hyperspherical energy", "--mode", "lexical")
    assert lexical and "Hyperspherical" in lexical[0]["title"]
    hybrid = hits(path, "hyperspherical energy")
    assert [h["id"] for h in hybrid[: len(lexical)]] == [h["id"] for h in lexical]
    result = cli("search", "hyperspherical", "--mode", "semantic", "--db", path)
    assert "paperscope embed" in result.stderr
    embedded = cli("embed", "--db", path, "--json")
    assert json.loads(embedded.stdout)["embedded"] == 118
    return path


def copy_of(db: str, tmp_path, request) -> str:
    """A private copy of the store `db`, without its index folder."""
    if not is_db_url(db):
        copy = tmp_path / "copy.db"
        shutil.copy(db, copy)
        return str(copy)
    server = request.getfixturevalue("pg_server")
    return server.fresh(template=server.database_name(db))


def test_json_contract_and_stats(db):
    found = hits(db, "federated learning", "--limit", "5")
    assert len(found) == 5
    assert set(found[0]) == {"id", "title", "authors", "date", "categories", "score"}
    data = json.loads(cli("stats", "--db", db, "--json").stdout)
    assert (data["papers"], data["embedded"], data["without_vectors"]) == (118, 118, 0)


@pytest.mark.parametrize("mode", ["lexical", "semantic", "hybrid"])
def test_every_mode_applies_filters_and_fills_the_page(db, mode):
    # 20 papers of the arXiv listing carry Juhua Hu in some spelling
    found = hits(db, 'clustering au:"Hu, Juhua"', "--mode", mode, "--limit", "20")
    assert found and all("Juhua Hu" in h["authors"] for h in found)
    dated = hits(db, "learning after:2023-01-01 before:2023-12-31", "--mode", mode)
    assert dated and all(h["date"].startswith("2023") for h in dated)
    every = hits(db, "au:hu_j", "--mode", mode, "--limit", "20")
    assert len(every) == 20


def test_semantic_finds_meaning_without_the_words(db):
    found = hits(
        db, "making neural network weights spread evenly on a sphere", "--mode", "semantic"
    )
    assert any("Hyperspherical" in h["title"] for h in found[:3])


def test_sort_newest(db):
    found = hits(db, "learning", "--sort", "newest", "--limit", "10")
    dates = [h["date"] for h in found]
    assert dates == sorted(dates, reverse=True)


def test_facets(db):
    # the counts, computed again from every hit: each category and year of the matches
    result = cli(
        "search", "learning", "--mode", "lexical", "--facets", "--json", "--limit", "100",
        "--db", db,
    )  # fmt: skip
    data = json.loads(result.stdout)
    hits = data["results"]
    assert data["total"] == len(hits) > 20  # every match is on this one page
    categories = Counter(code for hit in hits for code in hit["categories"])
    years = Counter(hit["date"][:4] for hit in hits if hit["date"])
    assert data["facets"]["categories"] == dict(categories)
    assert data["facets"]["year"] == dict(years) and len(years) > 3
    # the text form: one line per facet that has counts; no topics built, so no "topic:" line
    assert data["facets"]["topic"] == {}
    text = cli("search", "learning", "--mode", "lexical", "--facets", "--db", db).stdout
    *_, categories_line, year_line = text.splitlines()
    assert categories_line.startswith("categories: ") and year_line.startswith("year: ")
    assert "topic:" not in text


@pytest.mark.parametrize(
    ("query", "lines"),
    [
        (
            "(graph networks",
            ["error: unbalanced parenthesis at position 0", "hint: add the closing ')'"],
        ),
        ('ti:"unterminated', ["error: unterminated quote starting at position 3"]),
        ("graph au:", ["error: expected a value after 'au:' at position 9"]),
    ],
)
def test_malformed_query_exit_2_with_message_and_position(db, query, lines):
    # a real process, as a shell user sees it, with --strict (by default any text is searched):
    # exit 2, the parser's message with the position of the fault on stderr, nothing on stdout
    result = subprocess.run(
        [sys.executable, "-m", "paperscope", "search", query, "--db", db, "--strict"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and result.stdout == ""
    assert [line for line in result.stderr.splitlines() if line] == lines


@pytest.mark.parametrize(
    "text",
    [
        "(graph networks",
        'ti:"hyperspherical energy',
        # words the store holds: hybrid lists only lexical matches and papers above the semantic
        # floor, so a text of absent words is searched and rightly matches nothing
        "the hyperspherical: energy",
        "a [FROM TO TO] range of $\\alpha$ hyperspherical energy",
        "-hyperspherical",
        "energy minimization -- a sphere",
    ],
)
def test_any_text_is_searched_with_one_notice_line(db, text):
    result = cli("search", "--db", db, "--json", "--", text)
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)  # --json keeps its shape: a list of hits
    assert isinstance(found, list) and found
    notices = [line for line in result.stderr.splitlines() if line.startswith("notice:")]
    assert len(notices) <= 1
    if text.startswith("energy"):  # valid query language: no notice
        assert not notices
    else:
        assert len(notices) == 1 and "searched as text" in notices[0]


@pytest.mark.parametrize("mode", ["lexical", "semantic", "hybrid"])
def test_pasted_sentence_with_double_dash_finds_its_paper_first(db, mode):
    # "--" in prose is a dash, not a negation of "where"
    found = hits(db, "Thomson problem -- where one seeks", "--mode", mode)
    assert found[0]["title"] == "Learning towards Minimum Hyperspherical Energy"


def test_profile_owner_is_an_author_of_all_twelve_profile_papers(db):
    found = hits(db, 'au:"Rongmei Lin"', "--mode", "lexical", "--limit", "50")
    assert len(found) == 12 and all("Rongmei Lin" in h["authors"] for h in found)
    assert len(hits(db, 'au:"Rongmei Lin"', "--limit", "50")) == 12


def test_similar_excludes_the_paper_itself(db):
    target = hits(db, "ti:Decoupled ti:Networks", "--mode", "lexical")[0]
    result = cli("similar", target["id"], "--db", db, "--json", "--limit", "5")
    assert result.exit_code == 0, result.output
    near = json.loads(result.stdout)
    assert len(near) == 5 and target["id"] not in {h["id"] for h in near}


def test_index_rebuilt_after_folder_deleted_or_file_truncated(db, tmp_path, request):
    copy = copy_of(db, tmp_path, request)
    assert hits(str(copy), "hyperspherical", "--mode", "hybrid")
    before = hits(str(copy), "hyperspherical energy", "--mode", "hybrid")
    shutil.rmtree(index_dir(copy))
    assert hits(str(copy), "hyperspherical energy", "--mode", "hybrid") == before
    for file in (index_dir(copy) / "vectors").iterdir():
        if file.is_file() and file.stat().st_size > 100:
            file.write_bytes(file.read_bytes()[: file.stat().st_size // 2])
    assert hits(str(copy), "hyperspherical energy", "--mode", "hybrid") == before


def test_reindex(db, tmp_path, request):
    copy = copy_of(db, tmp_path, request)
    result = cli("reindex", "--db", str(copy), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) | {"seconds": 0} == {
        "papers": 118,
        "vectors": 118,
        "seconds": 0,
    }


def test_python_api_hits_carry_marked_snippets(db):
    import paperscope

    result = paperscope.search("hyperspherical energy", db=db, mode="lexical", limit=3)
    assert result.hits and result.total >= 3
    snippet = result.hits[0].snippet
    marked = {snippet.fragment[a:b].lower() for a, b in snippet.highlights}
    assert marked & {"hyperspherical", "energy"}
    assert "<b>" in snippet.to_html() and len(snippet.fragment) <= 200


def test_a_hyphenated_query_marks_the_words_it_found(db):
    """`global-normalization`, written as a phrase by no paper of the sample pages, is searched
    as its words; the snippets marked nothing, as they looked for the phrase."""
    import paperscope

    result = paperscope.search("global-normalization", db=db, mode="lexical", limit=5)
    spaced = paperscope.search("global normalization", db=db, mode="lexical", limit=5)
    assert result.total == spaced.total > 0
    for hit in result.hits:
        marked = {hit.snippet.fragment[a:b].lower() for a, b in hit.snippet.highlights}
        assert any(w.startswith(("global", "normal")) for w in marked), hit.paper.title


def test_a_query_starting_with_a_dash_says_where_it_goes(db):
    """`search '-alphafold protein folding'` stopped with click's "No such option: -a",
    which names neither the query nor the way out; it now says both (exit 2, bad usage)."""
    from test_cli import run_cli

    query = "-alphafold protein folding"
    done = run_cli("search", query, "--db", str(db))
    assert done.returncode == 2 and done.stdout == "" and "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [
        f"error: {query!r} was read as options, since it starts with '-'",
        "hint: a query that starts with '-' goes last, after '--': paperscope search"
        f" [OPTIONS] -- {query!r}",
    ]
    # as the hint says, it is searched
    done = run_cli("search", "--db", str(db), "--json", "--", query)
    assert done.returncode == 0, done.stderr
    # short options and values that start with '-' are still options and values
    done = run_cli("search", "clustering", "-n", "2", "-m", "lexical", "--db", str(db))
    assert done.returncode == 0, done.stderr
    assert "Invalid value for '--limit'" in run_cli("search", "x", "-n", "-1").stderr


def test_au_finds_an_author_under_his_dblp_homonym_number_too(tmp_path):
    """dblp's BibTeX writes "Wei Wang 0001" for one of the people of that name. The number was
    indexed as the family name, so `au:"Wei Wang"` and `au:wang` missed his papers."""
    bib = tmp_path / "dblp.bib"
    bib.write_text(
        "@article{DBLP:a,\n  author = {Wei Wang 0001 and Jane Roe},\n"
        "  title = {Graph sparsification by sampling},\n  journal = {J},\n  year = {2020}\n}\n"
        "@article{DBLP:b,\n  author = {Wei Wang and Bob Stone},\n"
        "  title = {Another paper on graphs},\n  journal = {J},\n  year = {2021}\n}\n"
    )
    db = str(tmp_path / "d.db")
    assert cli("import", str(bib), "--db", db, "--no-embed", "-q").exit_code == 0
    for query in ('au:"Wei Wang"', "au:wang", "au:wang_w", "graph au:wang"):
        found = hits(db, query, "--mode", "lexical")
        assert sorted(h["title"] for h in found) == [
            "Another paper on graphs",
            "Graph sparsification by sampling",
        ], query
    assert hits(db, "au:0001", "--mode", "lexical") == []


def test_group_with_facets_keeps_the_facets(tmp_path):
    """`search --group ASPECT --facets` printed the groups and dropped the facets without a
    word, in JSON and in text."""
    db = str(tmp_path / "papers.db")
    page = str(PAGES / "arxiv-author-listing-hu.txt")
    assert cli("import", page, "--db", db, "--no-embed", "-q").exit_code == 0
    args = ("search", "learning", "--mode", "lexical", "--facets", "--db", db)
    plain = json.loads(cli(*args, "--json").stdout)
    grouped = cli(*args, "--group", "topic", "--json")
    assert grouped.exit_code == 0, grouped.output
    body = json.loads(grouped.stdout)
    assert body["facets"] == plain["facets"] and body["facets"]["year"]
    assert body["total"] == plain["total"]
    text = cli(*args, "--group", "topic")
    assert text.exit_code == 0 and "year: " in text.stdout
