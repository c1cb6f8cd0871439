"""Hostile files through `import`: a clear `file:record: message`, never a traceback, and the
good records of the file still land.

Every importer's real recording is damaged one way at a time (tests/hostile.py): an XML entity
bomb, an external entity, a 10 MB field, NUL bytes, invalid UTF-8, deep nesting, a cut.
"""

from __future__ import annotations

import bz2
import gzip
import http.server
import lzma
import threading
import time
from pathlib import Path
from typing import ClassVar

import orjson
import pytest
from typer.testing import CliRunner

from conftest import FORMATS, PAGES
from hostile import BOMB_DTD, mutations, xxe_dtd
from paperscope.ingest.pipeline import FileSummary, import_file
from paperscope.serve.cli import app
from paperscope.store.sqlite import SQLiteStore

#: One real recording per importer, with the number of papers it holds.
RECORDINGS = {
    "arxiv-atom": FORMATS / "arxiv-api-atom" / "query-au-del_maestro-10-entries-2016.xml",
    "arxiv-atom-json": FORMATS / "arxiv-api-atom" / "cassette-query-testing-10-entries-2026.json",
    "arxiv-oai": FORMATS / "arxiv-oai-pmh" / "listrecords-arXiv-set-physics-hep-ex-2017-12-14.xml",
    "arxiv-rss": FORMATS / "arxiv-rss" / "rss-all-archives-2024-11-28-excerpt-items-912-961.xml",
    "bibtex": FORMATS / "bibtex" / "curated-with-string-macros-and-preamble.bib",
    "hf-papers": FORMATS / "huggingface-papers" / "papers-search-q-kazakh-9-results.json",
    "kaggle-arxiv": FORMATS
    / "kaggle-snapshot"
    / "arxiv-metadata-oai-snapshot-0704.0001-0704.0200.jsonl",
    "openalex": FORMATS / "openalex" / "works-search-attention-mechanism-3-full-fields.json",
    "semantic-scholar": FORMATS
    / "semantic-scholar"
    / "cassette-paper-batch-3-full-fields-2023-12.yaml",
    "page-arxiv-listing": PAGES / "arxiv-author-listing-hu.txt",
    "page-author-profile": PAGES / "author-profile-lin.txt",
    "page-hf-search": PAGES / "hf-search-global-normalization.txt",
}

#: Where one damaged record cannot leave the rest of the file readable, and why. Everywhere
#: else every record but the damaged one lands.
LOSES_THE_REST = {
    # libxml2 stops at a fatal error: what came before lands, nothing after
    ("xml", "xml-bomb"): "entity amplification limit is fatal",
    ("xml", "10mb-field"): "a text node over 10 MB is fatal",
    ("xml", "deep-nesting"): "nesting deeper than 256 is fatal",
    # one JSON document (or a YAML cassette) broken in its syntax is not a document
    ("arxiv-atom-json", "deep-nesting"): "JSON nested deeper than the parser allows",
    ("arxiv-atom-json", "invalid-utf8"): "the recording's body is JSON text",
    ("hf-papers", "deep-nesting"): "JSON nested deeper than the parser allows",
    ("openalex", "deep-nesting"): "JSON nested deeper than the parser allows",
    ("semantic-scholar", "nul-bytes"): "YAML refuses control characters",
    ("semantic-scholar", "invalid-utf8"): "YAML refuses undecodable bytes",
}
XML_FORMATS = {"arxiv-atom", "arxiv-atom-json", "arxiv-oai", "arxiv-rss"}
#: Damage that is no damage to that format.
HARMLESS = {
    ("bibtex", "invalid-utf8"): "a line that is not UTF-8 is read as Latin-1 (older .bib files)",
    ("bibtex", "deep-nesting"): "braces are BibTeX markup, read without recursion and dropped",
}
#: Formats whose text layout a damaged line can shift, so a neighbour record may go too
#: (always reported or never read, never silently half-stored).
LAYOUT = {"page-author-profile", "page-hf-search", "page-arxiv-listing", "semantic-scholar"}

CASES = [
    (fmt, label)
    for fmt, path in RECORDINGS.items()
    for label in mutations(path.read_bytes(), path.name)
]


def base_count(path: Path, tmp_path: Path) -> int:
    with SQLiteStore(tmp_path / "base.db") as store:
        summary = import_file(store, path)
    assert summary.error is None and not summary.rejected
    return summary.papers


def run(path: Path, tmp_path: Path) -> FileSummary:
    with SQLiteStore(tmp_path / "hostile.db") as store:
        return import_file(store, path)


@pytest.mark.parametrize(("fmt", "label"), CASES, ids=[f"{f}-{m}" for f, m in CASES])
def test_hostile_file_gives_clear_messages_and_the_good_records_land(fmt, label, tmp_path):
    src = RECORDINGS[fmt]
    expected = base_count(src, tmp_path)
    path = tmp_path / f"{label}-{src.name}"
    path.write_bytes(mutations(src.read_bytes(), src.name)[label])
    started = time.monotonic()
    summary = run(path, tmp_path)  # raises nothing: no traceback
    assert time.monotonic() - started < 60
    for bad in summary.rejected:
        assert bad.where and bad.message and "Traceback" not in bad.message
    if summary.error:
        assert summary.error.startswith((str(path), path.name)), summary.error
        assert "Traceback" not in summary.error
    reason = LOSES_THE_REST.get((fmt, label))
    if fmt in XML_FORMATS:
        reason = reason or LOSES_THE_REST.get(("xml", label))
    if (fmt, label) in HARMLESS:
        assert summary.error is None and summary.papers == expected
    elif label == "truncated":
        # the cut record is reported or was never read; what came before it landed
        assert summary.papers >= 1 or summary.error
    elif reason:
        assert summary.error or summary.rejected, reason
    elif label == "external-entity":
        # the entity is not resolved: that record lacks its title (rejected), the rest land
        assert summary.papers >= expected - 1
    else:
        slack = 2 if fmt in LAYOUT else 1
        assert summary.error is None
        assert summary.papers >= expected - slack, (summary.papers, expected)
        assert summary.rejected, "the damaged record is reported"


def test_an_xml_bomb_is_not_expanded(tmp_path):
    data = (
        b'<?xml version="1.0"?>'
        + BOMB_DTD
        + (
            b'<feed xmlns="http://www.w3.org/2005/Atom"><title>arXiv Query</title>'
            b"<link href='http://arxiv.org/api/query'/>"
            b"<entry><id>http://arxiv.org/abs/2101.00001v1</id><title>&lol9;</title>"
            b"<summary>s</summary><author><name>A B</name></author></entry></feed>"
        )
    )
    path = tmp_path / "bomb.xml"
    path.write_bytes(data)
    started = time.monotonic()
    with SQLiteStore(tmp_path / "p.db") as store:
        summary = import_file(store, path)
        titles = [r[0] for r in store.conn.execute("SELECT title FROM papers")]
    assert time.monotonic() - started < 10
    assert not any("lol" in t for t in titles)
    assert summary.error and "amplification" in summary.error


class _Counter(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"LEAKED")

    def log_message(self, *args) -> None:
        pass


@pytest.mark.parametrize("name", ["arxiv-atom", "arxiv-oai", "arxiv-rss"])
def test_external_entities_read_no_file_and_make_no_request(name, tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counter)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    try:
        src = RECORDINGS[name].read_bytes()
        for target in (secret.as_uri(), f"http://127.0.0.1:{server.server_port}/x"):
            decl_end = src.find(b"?>") + 2
            data = src[:decl_end] + xxe_dtd(target) + src[decl_end:]
            data = data.replace(b"</title>", b"&xxe;</title>", 2)
            path = tmp_path / f"xxe-{name}.xml"
            path.write_bytes(data)
            with SQLiteStore(tmp_path / f"{name}.db") as store:
                summary = import_file(store, path)
                stored = " ".join(
                    f"{t} {a}" for t, a in store.conn.execute("SELECT title, abstract FROM papers")
                )
            assert summary.papers >= 1
            assert "TOP-SECRET" not in stored and "LEAKED" not in stored
        assert _Counter.hits == []
    finally:
        server.shutdown()
        server.server_close()


def test_the_cli_prints_file_record_message_and_imports_the_rest(tmp_path):
    src = RECORDINGS["kaggle-arxiv"]
    path = tmp_path / "snapshot.jsonl"
    path.write_bytes(mutations(src.read_bytes(), src.name)["nul-bytes"])
    result = CliRunner().invoke(
        app, ["import", str(path), "--db", str(tmp_path / "p.db"), "--no-embed"]
    )
    assert result.exit_code == 0
    assert f"{path}:record 1: 0704.0001: title holds a NUL byte" in result.stderr
    assert "Traceback" not in result.output
    assert "199" in result.stdout


# ------------------------------------------------------------------ byte order marks


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("fmt", list(RECORDINGS))
def test_a_utf8_byte_order_mark_is_skipped(fmt, gz, tmp_path):
    """Notepad and PowerShell start UTF-8 files with a BOM. Every format reads such a file
    whole; JSON refused it (`not valid JSON`, or the first JSON line rejected)."""
    src = RECORDINGS[fmt]
    expected = base_count(src, tmp_path)
    data = b"\xef\xbb\xbf" + src.read_bytes()
    path = tmp_path / (f"bom-{src.name}" + (".gz" if gz else ""))
    path.write_bytes(gzip.compress(data) if gz else data)
    summary = run(path, tmp_path)
    assert summary.error is None, summary.error
    assert not summary.rejected, summary.rejected[:1]
    assert summary.papers == expected


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_a_utf16_file_is_refused_with_a_way_to_convert_it(encoding, tmp_path):
    """A UTF-16 file (PowerShell 5's `>`) was `not a format paperscope can import`, with a
    hint to force a format that could not read it either; now it says what the file is and
    how to convert it, detected or forced, and the other files still land."""
    from test_cli import run_cli

    src = RECORDINGS["openalex"]
    path = tmp_path / "works.json"
    path.write_bytes(src.read_text(encoding="utf-8").encode(encoding))  # with its BOM
    name = encoding.upper()
    db = str(tmp_path / "papers.db")
    for forced in ([], ["--format", "openalex"]):
        done = run_cli("import", str(path), str(src), "--db", db, "--no-embed", *forced)
        assert done.returncode == 1 and "Traceback" not in done.stderr
        assert f"error: {path}: the file is {name} text; paperscope reads UTF-8" in done.stderr
        assert f"hint: convert it first: iconv -f {name} -t UTF-8" in done.stderr
    with SQLiteStore(db) as store:
        assert store.count() == base_count(src, tmp_path)


# ------------------------------------------------------------------ JSON documents cut short

CUT_DOCUMENTS = {
    "hf-papers-daily": FORMATS / "huggingface-papers" / "daily-papers-2026-02-25-50-papers.json",
    "hf-papers-search": RECORDINGS["hf-papers"],
    "openalex": RECORDINGS["openalex"],
    # Semantic Scholar answers as saved from the API: {"data": [...]}, {"recommendedPapers":
    # [...]} and a batch lookup's bare list (with its nulls), out of the recorded cassettes
    "s2-search": FORMATS
    / "semantic-scholar"
    / "cassette-paper-search-turing-100-full-fields-2023-12.yaml",
    "s2-recommendations": FORMATS
    / "semantic-scholar"
    / "cassette-recommendations-forpaper-100-2023-12.yaml",
    "s2-batch": FORMATS / "semantic-scholar" / "cassette-paper-batch-3-full-fields-2023-12.yaml",
}


def json_document(src: Path, tmp_path: Path) -> Path:
    """`src`, or for a cassette its first response's body as a .json file."""
    if src.suffix != ".yaml":
        return src
    import yaml

    body = yaml.safe_load(src.read_bytes())["interactions"][0]["response"]["content"]
    path = tmp_path / f"{src.stem}.json"
    path.write_text(body, encoding="utf-8")
    return path


@pytest.mark.parametrize("share", [0.5, 0.95])
@pytest.mark.parametrize("name", list(CUT_DOCUMENTS))
def test_a_json_document_cut_short_keeps_its_whole_records(name, share, tmp_path):
    """A download cut short (as `curl` leaves it when the connection drops): the records
    before the cut land, each exactly as from the whole file, and the one the file ends in is
    reported. The whole file was `not valid JSON` and nothing landed, where the docs promise
    what a JSON lines file gives."""
    src = json_document(CUT_DOCUMENTS[name], tmp_path)
    with SQLiteStore(tmp_path / "whole.db") as store:
        whole = import_file(store, src)
        assert whole.error is None and not whole.rejected
        expected = {i: store.get(i) for i in whole.ids}
    data = src.read_bytes()
    path = tmp_path / f"cut-{src.name}"
    path.write_bytes(data[: int(len(data) * share)])
    with SQLiteStore(tmp_path / "cut.db") as store:
        summary = import_file(store, path)
        assert summary.error is None, summary.error
        assert summary.papers >= 1
        assert summary.ids == whole.ids[: summary.papers]
        assert [(b.where, b.message) for b in summary.rejected] == [
            (
                f"record {summary.papers + 1}",
                "the file ends inside this record (cut short?); the records before it were read",
            )
        ]
        assert store.count() == summary.added  # a list may name a paper twice
        for ident in summary.ids:
            got, want = store.get(ident), expected[ident]
            assert (got.title, got.abstract, got.authors, got.published, got.upvotes) == (
                want.title,
                want.abstract,
                want.authors,
                want.published,
                want.upvotes,
            )


def test_a_single_paper_cut_short_is_not_stored_half(tmp_path):
    """One paper (OpenAlex's /works/ID) cut inside its author list is an error, not a paper
    with half its authors."""
    src = RECORDINGS["openalex"]
    work = orjson.dumps(orjson.loads(src.read_bytes())["results"][0])
    cut = work.index(b'"authorships"') + 600
    path = tmp_path / "work.json"
    path.write_bytes(work[:cut])
    with SQLiteStore(tmp_path / "one.db") as store:
        summary = import_file(store, path, format_name="openalex")
        assert summary.papers == 0 and store.count() == 0
        assert summary.error and "not valid JSON" in summary.error


# ------------------------------------------------------------------ compressed files

KAGGLE = RECORDINGS["kaggle-arxiv"]
COMPRESSIONS = {
    "gzip-named-gzip": ("snapshot.jsonl.gzip", gzip.compress),
    "gzip-no-suffix": ("snapshot", gzip.compress),
    "plain-named-gz": ("snapshot.jsonl.gz", lambda data: data),  # a browser unpacked it
    "bz2": ("snapshot.jsonl.bz2", bz2.compress),
    "xz": ("snapshot.jsonl.xz", lzma.compress),
}


@pytest.mark.parametrize("kind", list(COMPRESSIONS))
def test_a_compressed_file_is_read_by_its_content_not_its_name(kind, tmp_path):
    """Only a `.gz` name was unpacked: `.gzip`, `.bz2` and `.xz` files were `not a format
    paperscope can import`, and a plain file still named `.gz` was `Not a gzipped file`."""
    name, pack = COMPRESSIONS[kind]
    path = tmp_path / name
    path.write_bytes(pack(KAGGLE.read_bytes()))
    summary = run(path, tmp_path)
    assert summary.error is None and not summary.rejected
    assert (summary.format, summary.added) == ("kaggle-arxiv", base_count(KAGGLE, tmp_path))


@pytest.mark.parametrize("pack", [gzip.compress, lzma.compress], ids=["gz", "xz"])
def test_a_compressed_file_cut_short_keeps_the_records_before_the_cut(pack, tmp_path):
    """A .jsonl.gz download cut short: the records before the cut land, whole, and the cut is
    reported. The format could not be told (`cannot read: Compressed file ended before the
    end-of-stream marker was reached`), and past detection the batch in flight was dropped."""
    with SQLiteStore(tmp_path / "whole.db") as store:
        whole = import_file(store, KAGGLE)
        expected = {i: store.get(i) for i in whole.ids}
    packed = pack(KAGGLE.read_bytes())
    path = tmp_path / "snapshot.jsonl.cut"
    path.write_bytes(packed[: len(packed) // 2])
    with SQLiteStore(tmp_path / "cut.db") as store:
        summary = import_file(store, path)
        assert summary.error == (
            f"{path}: unreadable after {summary.papers} papers: "
            "Compressed file ended before the end-of-stream marker was reached"
        )
        assert 0 < summary.papers < len(whole.ids) and not summary.rejected
        assert summary.ids == whole.ids[: summary.papers]
        assert store.count() == summary.papers
        for ident in summary.ids:
            got, want = store.get(ident), expected[ident]
            assert (got.title, got.abstract, got.authors) == (
                want.title,
                want.abstract,
                want.authors,
            )


@pytest.mark.parametrize(
    ("magic", "what", "how"),
    [
        (b"PK\x03\x04", "a zip archive", "unzip FILE, then import the files it holds"),
        (b"\x28\xb5\x2f\xfd", "zstd-compressed", "zstd -d FILE, then import the result"),
    ],
    ids=["zip", "zstd"],
)
def test_an_archive_says_how_to_unpack_it(magic, what, how, tmp_path):
    """Kaggle's arXiv snapshot downloads as a zip: it was `not a format paperscope can
    import`, with a hint to force a format."""
    import zipfile

    from test_cli import run_cli

    path = tmp_path / "arxiv.zip"
    if magic.startswith(b"PK"):
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.write(KAGGLE, "arxiv-metadata-oai-snapshot.json")
    else:
        path.write_bytes(magic + b"\x00" * 64)
    done = run_cli("import", str(path), "--db", str(tmp_path / "p.db"), "--no-embed")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"error: {path}: the file is {what}\nhint: {how}\n" in done.stderr
