from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from conftest import FORMATS
from importers_helpers import run_importer, sniffed
from paperscope.errors import InputError
from paperscope.ingest.importers.semantic_scholar import SemanticScholarImporter
from paperscope.model import BadRecord

S2 = FORMATS / "semantic-scholar"
SEARCH = S2 / "cassette-paper-search-turing-100-full-fields-2023-12.yaml"
BATCH = S2 / "cassette-paper-batch-3-full-fields-2023-12.yaml"
BATCH_NULL = S2 / "cassette-paper-batch-with-not-found-null.yaml"
RECOMMENDED = S2 / "cassette-recommendations-forpaper-100-2023-12.yaml"
ERROR = S2 / "cassette-error-404-paper-and-author-not-found.yaml"
IMPORTER = SemanticScholarImporter()


def body(cassette: Path, number: int = 0) -> str:
    """The JSON text recorded in a cassette's interaction."""
    response = yaml.safe_load(cassette.read_text())["interactions"][number]["response"]
    return response.get("content") or response["body"]["string"]


@pytest.mark.parametrize(
    ("path", "papers", "bad"),
    [(SEARCH, 100, 0), (BATCH, 3, 0), (BATCH_NULL, 3, 1), (RECOMMENDED, 100, 0)],
)
def test_counts_and_sniff(path: Path, papers: int, bad: int):
    found, bad_records, deleted = run_importer(IMPORTER, path)
    assert (len(found), len(bad_records), len(deleted)) == (papers, bad, 0)
    assert sniffed(path).name == "semantic-scholar"
    assert all(p.sources == ["semantic-scholar"] and p.external_ids["s2"] for p in found)
    assert all(p.categories == [] for p in found)  # fieldsOfStudy are not arXiv codes


def test_error_cassette_raises_with_message():
    assert sniffed(ERROR).name == "semantic-scholar"
    with pytest.raises(InputError, match="Paper with id 0 not found") as caught:
        run_importer(IMPORTER, ERROR)
    assert "HTTP 404" in str(caught.value)
    assert "Author with id 0 not found" in str(caught.value)


@pytest.mark.parametrize(
    "other",
    [
        "kaggle-snapshot/arxiv-metadata-oai-snapshot-0704.0001-0704.0200.jsonl",
        "huggingface-papers/paper-2608.09888-detail.json",
        "openalex/works-search-attention-mechanism-3-full-fields.json",
        "arxiv-api-atom/cassette-error-400-incorrect-id-format.json",
        "bibtex/dblp-export-with-crossref-author-limaye.bib",
    ],
)
def test_sniff_rejects_other_formats(other: str):
    path = FORMATS / other
    assert IMPORTER.sniff(path.read_bytes()[: 64 * 1024], path.name) is None
    assert IMPORTER.sniff(b"interactions:\n\x00\xff", "x.yaml") is None  # not S2


def test_search_counts_and_first_paper():
    papers, _, _ = run_importer(IMPORTER, SEARCH)
    assert sum(1 for p in papers if p.arxiv_id) == 26
    assert sum(1 for p in papers if p.doi) == 88
    assert sum(1 for p in papers if not p.abstract) == 28  # abstract: null
    assert all(p.published for p in papers)
    first = papers[0]
    assert first.title == (
        "Using DeepSpeed and Megatron to Train Megatron-Turing NLG 530B, "
        "A Large-Scale Generative Language Model"
    )
    assert first.arxiv_id == "2201.11990"
    assert first.doi is None
    assert first.abstract.startswith("Pretrained general-purpose language models can achieve")
    assert len(first.authors) == 20
    assert [a.name for a in first.authors[:3]] == ["Shaden Smith", "M. Patwary", "Brandon Norick"]
    assert first.published == "2022-01-28"
    assert first.citations == 476
    assert first.journal_ref is None  # the "ArXiv" journal is the preprint itself
    assert first.links == {
        "abs": "https://arxiv.org/abs/2201.11990",
        "pdf": "https://arxiv.org/pdf/2201.11990",
    }
    assert first.external_ids == {
        "s2": "7cbc2a7843411a1768ab762930707af0a3c33a19",
        "dblp": "journals/corr/abs-2201-11990",
    }


def test_search_journal_papers():
    papers = {p.title: p for p in run_importer(IMPORTER, SEARCH)[0]}
    deutsch = papers[
        "Quantum theory, the Church–Turing principle and the universal quantum computer"
    ]
    assert deutsch.doi == "10.1098/rspa.1985.0070"
    assert deutsch.arxiv_id is None
    assert [a.name for a in deutsch.authors] == ["D. Deutsch"]
    assert deutsch.published == "1985-07-08"
    assert deutsch.links == {
        "pdf": "http://www.cs.berkeley.edu/~christos/classics/Deutsch_quantum_theory.pdf",
        "doi": "https://doi.org/10.1098/rspa.1985.0070",
    }
    science = papers["Polyamide membranes with nanoscale Turing structures for water purification"]
    assert science.journal_ref == "Science 360, 518-521"
    attention = papers["Attention is Turing-Complete"]
    assert attention.published == "2021"  # year only
    assert attention.journal_ref == "J. Mach. Learn. Res. 22, 75:1-75:35"
    # an arXiv paper with a published version: arXiv links win over the open-access PDF
    acl = papers["Towards an Automatic Turing Test: Learning to Evaluate Dialogue Responses"]
    assert acl.arxiv_id == "1708.07149"
    assert acl.doi == "10.18653/v1/p17-1103"
    assert acl.links["pdf"] == "https://arxiv.org/pdf/1708.07149"
    assert acl.journal_ref == (
        "Annual Meeting of the Association for Computational Linguistics, 1116-1126"
    )


def test_arxiv_category_venue_is_not_a_journal():
    """S2 names some preprints' venue after their arXiv category ("journal": {"name":
    "arXiv: Optics", "volume": ""}): that is arXiv itself, not where the paper appeared."""
    papers = {p.title: p for p in run_importer(IMPORTER, SEARCH)[0]}
    optics = papers[
        "Globally stable microresonator Turing pattern formation for coherent high-power THz "
        "radiation on-chip"
    ]
    assert optics.arxiv_id == "1603.00948"
    assert optics.journal_ref is None  # was "arXiv: Optics"
    assert papers["Reinforcement Learning Neural Turing Machines - Revised"].journal_ref is None


def test_batch_with_null_is_a_bad_record():
    papers, bad, _ = run_importer(IMPORTER, BATCH_NULL)
    assert bad == [BadRecord("record 1", "not found")]
    first = papers[0]
    assert first.title == "How Much Should We Trust Differences-in-Differences Estimates?"
    assert [a.name for a in first.authors] == ["Marianne Bertrand", "E. Duflo", "S. Mullainathan"]
    assert first.abstract.startswith("Most Difference-in-Difference (DD) papers rely on many")
    assert first.doi == "10.2139/ssrn.288970"
    assert first.published == "2001-10-01"
    assert first.citations == 10670
    assert first.journal_ref == "Experimental & Empirical Studies eJournal"
    assert first.links == {
        "pdf": "http://papers.nber.org/papers/w8841.pdf",
        "doi": "https://doi.org/10.2139/ssrn.288970",
    }
    assert first.external_ids == {"s2": "c31c87c591a25c64fbaa82e8ac6a81831b6ac7ce"}


def test_batch_httpx_cassette():
    papers, _, _ = run_importer(IMPORTER, BATCH)
    assert [p.doi for p in papers] == [
        "10.2139/ssrn.288970",
        "10.2139/ssrn.2250500",
        "10.1257/rct.1355",
    ]
    assert papers[0].citations == 10201  # the older recording of the same paper


def test_recommendations():
    papers, _, _ = run_importer(IMPORTER, RECOMMENDED)
    assert sum(1 for p in papers if p.doi) == 51
    assert sum(1 for p in papers if not p.abstract) == 2
    first = papers[0]
    assert first.title == "Microcredit: Impacts and promising innovations"
    assert (first.authors, first.published, first.doi, first.links) == ([], None, None, {})
    by_title = {p.title: p for p in papers}
    squire = by_title[
        "A Squire Index Update: Stability and Change in Legislative Professionalization, 1979–2021"
    ]
    assert squire.journal_ref == "State Politics & Policy Quarterly"  # "&amp;" in the source
    maryland = by_title["Redrawing the 2012 map of the Maryland congressional districts"]
    assert maryland.arxiv_id == "2312.03901"


@pytest.mark.parametrize(("cassette", "count"), [(SEARCH, 100), (RECOMMENDED, 100)])
def test_bare_json_responses(tmp_path: Path, cassette: Path, count: int):
    path = tmp_path / "response.json"
    path.write_text(body(cassette))
    assert sniffed(path).name == "semantic-scholar"
    papers, bad, _ = run_importer(IMPORTER, path)
    assert (len(papers), len(bad)) == (count, 0)


def test_bare_batch_and_single_paper(tmp_path: Path):
    batch = json.loads(body(BATCH_NULL))
    path = tmp_path / "batch.json"
    path.write_text(json.dumps(batch))
    assert sniffed(path).name == "semantic-scholar"
    papers, bad, _ = run_importer(IMPORTER, path)
    assert (len(papers), bad) == (3, [BadRecord("record 1", "not found")])

    single = tmp_path / "paper.json"
    single.write_text(json.dumps(batch[1], indent=2))
    assert sniffed(single).name == "semantic-scholar"
    (paper,), bad, _ = run_importer(IMPORTER, single)
    assert not bad and paper.doi == "10.2139/ssrn.288970"


def test_bare_error_body(tmp_path: Path):
    path = tmp_path / "error.json"
    path.write_text('{"message": "Too Many Requests. Please wait and try again.", "code": "429"}')
    with pytest.raises(InputError, match="Too Many Requests"):
        run_importer(IMPORTER, path)


def test_mixed_cassette_skips_the_error(tmp_path: Path):
    error = yaml.safe_load(ERROR.read_text())["interactions"][0]
    ok = yaml.safe_load(BATCH_NULL.read_text())
    ok["interactions"].insert(0, error)
    path = tmp_path / "mixed.yaml"
    path.write_text(yaml.safe_dump(ok))
    papers, bad, _ = run_importer(IMPORTER, path)
    assert len(papers) == 3
    assert bad == [
        BadRecord("interaction 1", "HTTP 404: Paper with id 0 not found"),
        BadRecord("interaction 2, record 1", "not found"),
    ]


def test_bad_paper_in_search_is_reported(tmp_path: Path):
    data = json.loads(body(SEARCH))
    data["data"][41]["title"] = None
    data["data"][70] = "garbage"
    path = tmp_path / "search.json"
    path.write_text(json.dumps(data))
    papers, bad, _ = run_importer(IMPORTER, path)
    assert len(papers) == 98
    assert [b.where for b in bad] == ["record 42", "record 71"]
    truncated = tmp_path / "truncated.json"
    truncated.write_text(body(SEARCH)[:2000])
    with pytest.raises(InputError, match="not valid JSON"):
        run_importer(IMPORTER, truncated)


def test_accents_split_off_by_pdf_extraction_are_put_back_on_their_letters():
    """Semantic Scholar's author lists come from PDFs, where an accent can be a character of
    its own before its letter: "Weizs¨acker", "St¨uber" made author pages of their own."""
    found, _, _ = run_importer(IMPORTER, RECOMMENDED)
    names = {a.name for p in found for a in p.authors}
    assert "Robert Stüber" in names and any("Weizsäcker" in n for n in names)
    assert not any(ch in n for n in names for ch in "\u00a8\u00b4\u02c6\u02dc\u02c7")
