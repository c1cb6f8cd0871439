"""Terminal control sequences in imported data, and file names a terminal or JSON cannot take.

A record may carry escape sequences (colours, an OSC window title, clear screen) and bidi
overrides that reorder what a reader sees. They are taken out of every text field at the one
gate between importers, harvesters and the store (`paperscope.ingest.validate.checked`), so
`show`, `search`, the web pages and exports never send them on.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from paperscope.ingest.harvesters.hf_daily import HfParams, harvest_hf_daily
from paperscope.ingest.harvesters.http import RetryPolicy, make_client
from paperscope.ingest.validate import clean
from paperscope.model import Author, Paper
from paperscope.serve.cli import app
from paperscope.store.sqlite import SQLiteStore
from test_harvesters import FixtureServer, hf_route

ESC = "\x1b"
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
#: What must never reach a terminal from record text: C0 controls but tab and newline,
#: DEL, the C1 controls and the bidi embeddings, overrides and isolates.
FORBIDDEN = {chr(c) for c in (*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0))}
FORBIDDEN |= set(BIDI)

HF_ENTRY = {
    "paper": {
        "id": "2401.00010",
        "title": f"Ctrl {ESC}[31mRED{ESC}[0m \u202eevil\u202c title",
        "authors": [{"name": f"Evil {ESC}]0;pwned\x07 Name"}, {"name": "Ann\u2066 Bee\u2069"}],
        "summary": f"{ESC}[2JFirst line\x08\x08.\n\nSecond\tparagraph\x9b31m here.",
        "publishedAt": "2024-01-02T00:00:00.000Z",
        "upvotes": 3,
        "organization": {"fullname": f"Org{ESC}[1m bold"},
    },
    "submittedOnDailyAt": "2024-01-02T00:00:00.000Z",
}

BIB = (
    "@article{ctrl2020,\n"
    f"  title = {{Bib {ESC}[31mred{ESC}[0m and \u202eright-to-left}},\n"
    f"  author = {{Evil{ESC}]0;t\x07 Name and Bee, Ann\u2067}},\n"
    f"  journal = {{J{ESC}[2J. Things}},\n"
    f"  abstract = {{One\x07 two\r\nthree}},\n"
    "  year = {2020}\n"
    "}\n"
)


def _no_controls(text: str) -> bool:
    return not (set(text) & FORBIDDEN)


def _import(tmp_path: Path, *files: Path, extra: tuple[str, ...] = ()):
    db = tmp_path / "p.db"
    args = ["import", *map(str, files), "--db", str(db), "--no-embed", *extra]
    return CliRunner().invoke(app, args, catch_exceptions=False), db


@pytest.fixture
def hf_file(tmp_path: Path) -> Path:
    path = tmp_path / "ctrl.json"
    path.write_bytes(orjson.dumps([HF_ENTRY]))
    return path


def test_hf_papers_controls_are_stripped_before_the_store(hf_file, tmp_path):
    result, db = _import(tmp_path, hf_file)
    assert result.exit_code == 0, result.output
    with SQLiteStore(db) as store:
        paper = store.get("2401.00010")
    assert paper is not None
    assert paper.title == "Ctrl RED evil title"
    assert [a.name for a in paper.authors] == ["Evil Name", "Ann Bee"]
    # the abstract keeps its paragraph break; a stray backspace becomes a space
    assert paper.abstract == "First line .\nSecond paragraph here."
    assert paper.organization == "Org bold"
    runner = CliRunner()
    for args in (["show", "2401.00010"], ["search", "ctrl"], ["show", "2401.00010", "--json"]):
        shown = runner.invoke(app, [*args, "--db", str(db)], catch_exceptions=False)
        assert shown.exit_code == 0, shown.output
        assert "RED" in shown.stdout
        assert _no_controls(shown.stdout.replace("\n", "")), repr(shown.stdout)


def test_bibtex_controls_are_stripped_before_the_store(tmp_path):
    path = tmp_path / "ctrl.bib"
    path.write_text(BIB, encoding="utf-8")
    result, db = _import(tmp_path, path)
    assert result.exit_code == 0, result.output
    with SQLiteStore(db) as store:
        (paper,) = store.load_rowids([1]).values()
    assert paper.title == "Bib red and right-to-left"
    assert [a.name for a in paper.authors] == ["Evil Name", "Ann Bee"]
    assert paper.journal_ref == "J. Things (2020)"
    assert paper.abstract == "One two three"
    shown = CliRunner().invoke(app, ["search", "right", "--db", str(db)])
    assert "Bib red" in shown.stdout and _no_controls(shown.stdout.replace("\n", ""))


def test_clean_keeps_ordinary_text_and_reports_nothing_to_do():
    paper = Paper(
        title="Déjà vu: אבג and 中文 — fine",
        abstract="Para one.\nPara\ttwo.",
        authors=[Author("Zoë O'Neil", affiliation="ETH Zürich")],
        links={"abs": "https://arxiv.org/abs/2401.00001"},
    )
    before = repr(paper)
    clean(paper)
    assert repr(paper) == before


def test_a_title_of_controls_only_is_rejected(tmp_path):
    entry = {"paper": {**HF_ENTRY["paper"], "title": f"{ESC}[31m\u202e"}}
    path = tmp_path / "empty-title.json"
    path.write_bytes(orjson.dumps([entry, HF_ENTRY]))
    result, _ = _import(tmp_path, path)
    assert result.exit_code == 0
    assert f"{path}:record 1: 2401.00010: the title is empty" in result.stderr


def _harvest_day(store: SQLiteStore, body: bytes):
    """Harvest Hugging Face's 2024-01-02 from a local server answering `body`."""
    with (
        make_client(timeout=30) as client,
        FixtureServer(hf_route({"2024-01-02": body})) as server,
    ):
        return harvest_hf_daily(
            store,
            client,
            HfParams("2024-01-02", "2024-01-02"),
            base_url=server.url + "/api",
            interval=0.01,
            policy=RetryPolicy(retries=1, backoff=0.01),
        )


def test_a_harvest_goes_through_the_same_gate(tmp_path):
    body = orjson.dumps([HF_ENTRY])
    with SQLiteStore(tmp_path / "h.db") as store:
        summary = _harvest_day(store, body)
        assert summary.error is None and summary.added == 1
        paper = store.get("2401.00010")
    assert paper is not None and paper.title == "Ctrl RED evil title"
    assert _no_controls(paper.abstract.replace("\n", "").replace("\t", ""))


def test_a_harvested_record_with_a_nul_is_rejected_not_stored(tmp_path):
    bad = {"paper": {**HF_ENTRY["paper"], "title": "nul\x00 here"}}
    with SQLiteStore(tmp_path / "h.db") as store:
        summary = _harvest_day(store, orjson.dumps([bad]))
        assert store.count() == 0
    assert [r.message for r in summary.rejected] == ["2401.00010: title holds a NUL byte"]
