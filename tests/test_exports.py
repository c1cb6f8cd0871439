"""Library-level exports: BibTeX, CSV, JSON, Atom and OpenSearch render hostile text safely."""

from __future__ import annotations

import csv
import io

import orjson
from lxml import etree

from paperscope.model import Author, Paper
from paperscope.serve import export

ATOM = "{http://www.w3.org/2005/Atom}"
OS = "{http://a9.com/-/spec/opensearch/1.1/}"


def hostile() -> Paper:
    return Paper(
        title="<script>alert(1)</script> 100% of {x} & $y$ #1 a_b ~ ^",
        abstract='Breaks <iframe src="javascript:alert(2)"></iframe> out & in\x01.',
        authors=[Author('"><img src=x onerror=alert(1)>'), Author("Alice O'Neil")],
        categories=["cs.CR", "cs.LG"],
        published="2026-11-02",
        arxiv_id="2611.00001",
        links={
            "abs": "https://arxiv.org/abs/2611.00001",
            "pdf": "https://arxiv.org/pdf/2611.00001",
        },
        id="2611.00001",
    )


def plain(**kw) -> Paper:
    values = dict(
        title="Attention Is All You Need",
        authors=[Author("Ashish Vaswani"), Author("Noam Shazeer")],
        categories=["cs.CL"],
        published="2017-06-12",
        arxiv_id="1706.03762",
        id="1706.03762",
    )
    values.update(kw)
    return Paper(**values)


# ------------------------------------------------------------------------------ BibTeX


def test_bibtex_entry_fields_and_key() -> None:
    entry = export.bibtex_entry(plain())
    assert entry.startswith("@misc{vaswani2017attention,\n")
    assert "  author = {Ashish Vaswani and Noam Shazeer}," in entry
    assert "  year = {2017}," in entry
    assert "  month = {jun}," in entry
    assert "  eprint = {1706.03762}," in entry
    assert "  archiveprefix = {arXiv}," in entry
    assert "  primaryclass = {cs.CL}" in entry
    assert entry.rstrip().endswith("}")


def test_bibtex_escapes_every_special_character() -> None:
    entry = export.bibtex_entry(hostile())
    title = next(line for line in entry.splitlines() if line.startswith("  title"))
    assert r"100\% of \{x\} \& \$y\$ \#1 a\_b \textasciitilde{} \textasciicircum{}" in title
    # braces are balanced: no field can close early and smuggle in another field
    depth = 0
    for ch, prev in zip(entry, " " + entry, strict=False):
        if prev == "\\":
            continue
        depth += (ch == "{") - (ch == "}")
        assert depth >= 0
    assert depth == 0


def test_bibtex_article_incomplete_authors_and_organisation_name() -> None:
    paper = plain(
        journal_ref="NeurIPS 2017",
        authors=[Author("Research and Development Team"), Author("Noam Shazeer")],
        authors_complete=False,
        doi="10.5555/3295222.3295349",
    )
    entry = export.bibtex_entry(paper)
    assert entry.startswith("@article{")
    assert "author = {{Research and Development Team} and Noam Shazeer and others}" in entry
    assert "journal = {NeurIPS 2017}" in entry
    assert r"doi = {10.5555/3295222.3295349}" in entry


def test_bibtex_many_papers_get_unique_keys() -> None:
    text = export.bibtex([plain(), plain(id="x"), plain(id="y")])
    keys = [line.split("{", 1)[1].rstrip(",") for line in text.splitlines() if line.startswith("@")]
    assert keys == ["vaswani2017attention", "vaswani2017attentiona", "vaswani2017attentionb"]


def test_bibtex_key_folds_accents_and_handles_no_authors() -> None:
    assert export.bibtex_key(plain(authors=[Author("Balázs Kégl")])) == "kegl2017attention"
    assert export.bibtex_key(plain(authors=[Author("Hu, Juhua")])) == "hu2017attention"
    assert export.bibtex_key(plain(authors=[], published=None, title="")) == "anon"


# --------------------------------------------------------------------------------- CSV


def test_csv_round_trips_and_defuses_formulas() -> None:
    evil = plain(title='=HYPERLINK("http://x")', authors=[Author("@SUM(1)")], upvotes=-3)
    text = export.csv_text([hostile(), evil])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == list(export.CSV_COLUMNS)
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["title"] == hostile().title
    assert first["authors"] == "\"><img src=x onerror=alert(1)>; Alice O'Neil"
    assert first["categories"] == "cs.CR cs.LG"
    second = dict(zip(rows[0], rows[2], strict=True))
    assert second["title"] == '\'=HYPERLINK("http://x")'
    assert second["authors"] == "'@SUM(1)"
    assert second["upvotes"] == "-3"  # a number is not a formula


# -------------------------------------------------------------------------------- JSON


def test_json_records_are_full_and_round_trip() -> None:
    records = export.json_records([hostile()])
    again = orjson.loads(orjson.dumps(records))
    assert again[0]["title"] == hostile().title
    assert again[0]["authors"][0] == {"name": '"><img src=x onerror=alert(1)>'}
    assert again[0]["abstract"].startswith("Breaks <iframe")


# -------------------------------------------------------------------------------- Atom


def test_atom_feed_is_valid_and_escapes_text() -> None:
    body = export.atom_feed(
        "paperscope: <b>daily</b>",
        "http://127.0.0.1:8000/feed.atom",
        "http://127.0.0.1:8000/",
        [hostile(), plain()],
    )
    assert b"<script>" not in body and b"<img" not in body and b"<iframe" not in body
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in body
    root = etree.fromstring(body)
    assert root.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated"):
        assert root.find(f"{ATOM}{required}") is not None
    assert root.find(f"{ATOM}title").text == "paperscope: <b>daily</b>"
    assert root.find(f"{ATOM}updated").text == "2026-11-02T00:00:00Z"
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 2
    first = entries[0]
    assert first.find(f"{ATOM}id").text == "tag:paperscope,2026:paper/2611.00001"
    assert first.find(f"{ATOM}title").text == hostile().title
    assert [a.findtext(f"{ATOM}name") for a in first.findall(f"{ATOM}author")] == [
        '"><img src=x onerror=alert(1)>',
        "Alice O'Neil",
    ]
    assert "\x01" not in first.findtext(f"{ATOM}summary")  # XML-forbidden control char dropped
    assert [c.get("term") for c in first.findall(f"{ATOM}category")] == ["cs.CR", "cs.LG"]
    links = {
        link.get("rel") + ":" + (link.get("title") or ""): link.get("href")
        for link in first.findall(f"{ATOM}link")
    }
    assert links["alternate:"] == "http://127.0.0.1:8000/paper/2611.00001"
    assert links["related:pdf"] == "https://arxiv.org/pdf/2611.00001"
    for entry in entries:
        for required in ("id", "title", "updated", "author"):
            assert entry.find(f"{ATOM}{required}") is not None


def test_atom_empty_feed_has_an_author_and_the_given_time() -> None:
    body = export.atom_feed("empty", "http://h/x.atom", "http://h/x", [], "2026-12-02T10:00:00Z")
    root = etree.fromstring(body)
    assert root.findall(f"{ATOM}entry") == []
    assert root.find(f"{ATOM}author/{ATOM}name").text == "paperscope"
    assert root.findtext(f"{ATOM}updated") == "2026-12-02T10:00:00Z"


def test_atom_paper_links_quote_doi_slashes() -> None:
    doi = plain(id="10.1000/xyz<1>", arxiv_id=None, doi="10.1000/xyz<1>")
    root = etree.fromstring(export.atom_feed("t", "http://h/s", "http://h/", [doi]))
    href = root.find(f"{ATOM}entry/{ATOM}link").get("href")
    assert href == "http://h/paper/10.1000%2Fxyz%3C1%3E"


# -------------------------------------------------------------------------- OpenSearch


def test_opensearch_description() -> None:
    root = etree.fromstring(export.opensearch_description("http://127.0.0.1:8000/"))
    assert root.tag == f"{OS}OpenSearchDescription"
    assert root.findtext(f"{OS}ShortName") == "paperscope"
    templates = {u.get("type"): u.get("template") for u in root.findall(f"{OS}Url")}
    assert templates["text/html"] == "http://127.0.0.1:8000/search?q={searchTerms}"
    assert templates["application/atom+xml"] == "http://127.0.0.1:8000/search.atom?q={searchTerms}"
    assert templates["application/json"] == "http://127.0.0.1:8000/api/v1/search?q={searchTerms}"
