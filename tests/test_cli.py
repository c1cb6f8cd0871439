"""The CLI as a user runs it: import the sample pages, stats, search, show, bad input."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from conftest import FORMATS, PAGES
from paperscope.serve.cli import app

runner = CliRunner()


def cli(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "papers.db")


def stats(db: str) -> dict:
    result = cli("stats", "--db", db, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_sample_pages_import_every_paper_once_and_reimport_changes_nothing(db):
    pages = sorted(str(p) for p in PAGES.glob("*.txt"))
    first = cli("import", *pages, "--db", db, "--json")
    assert first.exit_code == 0, first.output
    summary = {s["format"]: s for s in json.loads(first.stdout)}
    assert {f: s["added"] for f, s in summary.items()} == {
        "page-author-profile": 12,
        "page-hf-search": 86,
        "page-arxiv-listing": 20,
    }
    assert stats(db)["papers"] == 118
    assert stats(db)["embedded"] == 118  # import embeds what it adds by default
    second = json.loads(cli("import", *pages, "--db", db, "--json", "--no-embed").stdout)
    assert sum(s["added"] + s["merged"] for s in second) == 0
    assert sum(s["unchanged"] for s in second) == 118
    assert stats(db)["papers"] == 118


def test_db_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PAPERSCOPE_DB", str(tmp_path / "env.db"))
    assert cli("import", str(PAGES / "author-profile-lin.txt"), "--no-embed").exit_code == 0
    assert (tmp_path / "env.db").exists()
    assert stats(str(tmp_path / "env.db"))["papers"] == 12


def test_search_show_and_json_contract(db):
    cli("import", str(FORMATS / "arxiv-api-atom"), "--db", db)
    hits = json.loads(cli("search", "del maestro", "--db", db, "--json").stdout)
    assert hits and set(hits[0]) == {"id", "title", "authors", "date", "categories", "score"}
    shown = cli("show", hits[0]["id"], "--db", db, "--json")
    assert shown.exit_code == 0
    paper = json.loads(shown.stdout)
    assert paper["id"] == hits[0]["id"] and paper["merged_from"]
    assert cli("show", hits[0]["id"], "--db", db).exit_code == 0


def test_show_unknown_id_is_a_clear_error(db):
    assert (
        cli("import", str(PAGES / "author-profile-lin.txt"), "--db", db, "--no-embed").exit_code
        == 0
    )
    # a real process: the exit code and the exact error and hint lines on stderr, nothing else
    shown = subprocess.run(
        [sys.executable, "-m", "paperscope", "show", "9999.99999", "--db", db],
        capture_output=True,
        text=True,
    )
    assert shown.returncode == 1 and shown.stdout == ""
    assert shown.stderr.splitlines() == [
        "error: no paper '9999.99999' in the store",
        "hint: ids are arXiv ids (2301.12345), DOIs or the id `search` shows",
    ]


def test_unknown_format_is_one_clear_error_and_other_files_still_land(db, tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("just some notes, not papers\n" * 20)
    result = runner.invoke(
        app, ["import", str(junk), str(PAGES / "author-profile-lin.txt"), "--db", db, "--no-embed"]
    )
    assert result.exit_code == 1
    assert "not a format paperscope can import" in result.stderr
    assert stats(db)["papers"] == 12


def test_bad_record_reported_with_file_and_line(db, tmp_path):
    src = FORMATS / "kaggle-snapshot" / "arxiv-metadata-oai-snapshot-0704.0001-0704.0200.jsonl"
    lines = src.read_text().splitlines()
    lines[4] = lines[4][:50]  # line 5 is cut short: invalid JSON
    bad = tmp_path / "snapshot.jsonl"
    bad.write_text("\n".join(lines) + "\n")
    result = runner.invoke(app, ["import", str(bad), "--db", db, "--no-embed"])
    assert result.exit_code == 0
    assert f"{bad}:line 5" in result.stderr
    assert stats(db)["papers"] == 199


def test_formats_lists_every_importer():
    names = {f["name"] for f in json.loads(cli("formats", "--json").stdout)}
    assert {
        "arxiv-atom",
        "arxiv-oai",
        "arxiv-rss",
        "kaggle-arxiv",
        "hf-papers",
        "openalex",
        "semantic-scholar",
        "bibtex",
        "page-author-profile",
        "page-hf-search",
        "page-arxiv-listing",
    } <= names


def test_every_fixture_imports_into_one_store(db, tmp_path):
    """All formats together: known papers seen by several sources merge, none is lost."""
    folder = tmp_path / "all"
    shutil.copytree(FORMATS, folder)
    result = cli("import", str(folder), "--db", db, "--json", "--no-embed")
    summaries = json.loads(result.stdout)
    failed = {s["path"] for s in summaries if s["error"]}
    # error responses recorded from the sources are reported, not imported
    assert all("error" in p or "SOURCES" in p or "empty" in p or "no-results" in p for p in failed)
    assert stats(db)["papers"] > 600


@pytest.mark.parametrize(
    "args",
    [
        ["search", "attention"],
        ["similar", "2301.00001"],
        ["show", "2301.00001"],
        ["stats"],
        ["authors", "list"],
        ["authors", "show", "Jane Doe"],
        ["topics"],
        ["topics", "show", "1"],
    ],
)
def test_commands_that_read_say_when_the_store_is_missing(args, tmp_path):
    """A mistyped --db is an error naming the path, in a real process; nothing is created."""
    missing = tmp_path / "typo" / "papers.db"
    done = subprocess.run(
        [sys.executable, "-m", "paperscope", *args, "--db", str(missing)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.splitlines() == [
        f"error: no store at {missing}",
        "hint: `paperscope import FILE --db PATH` creates one; "
        "--db or $PAPERSCOPE_DB names another",
    ]
    assert not missing.parent.exists()


@pytest.mark.skipif(sys.platform == "win32", reason="FIFOs and symlinks")
def test_a_folder_with_no_files_is_an_error_and_the_other_arguments_still_land(db, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    odd = tmp_path / "odd"
    (odd / "sub").mkdir(parents=True)
    os.mkfifo(odd / "fifo")
    (odd / "dangling.json").symlink_to(tmp_path / "missing.json")
    page = str(PAGES / "author-profile-lin.txt")
    result = runner.invoke(app, ["import", str(empty), page, str(odd), "--db", db, "--no-embed"])
    assert result.exit_code == 1
    assert f"error: {empty}: the folder holds no files to import" in result.stderr
    assert f"error: {odd}: the folder holds no files to import" in result.stderr
    assert stats(db)["papers"] == 12
    alone = runner.invoke(app, ["import", str(empty), "--db", db, "--json"])
    assert alone.exit_code == 1
    (row,) = json.loads(alone.stdout)
    assert (row["path"], row["records"]) == (str(empty), 0)
    assert "holds no files to import" in row["error"]


def test_a_forced_format_that_finds_no_record_is_an_error(db, tmp_path):
    junk = tmp_path / "random.bin"
    junk.write_bytes(random.Random(7).randbytes(10_240))
    result = runner.invoke(
        app, ["import", "--format", "page-hf-search", str(junk), "--db", db, "--no-embed"]
    )
    assert result.exit_code == 1
    assert f"error: {junk}: no page-hf-search record found" in result.stderr
    assert "hint:" in result.stderr
