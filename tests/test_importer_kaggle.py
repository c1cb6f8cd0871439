from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import FORMATS
from importers_helpers import counted_stream, run_importer, sniffed
from paperscope.ingest.importers.arxiv_atom import arxiv_abstract
from paperscope.ingest.importers.kaggle_jsonl import KaggleArxivImporter
from paperscope.model import BadRecord

SNAPSHOT = FORMATS / "kaggle-snapshot" / "arxiv-metadata-oai-snapshot-0704.0001-0704.0200.jsonl"
IMPORTER = KaggleArxivImporter()


@pytest.fixture(scope="module")
def papers():
    papers, bad, deleted = run_importer(IMPORTER, SNAPSHOT)
    assert (len(papers), len(bad), len(deleted)) == (200, 0, 0)
    return {paper.arxiv_id: paper for paper in papers}


def test_sniffed_as_kaggle():
    assert sniffed(SNAPSHOT).name == "kaggle-arxiv"


@pytest.mark.parametrize(
    "other",
    [
        "huggingface-papers/papers-search-q-kazakh-9-results.json",
        "openalex/works-search-attention-mechanism-3-full-fields.json",
        "semantic-scholar/cassette-paper-batch-3-full-fields-2023-12.yaml",
        "arxiv-api-atom/cassette-idlist-no-results.json",
        "bibtex/curated-with-string-macros-and-preamble.bib",
    ],
)
def test_sniff_rejects_other_formats(other: str):
    path = FORMATS / other
    assert IMPORTER.sniff(path.read_bytes()[: 64 * 1024], path.name) is None


def test_sniff_survives_binary():
    assert IMPORTER.sniff(b"\x00\xff{\x80\n\x01", "x.bin") is None
    assert IMPORTER.sniff(b"", "empty") is None


def test_counts(papers):
    assert list(papers)[:3] == ["0704.0001", "0704.0002", "0704.0003"]
    assert sum(1 for p in papers.values() if p.doi) == 117
    assert sum(1 for p in papers.values() if p.journal_ref) == 109
    assert sum(1 for p in papers.values() if len(p.categories) > 1) == 78
    assert sum(1 for p in papers.values() if p.comment) == 182
    assert all(p.sources == ["kaggle-arxiv"] and p.title and p.published for p in papers.values())


def test_first_record(papers):
    paper = papers["0704.0001"]
    assert paper.title == (
        "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    )
    assert [a.name for a in paper.authors] == [
        "C. Balázs",
        "E. L. Berger",
        "P. M. Nadolsky",
        "C.-P. Yuan",  # authors_parsed says "C. -P."
    ]
    assert paper.abstract.startswith("A fully differential calculation in perturbative quantum")
    assert paper.abstract.endswith("with judicious selection of events.")
    assert "\n" not in paper.abstract
    assert paper.categories == ["hep-ph"]
    assert paper.published == "2007-04-02"  # v1 "Mon, 2 Apr 2007 19:18:42 GMT"
    assert paper.updated == "2008-11-26"  # update_date
    assert paper.doi == "10.1103/physrevd.76.013009"
    assert paper.journal_ref == "Phys.Rev.D76:013009,2007"
    assert paper.comment == "37 pages, 15 figures; published version"
    assert paper.links == {
        "abs": "https://arxiv.org/abs/0704.0001",
        "pdf": "https://arxiv.org/pdf/0704.0001",
        "doi": "https://doi.org/10.1103/physrevd.76.013009",
    }
    assert paper.authors_complete
    assert paper.id == ""


def test_indented_line_is_a_paragraph_as_in_the_other_arxiv_formats(papers):
    """The snapshot's abstract is arXiv's metadata text, where an indented line starts a
    paragraph (14 of the 200 records); the Atom and OAI importers keep that break, so the
    same paper reads the same from every arXiv source."""
    raw = json.loads(SNAPSHOT.read_text().splitlines()[9])["abstract"]
    assert "are given.\n  The operations of Cartesian product" in raw  # 0704.0010
    paper = papers["0704.0010"]
    assert "are given.\nThe operations of Cartesian product" in paper.abstract
    assert paper.abstract == arxiv_abstract(raw)
    assert sum(1 for p in papers.values() if "\n" in p.abstract) == 14


def test_categories_primary_first_and_plain_fields(papers):
    paper = papers["0704.0002"]
    assert paper.categories == ["math.CO", "cs.CG"]
    assert [a.name for a in paper.authors] == ["Ileana Streinu", "Louis Theran"]
    assert paper.abstract.startswith("We describe a new algorithm, the $(k,\\ell)$-pebble game")
    assert paper.doi is None and "doi" not in paper.links
    assert (paper.published, paper.updated) == ("2007-03-31", "2008-12-13")
    assert papers["0704.0147"].categories == ["physics.optics", "physics.class-ph", "quant-ph"]


def test_tex_in_title_and_suffix_in_name(papers):
    assert papers["0704.0019"].title == (
        "Approximation for extinction probability of the contact process based on the Gröbner basis"
    )
    assert papers["0704.0073"].title == "A transcendental approach to Kollár's injectivity theorem"
    assert "Neal J. Evans II" in [a.name for a in papers["0704.0009"].authors]
    assert papers["0704.0147"].authors[0].name == "Sudha"  # a single name


def test_affiliations(papers):
    iliev = papers["0704.0066"].authors[0]
    assert iliev.name == "Bozhidar Z. Iliev"
    assert iliev.affiliation == (
        "Institute for Nuclear Research and Nuclear Energy, Bulgarian Academy of Sciences, "
        "Sofia, Bulgaria"
    )
    tak = papers["0704.0155"].authors[0]
    assert (tak.name, tak.affiliation) == ("Floris van der Tak", "SRON Groningen")
    # "1 and 2" are footnote marks: they are resolved through the legend that ends the
    # free-text author list, "((1) CREST, ..., (2) ..., (3) The University of Tokyo)"
    assert [a.affiliation for a in papers["0704.0025"].authors] == [
        # TeX quotes as typeset
        "CREST, Japan Science and Technology Agency; Russian Research Centre \u201cKurchatov "
        "Institute\u201d",
        "CREST, Japan Science and Technology Agency; The University of Tokyo",
    ]


def test_legend_affiliations_marks_per_author(papers):
    evans = papers["0704.0128"].authors
    assert (evans[0].name, evans[0].affiliation) == ("P. A. Evans", "University of Leicester")
    # "(5,6)", and TeX decoded as in the rest of the record
    assert (evans[-1].name, evans[-1].affiliation) == (
        "P. Romano",
        "INAF-Osservatorio Astronomico di Brera; Universita' degli Studi di Milano",
    )
    assert papers["0704.0177"].authors[0].affiliation == "Universität Dortmund, Germany"
    # a legend item with no space after its mark: "(6)Advanced Research Institute ..."
    assert papers["0704.0190"].authors[-1].affiliation == (
        "Advanced Research Institute for Science and Engineering, Waseda University, Tokyo"
    )
    # an affiliation authors_parsed already resolved is kept
    assert papers["0704.0052"].authors[0].affiliation == "Harvard University"
    # a legend written another way ("(1 Dip. Astro., Bologna; 2 ...") is not guessed at
    assert {a.affiliation for a in papers["0704.0139"].authors} == {None}


def test_legend_not_used_when_marks_and_authors_disagree(tmp_path: Path):
    record = {
        "id": "0704.9999",
        "title": "A title",
        "abstract": "An abstract.",
        "authors": "A. One (1), B. Two and C. Three (2) ((1) Lab X, (2) Lab Y)",
        "authors_parsed": [["One", "A.", ""], ["Two", "B.", ""], ["Three", "C.", ""]],
        "categories": "cs.LG",
        "versions": [{"version": "v1", "created": "Mon, 2 Apr 2007 19:18:42 GMT"}],
        "update_date": "2007-04-03",
    }
    path = tmp_path / "snapshot.jsonl"
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    (paper,), _, _ = run_importer(KaggleArxivImporter(), path)
    # two mark groups for three authors: which one lacks a mark is not known, so none is set
    assert [a.affiliation for a in paper.authors] == [None, None, None]


def test_et_al_marks_incomplete_author_list(papers):
    babar = papers["0704.0020"]
    assert [a.name for a in babar.authors] == ["The BABAR Collaboration", "B. Aubert"]
    assert not babar.authors_complete
    assert not papers["0704.0171"].authors_complete


def test_first_of_several_dois(papers):
    assert papers["0704.0033"].doi == "10.1364/josaa.23.002578"
    assert papers["0704.0038"].doi == "10.1016/j.jqsrt.2007.01.034"


def test_bad_lines_and_blank_lines(tmp_path: Path):
    lines = SNAPSHOT.read_bytes().splitlines(keepends=True)
    lines[56] = lines[56][:120] + b"\n"  # truncated JSON on line 57
    record = json.loads(lines[119])
    del record["title"]
    lines[119] = json.dumps(record).encode() + b"\n"  # line 120 has no title
    lines.extend([b"\n", b"   \r\n"])  # trailing blank lines are skipped
    broken = tmp_path / "snapshot.jsonl"
    broken.write_bytes(b"".join(lines))

    papers, bad, _ = run_importer(IMPORTER, broken)
    assert len(papers) == 198
    assert [b.where for b in bad] == ["line 57", "line 120"]
    assert "not valid JSON" in bad[0].message
    assert "title" in bad[1].message
    assert "0704.0057" not in {p.arxiv_id for p in papers}
    assert papers[-1].arxiv_id == "0704.0200"


def test_items_keep_input_order(tmp_path: Path):
    lines = SNAPSHOT.read_bytes().splitlines(keepends=True)[:3]
    path = tmp_path / "three.jsonl"
    path.write_bytes(lines[0] + b"[1, 2]\n" + b"\n" + lines[1] + b"{}\n" + lines[2])
    with path.open("rb") as stream:
        items = list(IMPORTER.parse(stream, str(path)))
    assert [type(i).__name__ for i in items] == [
        "Paper",
        "BadRecord",
        "Paper",
        "BadRecord",
        "Paper",
    ]
    assert items[1] == BadRecord("line 2", "not a JSON object")
    assert items[3].where == "line 5" and "no id" in items[3].message


def test_falls_back_to_free_text_authors(tmp_path: Path):
    record = json.loads(SNAPSHOT.read_bytes().splitlines()[0])
    del record["authors_parsed"]
    record["id"] = "arXiv:0704.0001v2"
    record["versions"] = [{"version": "v2", "created": "Tue, 24 Jul 2007 20:10:27 GMT"}]
    del record["update_date"]
    path = tmp_path / "one.jsonl"
    path.write_bytes(json.dumps(record).encode() + b"\n")
    (paper,), bad, _ = run_importer(IMPORTER, path)
    assert not bad
    assert paper.arxiv_id == "0704.0001"
    assert [a.name for a in paper.authors] == [
        "C. Balázs",
        "E. L. Berger",
        "P. M. Nadolsky",
        "C.-P. Yuan",
    ]
    # without a v1 entry the earliest version dates the paper; updated falls back to it too
    assert (paper.published, paper.updated) == ("2007-07-24", "2007-07-24")


def test_parse_streams_a_large_file(tmp_path: Path):
    # Speed is measured in bench/ingest.py, never asserted here; this checks nothing is lost
    # or duplicated when the input is many times the fixture.
    big = tmp_path / "big.jsonl"
    big.write_bytes(SNAPSHOT.read_bytes() * 100)  # 20,000 records, 28 MB
    with big.open("rb") as file:
        stream, counter = counted_stream(file)
        items = IMPORTER.parse(stream, str(big))
        next(items)
        # streamed: the first record comes after one buffer, not after the whole file
        assert counter.bytes_read <= 64 * 1024 < big.stat().st_size // 100
        count = 1 + sum(1 for _ in items)
    assert count == 20_000
    assert counter.bytes_read == big.stat().st_size
