"""Property-based tests (hypothesis) of everything that reads untrusted text.

The query parser, through its public functions: strict parsing either gives a tree that
prints back to itself or raises the documented QueryError (an InputError) with a position in
the query; nothing else. Every importer: any bytes, and the real recordings damaged at random,
give papers, rejected records or one InputError, never another exception.
"""

from __future__ import annotations

import inspect
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FORMATS, PAGES
from paperscope.errors import InputError, QueryError
from paperscope.ingest.importers.base import Importer
from paperscope.ingest.registry import all_importers
from paperscope.model import BadRecord, Deletion, Paper
from paperscope.rank import query

PROFILE = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# ---------------------------------------------------------------- the query parser

PIECES = [
    "ti:", "au:", "abs:", "cat:", "id:", "co:", "jr:", "all:", "author:", "year:", "after:",
    "before:", "submittedDate:", "AND", "OR", "ANDNOT", "NOT", "(", ")", '"', "*", "-", "[",
    "]", "TO", "..", ":", "\\", "transformer", "attention", "cs.LG", "2301.00001", "2021",
    "2021-03-04", "Juhua Hu", "é", "\u200b", "\x00", " ",
]  # fmt: skip
QUERIES = st.one_of(
    st.text(max_size=80),
    st.lists(st.sampled_from(PIECES), max_size=14).map(" ".join),
    st.lists(st.sampled_from(PIECES), max_size=14).map("".join),
)


def strict_parse(text: str) -> query.Node:
    """The strict parse: `parse(text, strict=True)` where the parser has a forgiving default,
    else `parse(text)`, which is strict."""
    if "strict" in inspect.signature(query.parse).parameters:
        return query.parse(text, strict=True)
    return query.parse(text)


@PROFILE
@given(QUERIES)
def test_strict_parse_gives_a_tree_or_a_positioned_query_error(text):
    try:
        node = strict_parse(text)
    except QueryError as exc:
        assert isinstance(exc, InputError)
        assert exc.position is not None and 0 <= exc.position <= len(text)
        assert "position" in str(exc) or str(exc) == "empty query"  # nothing to point at
        return
    printed = query.to_string(node)
    assert strict_parse(printed) == node  # the documented round trip
    query.free_text(node)
    query.text_terms(node)
    query.split_query(node)


@PROFILE
@given(QUERIES)
def test_default_parse_raises_nothing_but_query_errors(text):
    try:
        node = query.parse(text)
    except QueryError as exc:
        assert exc.position is not None and 0 <= exc.position <= len(text)
        return
    assert query.to_string(node)


# ---------------------------------------------------------------- importers

SEEDS = sorted(
    [p for p in FORMATS.rglob("*.*") if p.name != "SOURCES.md"] + list(PAGES.glob("*.txt"))
)
SMALL_SEEDS = [p.read_bytes()[:40_000] for p in SEEDS]


@st.composite
def damaged(draw) -> bytes:
    """A real recording's start with a few random cuts, insertions and byte flips."""
    data = bytearray(draw(st.sampled_from(SMALL_SEEDS)))
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["cut", "insert", "flip", "truncate"]))
        if kind == "cut":
            del data[at : at + draw(st.integers(1, 200))]
        elif kind == "insert":
            data[at:at] = draw(
                st.one_of(
                    st.binary(max_size=40),
                    st.sampled_from([b"\x00", b"\xff\xfe", b"{", b"[", b"<", b"</", b"&", b'"']),
                )
            )
        elif kind == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        else:
            del data[at:]
    return bytes(data)


def parse_all(importer: Importer, data: bytes) -> None:
    """Run `importer` over `data`: items of the model's kinds, or one InputError."""
    try:
        for item in importer.parse(io.BytesIO(data), "fuzz.bin"):
            assert isinstance(item, Paper | BadRecord | Deletion), item
            if isinstance(item, BadRecord):
                assert item.where and item.message
    except InputError as exc:
        assert str(exc)


IMPORTERS = sorted(all_importers(), key=lambda i: i.name)


@pytest.mark.parametrize("importer", IMPORTERS, ids=lambda i: i.name)
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.one_of(st.binary(max_size=2_000), damaged()))
def test_importer_reads_any_bytes_without_crashing(importer, data):
    parse_all(importer, data)
    importer.sniff(data[:65536], "fuzz.bin")


@pytest.mark.parametrize("path", SEEDS, ids=lambda p: p.name)
def test_every_importer_reads_every_recording_without_crashing(path: Path):
    data = path.read_bytes()
    for importer in IMPORTERS:
        parse_all(importer, data)


def test_oai_metadata_with_an_undeclared_prefix_raises_only_input_error():
    """Found by bench/fuzz.py: the recovering parser keeps 'oai_dcc:d' as a tag name, and
    asking lxml for its local name raised ValueError."""
    from lxml import etree

    from paperscope.ingest.importers import oai_pmh

    data = (
        b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRecords><record>'
        b"<header><identifier>oai:arXiv.org:1303.2033</identifier></header>"
        b"<metadata><oai_dcc:d><title>x</title></oai_dcc:d></metadata>"
        b"</record></ListRecords></OAI-PMH>"
    )
    root = etree.fromstring(data, etree.XMLParser(recover=True))
    body = root.find(".//{http://www.openarchives.org/OAI/2.0/}metadata")[0]
    assert body.tag == "oai_dcc:d"
    assert oai_pmh._local_name(body) == "oai_dcc:d"
    with pytest.raises(InputError, match="Namespace prefix oai_dcc"):
        list(oai_pmh.ArxivOaiImporter().parse(io.BytesIO(data), "oai.xml"))
