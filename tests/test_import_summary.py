"""Every record of a file is accounted for in the import summary, table and --json.

The fixture is the issue's case: a dblp export of 78 entries in which one paper appears twice,
as its arXiv preprint (dblp's CoRR entry) and as its journal version. It is built from real
entries: the dblp export of samples/formats/bibtex (one entry per paper, except the one paper
kept in both versions) and, to reach 78, arXiv papers of the Kaggle snapshot written the way
dblp writes CoRR entries.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import FORMATS
from paperscope.ingest.pipeline import import_file
from paperscope.serve.cli import app
from paperscope.store.sqlite import SQLiteStore

DBLP = FORMATS / "bibtex" / "dblp-export-with-crossref-author-limaye.bib"
KAGGLE = FORMATS / "kaggle-snapshot" / "arxiv-metadata-oai-snapshot-0704.0001-0704.0200.jsonl"
ENTRIES = 78


def _entries(text: str) -> list[str]:
    """The file's paper entries (not the @proceedings crossref targets), crossref dropped."""
    blocks = [b.strip() for b in re.split(r"\n(?=@)", text) if b.strip()]
    papers = [b for b in blocks if re.match(r"@(article|inproceedings)\{", b)]
    return [re.sub(r"\n\s*crossref\s*=\s*\{[^}]*\},", "", b) for b in papers]


def _corr_entry(record: dict) -> str:
    """A Kaggle snapshot record as dblp writes an arXiv preprint (a CoRR entry)."""
    arxiv_id = record["id"]
    names = " and\n                  ".join(
        " ".join(p for p in (first, last) if p) for last, first, *_ in record["authors_parsed"]
    )
    title = " ".join(record["title"].split())
    year = record["versions"][0]["created"].split()[3]
    key = "abs-" + arxiv_id.replace(".", "-")
    return (
        f"@article{{DBLP:journals/corr/{key},\n"
        f"  author       = {{{names}}},\n"
        f"  title        = {{{title}}},\n"
        f"  journal      = {{CoRR}},\n"
        f"  volume       = {{abs/{arxiv_id}}},\n"
        f"  year         = {{{year}}},\n"
        f"  url          = {{http://arxiv.org/abs/{arxiv_id}}},\n"
        f"  eprinttype    = {{arXiv}},\n"
        f"  eprint       = {{{arxiv_id}}},\n"
        f"  biburl       = {{https://dblp.org/rec/journals/corr/{key}.bib}},\n"
        f"  bibsource    = {{dblp computer science bibliography, https://dblp.org}}\n"
        f"}}"
    )


def dblp_78(path: Path) -> tuple[str, str]:
    """Write the 78-entry file; the keys of the two entries of the paper it holds twice.

    Which entries are one paper is the store's call (ids, then title and first author), so
    they are picked by importing each into a scratch store next to the file: an entry is kept
    when it adds a paper, and once, the second version (preprint or journal) of a kept paper.
    """
    kaggle = [json.loads(line) for line in KAGGLE.read_text(encoding="utf-8").splitlines()]
    candidates = _entries(DBLP.read_text(encoding="utf-8"))
    candidates += [_corr_entry(r) for r in kaggle if r["title"].count("{") == r["title"].count("}")]
    chosen: list[str] = []
    pair: tuple[str, str] | None = None
    kept: dict[int, str] = {}  # rowid -> the entry that added it (a paper's id may change)
    scratch = path.with_suffix(".scratch")
    with SQLiteStore(path.with_suffix(".scratch.db")) as store:
        for entry in candidates:
            if len(chosen) == ENTRIES - (pair is None):
                break
            scratch.write_text(entry + "\n", encoding="utf-8")
            summary = import_file(store, scratch)
            assert summary.error is None and summary.papers == 1, summary
            rowid = store.resolve(summary.ids[0])
            if summary.added:
                kept[rowid] = entry
                chosen.append(entry)
            elif pair is None and _preprint_and_journal(kept[rowid], entry):
                pair = (_key(kept[rowid]), _key(entry))
                chosen.append(entry)
    assert pair, "the dblp export holds a paper as preprint and journal version"
    assert len(chosen) == ENTRIES
    path.write_text("\n\n".join(chosen) + "\n", encoding="utf-8")
    return pair


def _preprint_and_journal(a: str, b: str) -> bool:
    def journal(entry: str) -> bool:
        return entry.startswith("@article") and not re.search(r"DBLP:journals/(corr|eccc)/", entry)

    def preprint(entry: str) -> bool:
        return "{DBLP:journals/corr/" in entry

    return (preprint(a) and journal(b)) or (journal(a) and preprint(b))


def _key(entry: str) -> str:
    return re.match(r"@\w+\{([^,]+),", entry).group(1)


@pytest.fixture
def dblp_file(tmp_path) -> Path:
    path = tmp_path / "dblp-78.bib"
    dblp_78(path)
    assert len(re.findall(r"^@", path.read_text(), re.M)) == ENTRIES
    return path


def test_78_entries_with_one_in_file_merge_are_all_accounted_for(dblp_file, tmp_path):
    """Must show: 77 papers added, the journal version merged within the file: 78 records."""
    db = str(tmp_path / "p.db")
    result = CliRunner().invoke(app, ["import", str(dblp_file), "--db", db, "--json", "--no-embed"])
    assert result.exit_code == 0, result.output
    (summary,) = json.loads(result.stdout)
    assert (summary["added"], summary["merged_in_file"]) == (77, 1)
    assert (summary["merged"], summary["unchanged"], summary["rejected"]) == (0, 0, 0)
    assert summary["records"] == ENTRIES
    # the keys every summary had are still there
    assert {"path", "format", "added", "merged", "unchanged", "deleted"} <= summary.keys()
    assert {"rejected", "rejected_records", "error"} <= summary.keys()


def test_the_table_shows_the_in_file_merge_and_the_records(dblp_file, tmp_path):
    db = str(tmp_path / "p.db")
    result = CliRunner().invoke(
        app, ["import", str(dblp_file), "--db", db, "--no-embed"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    header, row = result.stdout.splitlines()[:2]
    assert header.split()[1:] == [
        "format", "added", "merged", "merged", "in", "file", "unchanged", "rejected", "records"
    ]  # fmt: skip
    assert row.split()[1:] == ["bibtex", "77", "0", "1", "0", "0", "78"]


@pytest.mark.parametrize("batch_size", [1, 7, 2000])
def test_counts_do_not_depend_on_the_batch_size(dblp_file, tmp_path, batch_size):
    with SQLiteStore(tmp_path / "p.db") as store:
        first = import_file(store, dblp_file, batch_size=batch_size)
        again = import_file(store, dblp_file, batch_size=batch_size)
    assert (first.added, first.merged_in_file, first.records) == (77, 1, ENTRIES)
    # a second import: every paper matched once, the second version lands on it again
    assert (again.added, again.merged, again.unchanged, again.merged_in_file) == (0, 0, 77, 1)
    assert again.records == ENTRIES


def test_every_sample_file_adds_up_to_the_records_read(tmp_path):
    with SQLiteStore(tmp_path / "p.db") as store:
        for path in sorted(FORMATS.rglob("*.*")):
            if path.name == "SOURCES.md":
                continue
            summary = import_file(store, path, batch_size=50)
            if summary.error is None:  # error responses recorded from the sources
                read = sum(1 for _ in _items(path, summary.format))
                assert summary.records == read, path.name


def _items(path: Path, format_name: str):
    from paperscope.ingest.registry import by_name

    with path.open("rb") as stream:
        yield from by_name(format_name).parse(stream, path.name)
