from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import FORMATS
from importers_helpers import run_importer, sniffed
from paperscope.errors import InputError
from paperscope.ingest.importers.openalex import OpenAlexImporter
from paperscope.model import BadRecord

WORKS = FORMATS / "openalex" / "works-search-attention-mechanism-3-full-fields.json"
IMPORTER = OpenAlexImporter()


@pytest.fixture(scope="module")
def papers():
    papers, bad, deleted = run_importer(IMPORTER, WORKS)
    assert (len(papers), len(bad), len(deleted)) == (3, 0, 0)
    return papers


def test_sniffed_as_openalex():
    assert sniffed(WORKS).name == "openalex"


@pytest.mark.parametrize(
    "other",
    [
        "kaggle-snapshot/arxiv-metadata-oai-snapshot-0704.0001-0704.0200.jsonl",
        "huggingface-papers/daily-papers-2026-02-25-50-papers.json",
        "semantic-scholar/cassette-paper-batch-with-not-found-null.yaml",
        "arxiv-api-atom/cassette-idlist-astro-ph-0601001-affiliations.json",
        "arxiv-oai-pmh/listrecords-arXiv-set-physics-hep-ex-2017-12-14.xml",
    ],
)
def test_sniff_rejects_other_formats(other: str):
    path = FORMATS / other
    assert IMPORTER.sniff(path.read_bytes()[: 64 * 1024], path.name) is None
    assert IMPORTER.sniff(b"\xff\xfe{\x00", "x") is None


def test_review_without_abstract(papers):
    paper = papers[0]
    assert paper.title == "A review on the attention mechanism of deep learning"
    assert paper.abstract == ""  # abstract_inverted_index is null
    assert [(a.name, a.affiliation, a.orcid) for a in paper.authors] == [
        ("Zhaoyang Niu", "Ocean University of China", None),
        ("Guoqiang Zhong", "Ocean University of China", "0000-0002-2952-6642"),
        ("Hui Yu", "University of Portsmouth", "0000-0002-7655-9228"),
    ]
    assert paper.doi == "10.1016/j.neucom.2021.03.091"
    assert paper.arxiv_id is None
    assert paper.published == "2021-04-01"
    assert paper.citations == 3087
    assert paper.external_ids == {"openalex": "W3146366485"}
    assert paper.journal_ref == "Neurocomputing 452, 48-62"
    assert paper.links == {"doi": "https://doi.org/10.1016/j.neucom.2021.03.091"}
    assert paper.categories == []  # OpenAlex topics are not arXiv categories
    assert paper.sources == ["openalex"]


def test_rebuilt_abstract_and_arxiv_location(papers):
    paper = papers[1]
    assert paper.title == "Attention mechanisms in computer vision: A survey"
    assert paper.abstract.startswith(
        "Humans can naturally and effectively find salient regions in complex scenes. "
        "Motivated by this observation, attention mechanisms were introduced"
    )
    assert len(paper.abstract.split()) == 133  # one word per position
    assert paper.arxiv_id == "2111.07624"  # from the pmh:oai:arXiv.org location
    assert paper.doi == "10.1007/s41095-022-0271-y"
    assert paper.links == {
        "abs": "https://arxiv.org/abs/2111.07624",
        "pdf": "https://arxiv.org/pdf/2111.07624",
        "doi": "https://doi.org/10.1007/s41095-022-0271-y",
    }
    assert len(paper.authors) == 10
    assert paper.authors[2].name == "Jiang-Jiang Liu"  # raw name, not "Jiangjiang Liu"
    assert paper.authors[2].affiliation == "Nankai University"
    assert paper.authors[-1].name == "Shi-Min Hu"
    assert paper.journal_ref == "Computational Visual Media 8(3), 331-368"
    assert (paper.published, paper.citations) == ("2022-03-15", 2241)


def test_third_work(papers):
    paper = papers[2]
    assert paper.doi == "10.1016/0042-6989(95)00294-4"
    assert [(a.name, a.affiliation) for a in paper.authors] == [
        ("Heiner Deubel", "Max Planck Society"),
        ("Werner X. Schneider", "Ludwig-Maximilians-Universität München"),
    ]
    assert paper.published == "1996-06-01"
    assert paper.external_ids == {"openalex": "W2023053047"}


def test_single_work_object(tmp_path: Path):
    work = json.loads(WORKS.read_bytes())["results"][1]
    path = tmp_path / "work.json"
    path.write_text(json.dumps(work, indent=2))
    assert sniffed(path).name == "openalex"
    (paper,), bad, _ = run_importer(IMPORTER, path)
    assert not bad
    assert paper.arxiv_id == "2111.07624"


def test_json_lines_snapshot_layout_with_bad_line(tmp_path: Path):
    works = json.loads(WORKS.read_bytes())["results"]
    lines = [
        json.dumps(works[0]),
        '{"id": "https://openalex.org/W1", "ti',
        "",
        json.dumps(works[2]),
    ]
    path = tmp_path / "works.jsonl"
    path.write_text("\n".join(lines) + "\n")
    papers, bad, _ = run_importer(IMPORTER, path)
    assert [p.external_ids["openalex"] for p in papers] == ["W3146366485", "W2023053047"]
    assert [b.where for b in bad] == ["line 2"]


def test_bad_work_in_results(tmp_path: Path):
    data = json.loads(WORKS.read_bytes())
    data["results"][1].pop("title")
    data["results"][1].pop("display_name")
    path = tmp_path / "works.json"
    path.write_text(json.dumps(data, indent=1))
    papers, bad, _ = run_importer(IMPORTER, path)
    assert len(papers) == 2
    assert bad == [BadRecord("record 2", "work https://openalex.org/W3212386989 has no title")]


def test_error_response_and_empty_results(tmp_path: Path):
    error = tmp_path / "error.json"
    error.write_text(
        json.dumps({"error": "Invalid query parameters error.", "message": "page is too big"})
    )
    with pytest.raises(InputError, match="page is too big"):
        run_importer(IMPORTER, error)
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"meta": {"count": 0}, "results": []}))
    assert run_importer(IMPORTER, empty) == ([], [], [])
    truncated = tmp_path / "truncated.json"
    truncated.write_bytes(WORKS.read_bytes()[:3000])
    with pytest.raises(InputError, match="not valid JSON"):
        run_importer(IMPORTER, truncated)
