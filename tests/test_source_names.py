"""A paper's sources show the imported file's name and format, never a path on the server."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from conftest import PAGES, XSS_ID
from paperscope.ingest.pipeline import import_file
from paperscope.model import Author, Paper
from paperscope.serve.cli import app
from paperscope.serve.records import origin_name
from paperscope.store.sqlite import SQLiteStore
from webtools import client_for

PAGE = PAGES / "author-profile-lin.txt"


def test_import_stores_the_file_name_not_its_path(tmp_path):
    with SQLiteStore(tmp_path / "p.db") as store:
        summary = import_file(store, PAGE.resolve())
        (_, origin, _), *_ = store.paper_sources(summary.ids[0])
    assert origin == PAGE.name


def test_paper_page_api_and_show_name_the_file_and_format(tmp_path):
    db = tmp_path / "p.db"
    with SQLiteStore(db) as store:
        ident = import_file(store, PAGE.resolve()).ids[0]
        # a store written before: its origin is the absolute path the file was imported from
        legacy = Paper(title="A paper imported long ago by path", authors=[Author("Ann Old")])
        legacy.arxiv_id, legacy.sources = "2101.00001", ["bibtex"]
        store.write_batch([legacy], origin="/srv/data/imports/old-export.bib")
    with client_for(db) as client:
        for paper_id, name, fmt in (
            (ident, PAGE.name, "page-author-profile"),
            ("2101.00001", "old-export.bib", "bibtex"),
        ):
            page = client.get(f"/paper/{paper_id}").text
            assert name in page and fmt in page
            api = client.get(f"/api/v1/paper/{paper_id}").json()["merged_from"]
            assert [(s["source"], s["origin"]) for s in api] == [(fmt, name)]
            for text in (page, json.dumps(api)):
                assert str(PAGES.resolve()) not in text and "/srv/data" not in text
    shown = CliRunner().invoke(app, ["show", "2101.00001", "--db", str(db), "--json"])
    assert json.loads(shown.stdout)["merged_from"][0]["origin"] == "old-export.bib"


def test_the_sample_store_pages_hold_no_path(client):
    page = client.get(f"/paper/{XSS_ID}").text
    assert "xss-papers.jsonl" in page
    assert str(PAGES.parent.parent) not in page


def test_origin_name_keeps_harvest_origins():
    assert origin_name("/home/u/x/file.bib") == "file.bib"
    assert origin_name("C:\\Users\\u\\file.json") == "file.json"
    assert origin_name("samples/pages/a.txt") == "a.txt"
    harvest = "arxiv-oai https://export.arxiv.org/oai2 set=cs from=- until=-"
    assert origin_name(harvest) == harvest
    assert origin_name("library") == "library"


def test_a_backslash_in_a_posix_file_name_is_part_of_the_name():
    assert origin_name("back\\slash.json") == "back\\slash.json"
    assert origin_name("/home/u/back\\slash.json") == "back\\slash.json"
    # paths Windows wrote, which earlier versions stored: a drive or a UNC share
    assert origin_name("D:\\data\\x.bib") == "x.bib"
    assert origin_name("\\\\server\\share\\y.bib") == "y.bib"


def test_control_characters_in_an_origin_are_shown_escaped():
    assert origin_name("/srv/evil\x1b[2J\nname.json") == "evil\\x1b[2J\\nname.json"


def test_docs_and_bench_name_no_machine_paths():
    """Docs, bench code and bench outputs name paths relative to the repository."""
    root = Path(__file__).resolve().parent.parent
    machine = re.compile(r"(?<![\w.])/(?:work|home|Users|root|srv|mnt)/\S*")
    files = [
        *root.glob("docs/**/*.md"),
        *root.glob("docs/bench/*.txt"),
        *root.glob("bench/*.py"),
        *root.glob("samples/**/*.md"),
    ]
    found = {
        f"{path.relative_to(root)}: {hit}"
        for path in files
        for hit in machine.findall(path.read_text(encoding="utf-8"))
    }
    assert not found
