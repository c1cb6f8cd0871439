"""The arXiv RSS importer on real rss.arxiv.org feeds (an excerpt, an empty and an error feed)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from importers_helpers import run_importer, sniffed
from paperscope.errors import InputError
from paperscope.ingest import registry
from paperscope.ingest.importers.arxiv_rss import ArxivRssImporter
from paperscope.model import Author, Paper

DIR = Path(__file__).parent.parent / "samples" / "formats" / "arxiv-rss"
FEED = DIR / "rss-all-archives-2024-11-28-excerpt-items-912-961.xml"
EMPTY = DIR / "rss-empty-feed-no-items.xml"
ERROR = DIR / "rss-error-feed-bad-archive.xml"

IMPORTER = ArxivRssImporter()


def papers_of(path: Path) -> list[Paper]:
    papers, bad, deleted = run_importer(IMPORTER, path)
    assert bad == [] and deleted == []
    return papers


@pytest.fixture(scope="module")
def papers() -> list[Paper]:
    return papers_of(FEED)


def test_counts(papers: list[Paper]) -> None:
    assert len(papers) == 50
    assert papers_of(EMPTY) == []
    assert all(p.sources == ["arxiv-rss"] and p.arxiv_id and p.title for p in papers)
    assert len({p.arxiv_id for p in papers}) == 50
    assert sum(bool(p.doi) for p in papers) == 7
    assert sum(bool(p.journal_ref) for p in papers) == 6
    assert sum(len(p.categories) > 1 for p in papers) == 32
    assert all(p.comment is None for p in papers)  # the feed has no arXiv comments


def test_announce_type_decides_the_dates(papers: list[Paper]) -> None:
    kinds = re.findall(r"<arxiv:announce_type>([\w-]+)<", FEED.read_text())
    assert len(kinds) == 50
    assert {k: kinds.count(k) for k in set(kinds)} == {"new": 15, "cross": 9, "replace": 26}
    for kind, paper in zip(kinds, papers, strict=True):
        # every kind is a paper; only a "new" one is published on the announcement day
        assert paper.updated == "2024-11-28"
        assert paper.published == ("2024-11-28" if kind == "new" else None)


def test_new_item_fields(papers: list[Paper]) -> None:
    first = papers[0]
    assert first.arxiv_id == "2411.18611"
    assert first.title == "Novel Class Discovery for Open Set Raga Classification"
    # the "arXiv:... Announce Type: new Abstract:" prefix is gone
    assert first.abstract.startswith("The task of Raga classification in Indian Art Music (IAM)")
    assert first.abstract.endswith("and other music data in Music Information Retrieval (MIR).")
    assert first.authors == [
        Author("Parampreet Singh"),
        Author("Adwik Gupta"),
        Author("Vipul Arora"),
    ]
    assert first.categories == ["eess.AS"]
    assert first.links == {
        "abs": "https://arxiv.org/abs/2411.18611",
        "pdf": "https://arxiv.org/pdf/2411.18611",
    }
    second = papers[1]
    assert second.title == (
        "Robust Offline Reinforcement Learning with Linearly Structured $f$-Divergence"
        " Regularization"
    )
    assert second.categories == ["cs.LG", "cs.AI", "cs.RO", "stat.ML"]
    assert [a.name for a in second.authors] == ["Cheng Tang", "Zhishuai Liu", "Pan Xu"]
    assert len(papers[2].authors) == 7
    assert [a.name for a in papers[10].authors] == ["Sergio Pino-Alarcón", "Vladimir Juričić"]


def test_cross_and_replace_items(papers: list[Paper]) -> None:
    by_id = {p.arxiv_id: p for p in papers}
    beam = by_id["2405.12090"]  # a cross-list of a v3
    assert beam.title == (
        "Two-dimensional Synchrotron Beam Characterisation from a Single Interferogram"
    )
    assert beam.categories == ["physics.acc-ph", "astro-ph.IM", "physics.optics"]
    assert beam.doi == "10.1103/physrevaccelbeams.27.112802"
    assert beam.links["doi"] == "https://doi.org/10.1103/physrevaccelbeams.27.112802"
    assert beam.journal_ref == "Phys. Rev. Accel. Beams 27, (2024) 112802"
    assert len(beam.authors) == 5 and beam.authors[-1].name == "Ubaldo Iriso"
    floer = by_id["2105.02567"]  # a replacement; TeX accent in dc:creator
    assert [a.name for a in floer.authors] == ["Marzieh Eidi", "Jürgen Jost"]
    assert floer.categories == ["math.DS", "cs.DM", "math.AT", "math.CO", "math.DG"]
    assert floer.journal_ref == "Communications in Mathematics and Statistics, 27 December 2022"
    limit = by_id["1901.01108"]
    assert limit.abstract == (
        "An efficient algorithm is presented for computation of the limit of exp(t A) for t"
        " towards infinity where A denotes an intensity matrix of finite dimension."
    )
    assert by_id["2203.01101"].doi == "10.1103/physrevlett.129.040501"
    assert len(by_id["2203.01101"].authors) == 12
    # a paragraph break in a description survives
    assert len(by_id["2011.06533"].abstract.split("\n")) == 3


def test_error_feed_raises_with_its_message() -> None:
    with pytest.raises(InputError, match="Bad archive 'astroph'") as info:
        run_importer(IMPORTER, ERROR)
    assert "Feed error for query: http://rss.arxiv.org/rss/astroph" in str(info.value)


def test_bad_item_is_reported_and_the_rest_kept(tmp_path: Path) -> None:
    text = FEED.read_text()
    title = "<title>CAT4D: Create Anything in 4D with Multi-View Video Diffusion Models</title>"
    assert text.count(title) == 1
    broken = tmp_path / "broken.xml"
    broken.write_text(text.replace(title, "<title> </title>"))
    papers, bad, _ = run_importer(IMPORTER, broken)
    assert len(papers) == 49
    assert "2411.18613" not in {p.arxiv_id for p in papers}
    assert len(bad) == 1 and bad[0].where == "item 3"
    assert "2411.18613" in bad[0].message


def test_truncated_feed_keeps_complete_items() -> None:
    data = FEED.read_bytes()
    cut = data[: data.index(b"<item>", data.index(b"2411.18613v1")) + 30]
    items = list(IMPORTER.parse(io.BytesIO(cut), "cut.xml"))
    assert [i.arxiv_id for i in items[:3]] == ["2411.18611", "2411.18612", "2411.18613"]
    assert len(items) == 4 and items[-1].where.startswith("line ")
    with pytest.raises(InputError):
        list(IMPORTER.parse(io.BytesIO(b"<rss><channel><item>"), "x"))


def test_sniff() -> None:
    for path in (FEED, EMPTY, ERROR):
        assert IMPORTER.sniff(path.read_bytes()[:65536], path.name) >= 80
    formats = DIR.parent
    for other in (
        formats / "arxiv-api-atom" / "query-all-attention-or-mechanism-3-entries-2026.xml",
        formats / "arxiv-oai-pmh" / "listrecords-oai_dc-set-cs-from-2024-01-25-resumptiontoken.xml",
        formats / "bibtex" / "dblp-export-with-crossref-author-limaye.bib",
        formats / "kaggle-snapshot" / "arxiv-metadata-oai-snapshot-0704.0001-0704.0200.jsonl",
    ):
        assert IMPORTER.sniff(other.read_bytes()[:65536], other.name) is None
    assert IMPORTER.sniff(bytes(range(256)) * 10, "x.bin") is None


def test_registry_picks_this_importer() -> None:
    registry.all_importers()  # every format, so the others' sniffers compete too
    for path in (FEED, EMPTY, ERROR):
        assert sniffed(path).name == "arxiv-rss"
