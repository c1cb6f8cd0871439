from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import FORMATS
from importers_helpers import run_importer, sniffed
from paperscope.errors import InputError
from paperscope.ingest.importers.hf_papers import HuggingFacePapersImporter, parse_json
from paperscope.model import BadRecord, Paper

HF = FORMATS / "huggingface-papers"
DAILY = HF / "daily-papers-2026-02-25-50-papers.json"
DETAIL = HF / "paper-2608.09888-detail.json"
SEARCH = HF / "papers-search-q-kazakh-9-results.json"
IMPORTER = HuggingFacePapersImporter()


@pytest.mark.parametrize(
    ("path", "count"),
    [(DAILY, 50), (DETAIL, 1), (SEARCH, 9)],
)
def test_counts_and_sniff(path: Path, count: int):
    papers, bad, deleted = run_importer(IMPORTER, path)
    assert (len(papers), len(bad), len(deleted)) == (count, 0, 0)
    assert sniffed(path).name == "hf-papers"
    assert all(p.sources == ["hf-papers"] and p.arxiv_id and p.published for p in papers)
    assert all(p.external_ids == {"hf": p.arxiv_id} for p in papers)
    assert all(p.categories == [] for p in papers)


@pytest.mark.parametrize(
    "other",
    [
        "kaggle-snapshot/arxiv-metadata-oai-snapshot-0704.0001-0704.0200.jsonl",
        "openalex/works-search-attention-mechanism-3-full-fields.json",
        "semantic-scholar/cassette-paper-search-turing-100-full-fields-2023-12.yaml",
        "arxiv-api-atom/cassette-query-testing-10-entries-2026.json",
        "arxiv-rss/rss-empty-feed-no-items.xml",
    ],
)
def test_sniff_rejects_other_formats(other: str):
    path = FORMATS / other
    assert IMPORTER.sniff(path.read_bytes()[: 64 * 1024], path.name) is None


def test_sniff_rejects_html_page():
    path = Path(__file__).parent.parent / "samples" / "pages" / "hf-search-global-normalization.txt"
    assert IMPORTER.sniff(path.read_bytes()[: 64 * 1024], path.name) is None
    assert IMPORTER.sniff(b"\x00\xff[\x80", "x") is None


def test_daily_papers():
    papers, _, _ = run_importer(IMPORTER, DAILY)
    first = papers[0]
    assert first.arxiv_id == "2602.18940"
    assert first.title == "DREAM: Deep Research Evaluation with Agentic Metrics"
    assert first.abstract.startswith("Deep Research Agents generate analyst-grade reports")
    names = [a.name for a in first.authors]
    assert len(names) == 11
    assert names[:2] == ["Elad Ben Avraham", "Changhao Li"]
    assert names[-1] == "Ron Litman"
    # paper.publishedAt 2026-02-21T19:14:31Z (the wrapper's copy is time-shifted)
    assert first.published == "2026-02-21"
    assert first.upvotes == 2
    assert first.organization == "Amazon Web Services"  # fullname, not the handle "AWS"
    assert first.links == {
        "abs": "https://arxiv.org/abs/2602.18940",
        "pdf": "https://arxiv.org/pdf/2602.18940",
    }
    assert sum(1 for p in papers if p.organization) == 32
    assert sum(1 for p in papers if "code" in p.links) == 27
    assert sum(1 for p in papers if "project" in p.links) == 21


def test_ai_summary_is_not_the_abstract():
    raw = json.loads(DAILY.read_bytes())
    papers, _, _ = run_importer(IMPORTER, DAILY)
    for entry, paper in zip(raw, papers, strict=True):
        summary, ai = entry["paper"]["summary"], entry["paper"].get("ai_summary")
        assert paper.abstract == " ".join(summary.split())
        # one entry (2602.18940) carries its summary as ai_summary too; all others differ
        if ai and ai != summary:
            assert ai not in paper.abstract


def test_detail():
    (paper,), _, _ = run_importer(IMPORTER, DETAIL)
    assert paper.arxiv_id == "2608.09888"
    assert paper.title == "BDH-CQ: In-Context Learning with Recurrent Latent Reasoning"
    assert [a.name for a in paper.authors] == [
        "Björn Engdahl",
        "Adrian Kosowski",
        "Jan Chorowski",
        "Zuzanna Stamirowska",
        "Przemysław Uznański",
        "Junlin Jiang",
        "Rohan Phadke",
        "Remigiusz Kinas",  # the name on the paper, not the HF profile's "Remek Kinas"
        "Richard Zhong",
    ]
    assert paper.published == "2026-08-10"
    assert paper.upvotes == 782
    assert paper.organization == "Pathway"
    assert paper.links["code"] == "https://github.com/pathwaycom/arc-task-gen"
    assert paper.links["project"].startswith("https://pathway.com/blog/pathway-150m-model")
    assert paper.abstract.startswith("We introduce BDH-CQ, a reasoning model")
    assert "inference cost of \\$0.0007 per task" in paper.abstract  # arXiv TeX kept as is
    assert "A 150M-parameter reasoning model" not in paper.abstract  # the ai_summary


def test_search():
    papers, _, _ = run_importer(IMPORTER, SEARCH)
    assert [p.arxiv_id for p in papers][:3] == ["2404.04487", "2403.19399", "2403.19335"]
    first = papers[0]
    assert first.title == "KazQAD: Kazakh Open-Domain Question Answering Dataset"
    assert [a.name for a in first.authors] == [
        "Rustem Yeshpanov",
        "Pavel Efimov",
        "Leonid Boytsov",
        "Ardak Shalkarbayuli",
        "Pavel Braslavski",
    ]
    assert first.abstract.startswith("We introduce KazQAD -- a Kazakh open-domain question")
    assert "\n" not in first.abstract  # hard line breaks folded
    assert (first.published, first.upvotes, first.organization) == ("2024-04-06", 1, None)
    assert papers[3].arxiv_id == "2111.13419" and papers[3].published == "2021-11-26"


def test_parse_json_on_decoded_values():
    daily = json.loads(DAILY.read_bytes())
    items = list(parse_json(daily, "live"))
    assert len(items) == 50 and all(isinstance(i, Paper) for i in items)
    (single,) = parse_json(json.loads(DETAIL.read_bytes()), "live")
    assert single.arxiv_id == "2608.09888"
    (wrapped,) = parse_json(daily[0], "live")
    assert wrapped.arxiv_id == "2602.18940"
    assert list(parse_json([], "live")) == []
    with pytest.raises(InputError, match="Invalid"):
        list(parse_json({"error": "Invalid username or password."}, "live"))
    with pytest.raises(InputError):
        list(parse_json("nonsense", "live"))


def test_bad_entry_is_reported_and_others_kept(tmp_path: Path):
    data = json.loads(SEARCH.read_bytes())
    del data[3]["paper"]["id"]
    data[6] = {"thumbnail": "x.png"}
    broken = tmp_path / "search.json"
    broken.write_text(json.dumps(data))
    papers, bad, _ = run_importer(IMPORTER, broken)
    assert len(papers) == 7
    assert bad == [
        BadRecord("record 4", "paper has no id"),
        BadRecord("record 7", "no paper object"),
    ]


def test_unreadable_file(tmp_path: Path):
    broken = tmp_path / "daily.json"
    broken.write_bytes(DAILY.read_bytes()[:5000])
    with pytest.raises(InputError, match="not valid JSON"):
        run_importer(IMPORTER, broken)
