"""Format detection that depends neither on field order nor on field length.

Every recording of samples/formats and samples/pages is claimed by exactly its own importer,
as it is and with its first record's author list made 1,000 names long; the JSON and XML
recordings also with an author list grown by at least 100 kB.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import FORMATS, PAGES
from lengthen import lengthen
from paperscope.ingest.head import json_skeleton, read_head
from paperscope.ingest.importers.base import HEAD_BYTES
from paperscope.ingest.registry import all_importers
from paperscope.serve.cli import app

# The importer that owns each folder of recordings (pages: each file its own format).
OWNER = {
    "arxiv-api-atom": "arxiv-atom",
    "arxiv-oai-pmh": "arxiv-oai",
    "arxiv-rss": "arxiv-rss",
    "bibtex": "bibtex",
    "huggingface-papers": "hf-papers",
    "kaggle-snapshot": "kaggle-arxiv",
    "openalex": "openalex",
    "semantic-scholar": "semantic-scholar",
    "arxiv-author-listing-hu.txt": "page-arxiv-listing",
    "author-profile-lin.txt": "page-author-profile",
    "hf-search-global-normalization.txt": "page-hf-search",
}
RECORDINGS = sorted(
    [p for p in FORMATS.rglob("*.*") if p.name != "SOURCES.md"] + sorted(PAGES.glob("*.txt"))
)
STRUCTURED = [p for p in RECORDINGS if p.suffix in (".json", ".jsonl", ".xml", ".yaml")]


def owner(path: Path) -> str:
    return OWNER[path.name] if path.parent == PAGES else OWNER[path.parent.name]


def claims(data: bytes, filename: str) -> list[str]:
    head = read_head(io.BytesIO(data))
    return [i.name for i in all_importers() if i.sniff(head, filename) is not None]


def ids(path: Path) -> str:
    return str(path.relative_to(path.parent.parent))


@pytest.mark.parametrize("path", RECORDINGS, ids=ids)
def test_every_recording_is_claimed_by_its_importer_alone(path):
    assert claims(path.read_bytes(), path.name) == [owner(path)]


@pytest.mark.parametrize("path", RECORDINGS, ids=ids)
def test_first_record_with_1000_authors_is_claimed_by_its_importer_alone(path):
    assert claims(lengthen(path, 1000), path.name) == [owner(path)]


@pytest.mark.parametrize("path", STRUCTURED, ids=ids)
def test_json_and_xml_with_a_100_kb_author_list_are_recognised(path):
    original = path.read_bytes()
    count, data = 1000, lengthen(path, 1000)
    if data == original:
        pytest.skip("no record with authors (an error response or an empty result)")
    while len(data) - len(original) < 100_000:
        count *= 2
        data = lengthen(path, count)
    assert claims(data, path.name) == [owner(path)]


def test_the_recordings_hf_and_kaggle_lost_with_a_raw_head_are_recognised():
    # The failure the issue reports: the identifying keys came after the first 64 kB.
    hf = FORMATS / "huggingface-papers" / "papers-search-q-kazakh-9-results.json"
    data = lengthen(hf, 1000)
    raw = [i.name for i in all_importers() if i.sniff(data[:HEAD_BYTES], hf.name) is not None]
    assert raw == []
    assert claims(data, hf.name) == ["hf-papers"]


def test_skeleton_is_json_with_strings_and_arrays_shortened():
    value = {"authors": [{"name": f"N{i}"} for i in range(500)], "s": "é\\u00e9" * 5000, "k": 1}
    skeleton, full = json_skeleton(json.dumps(value, ensure_ascii=False).encode(), HEAD_BYTES)
    assert not full
    short = json.loads(skeleton)
    assert list(short) == ["authors", "s", "k"]
    assert len(short["authors"]) == 8
    assert 0 < len(short["s"]) < 5000


def test_skeleton_keeps_json_lines_apart():
    lines = b"".join(json.dumps({"id": i, "a": "x" * 9000}).encode() + b"\n" for i in range(3))
    skeleton, _ = json_skeleton(lines, HEAD_BYTES)
    assert [json.loads(line)["id"] for line in skeleton.splitlines()] == [0, 1, 2]


def test_import_of_hf_search_with_500_authors_needs_no_format(tmp_path):
    """Must show: `paperscope import` of a HF search response whose first paper has 500
    authors works without --format."""
    src = FORMATS / "huggingface-papers" / "papers-search-q-kazakh-9-results.json"
    path = tmp_path / "hf-search-500-authors.json"
    path.write_bytes(lengthen(src, 500))
    db = str(tmp_path / "p.db")
    runner = CliRunner()
    result = runner.invoke(app, ["import", str(path), "--db", db, "--json", "--no-embed"])
    assert result.exit_code == 0, result.output
    (summary,) = json.loads(result.stdout)
    assert summary["format"] == "hf-papers" and summary["error"] is None
    assert summary["added"] == 9
    first = json.loads(src.read_text())[0]["paper"]["id"]
    shown = runner.invoke(app, ["show", first, "--db", db, "--json"])
    assert len(json.loads(shown.stdout)["authors"]) == 500
