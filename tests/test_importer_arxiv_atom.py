"""The arXiv API Atom importer on real recorded feeds (old and current layout, JSON recordings)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from importers_helpers import run_importer, sniffed
from paperscope.errors import InputError
from paperscope.ingest import registry
from paperscope.ingest.importers.arxiv_atom import (
    ArxivAtomImporter,
    FeedPaging,
    feed_paging,
    parse_feed,
)
from paperscope.model import Author, BadRecord, Paper

DIR = Path(__file__).parent.parent / "samples" / "formats" / "arxiv-api-atom"
OLD = DIR / "query-au-del_maestro-10-entries-2016.xml"
NEW = DIR / "query-all-attention-or-mechanism-3-entries-2026.xml"
TESTING = DIR / "cassette-query-testing-10-entries-2026.json"
AFFILIATIONS = DIR / "cassette-idlist-astro-ph-0601001-affiliations.json"
NO_RESULTS = DIR / "cassette-idlist-no-results.json"
ERROR = DIR / "cassette-error-400-incorrect-id-format.json"

IMPORTER = ArxivAtomImporter()


def papers_of(path: Path) -> list[Paper]:
    papers, bad, deleted = run_importer(IMPORTER, path)
    assert bad == [] and deleted == []
    return papers


@pytest.mark.parametrize(
    ("path", "count"),
    [(OLD, 10), (NEW, 3), (TESTING, 10), (AFFILIATIONS, 1), (NO_RESULTS, 0)],
)
def test_counts(path: Path, count: int) -> None:
    papers = papers_of(path)
    assert len(papers) == count
    assert all(p.sources == ["arxiv-atom"] and p.arxiv_id and p.title for p in papers)


def test_old_layout_fields() -> None:
    papers = papers_of(OLD)
    first, second = papers[0], papers[1]
    assert first.arxiv_id == "1201.4869"
    assert first.title == "A Luttinger Liquid Core Inside Helium-4 Filled Nanopores"
    assert first.abstract.startswith("As helium-4 is cooled below 2.17 K it undergoes a phase")
    assert "\n" not in first.abstract  # hard line breaks are not paragraphs
    assert first.authors == [Author("Adrian Del Maestro")]
    assert first.categories == ["cond-mat.mes-hall", "cond-mat.other"]
    assert (first.published, first.updated) == ("2012-01-23", "2012-01-23")
    assert first.doi == "10.1142/s021797921244002x"
    assert first.journal_ref == "Int. J. Mod. Phys. B, 26, 1244002 (2012)"
    assert first.comment == "26 pages, 10 figures"
    assert first.links == {
        "abs": "https://arxiv.org/abs/1201.4869",
        "pdf": "https://arxiv.org/pdf/1201.4869",
        "doi": "https://doi.org/10.1142/s021797921244002x",
    }
    # old-style id, version dropped
    assert second.arxiv_id == "cond-mat/0412498"
    assert [a.name for a in second.authors] == ["Adrian Del Maestro", "Subir Sachdev"]
    assert second.categories == ["cond-mat.str-el", "cond-mat.stat-mech"]
    assert second.abstract.startswith("We present the theory of the effect of thermal fluctuations")
    assert "(p >= 3, integer)" in second.abstract
    # every entry carries doi, journal ref and comment; 7 have several categories
    assert sum(bool(p.doi and p.journal_ref and p.comment) for p in papers) == 10
    assert sum(len(p.categories) > 1 for p in papers) == 7
    last = papers[-1]
    assert last.arxiv_id == "0807.2873"
    assert last.title == "Theory of the pairbreaking superconductor-metal transition in nanowires"
    assert [a.name for a in last.authors] == [
        "Adrian Del Maestro",
        "Bernd Rosenow",
        "Subir Sachdev",
    ]


def test_current_layout_fields() -> None:
    deja, mechanism, spherical = papers_of(NEW)
    assert deja.arxiv_id == "2002.00741"
    assert deja.title == (
        "Déjà vu: A Contextualized Temporal Attention Mechanism for Sequential Recommendation"
    )
    # primary category first, then the others in feed order
    assert deja.categories == ["cs.IR", "cs.CL", "cs.LG"]
    assert [a.name for a in deja.authors] == ["Jibang Wu", "Renqin Cai", "Hongning Wang"]
    # the indented line in <summary> is arXiv's paragraph break
    first_para, second_para = deja.abstract.split("\n")
    assert first_para.startswith("Predicting users' preferences based on their sequential")
    assert second_para.startswith("In this paper, we argue that the influence from the past")
    assert deja.doi is None and deja.journal_ref is None
    assert deja.comment.startswith("Key Words: Sequential Recommendation")
    assert (mechanism.published, mechanism.updated) == ("2011-02-10", "2011-06-18")
    assert mechanism.journal_ref == "Mechanism and Machine Theory 46 (2011) 1335--1349"
    assert spherical.doi == "10.1016/j.mechmachtheory.2012.07.003"
    assert spherical.links["doi"] == "https://doi.org/10.1016/j.mechmachtheory.2012.07.003"
    assert spherical.authors[-1].name == "Carlos A. Cruz-Villar"


def test_recording_is_decoded_back_to_utf8() -> None:
    papers = papers_of(TESTING)
    assert [p.arxiv_id for p in papers][:3] == ["2202.12139", "2405.13786", "2005.14124"]
    second = papers[1]
    assert [a.name for a in second.authors] == [
        "Aurora Ramírez",
        "Mario Berrios",
        "José Raúl Romero",
        "Robert Feldt",
    ]
    assert second.categories == ["cs.SE", "cs.AI"]
    assert second.doi == "10.1109/icstw58534.2023.00023"
    assert papers[4].title == "ChatGPT and Software Testing Education: Promises & Perils"
    assert sum(bool(p.doi) for p in papers) == 6
    assert sum(bool(p.journal_ref) for p in papers) == 6
    assert sum(bool(p.comment) for p in papers) == 10
    assert sum(len(p.categories) > 1 for p in papers) == 4
    assert sum(p.updated != p.published for p in papers) == 5  # revised papers
    active = papers[2]
    assert (active.published, active.updated) == ("2020-05-28", "2020-07-16")
    assert active.categories == ["cs.SE", "cs.CR", "cs.LG"]


def _recording(tmp_path: Path, body: str) -> Path:
    record = json.loads(AFFILIATIONS.read_text())
    record["body"] = body
    path = tmp_path / "recording.json"
    path.write_text(json.dumps(record))
    return path


def test_wubben_mojibake_in_recording_is_repaired(tmp_path: Path) -> None:
    body = json.loads(AFFILIATIONS.read_text())["body"]
    mojibake = "Susan Wübben".encode().decode("latin-1")
    assert mojibake == "Susan WÃ¼bben"
    (paper,) = papers_of(_recording(tmp_path, body.replace("Susan Dorsher", mojibake)))
    assert paper.authors[1] == Author("Susan Wübben", "Ohio State")
    # a recorder that stored proper text is read as it is
    (paper,) = papers_of(_recording(tmp_path, body.replace("Susan Dorsher", "Susan Wübben")))
    assert paper.authors[1].name == "Susan Wübben"


def test_affiliations() -> None:
    (paper,) = papers_of(AFFILIATIONS)
    assert paper.arxiv_id == "astro-ph/0601001"
    assert paper.authors == [
        Author("Andrew Gould", "Ohio State"),
        Author("Susan Dorsher", "Ohio State"),
        Author("B. Scott Gaudi", "CfA"),
        Author("Andrzej Udalski", "Warsaw University Observatory"),
    ]
    assert paper.categories == ["astro-ph"]
    assert paper.journal_ref == "ActaAstron.56:1-50,2006"
    assert paper.comment.startswith("62 pages including 16 figures and 9 tables.")
    assert paper.abstract.startswith("We derive the frequencies of hot Jupiters (HJs)")
    assert "Gould & Morgan (2003)" in paper.abstract
    assert paper.published == "2006-01-02"
    assert paper.links["pdf"] == "https://arxiv.org/pdf/astro-ph/0601001"


def test_error_feed_raises_with_arxiv_message() -> None:
    with pytest.raises(InputError, match="incorrect id format for abc") as info:
        run_importer(IMPORTER, ERROR)
    assert "HTTP 400" in str(info.value)
    body = json.loads(ERROR.read_text())["body"].encode("latin-1")
    with pytest.raises(InputError, match="incorrect id format for abc"):
        list(parse_feed(body, "api"))


def test_parse_feed_and_paging() -> None:
    items = list(parse_feed(NEW.read_bytes(), "api"))
    assert [i.arxiv_id for i in items] == ["2002.00741", "1102.2017", "1112.2954"]
    assert feed_paging(NEW.read_bytes()) == FeedPaging(314000, 0, 3)
    assert feed_paging(OLD.read_bytes()) == FeedPaging(31, 0, 10)
    assert feed_paging(NO_RESULTS.read_bytes()) == FeedPaging(0, 0, 100)
    assert feed_paging(TESTING.read_bytes()) == FeedPaging(214881, 0, 10)
    assert list(parse_feed(NO_RESULTS.read_bytes(), "api")) == []


def test_bad_entry_is_reported_and_the_rest_kept(tmp_path: Path) -> None:
    text = OLD.read_text()
    third = "http://arxiv.org/abs/cond-mat/0603029v1"  # the third entry's id, made unreadable
    assert text.count(f"<id>{third}</id>") == 1
    broken = tmp_path / "broken.xml"
    broken.write_text(text.replace(f"<id>{third}</id>", "<id>http://arxiv.org/abs/junk</id>"))
    papers, bad, _ = run_importer(IMPORTER, broken)
    assert len(papers) == 9
    assert "cond-mat/0603029" not in {p.arxiv_id for p in papers}
    assert papers[2].arxiv_id == "1005.5383" and papers[-1].arxiv_id == "0807.2873"
    assert len(bad) == 1 and bad[0].where == "entry 3"
    assert "junk" in bad[0].message


def test_truncated_feed_keeps_complete_entries(tmp_path: Path) -> None:
    data = OLD.read_bytes()
    cut = tmp_path / "cut.xml"
    cut.write_bytes(data[: data.index(b"<entry>", data.index(b"cond-mat/0412498v1")) + 40])
    items = list(IMPORTER.parse(cut.open("rb"), str(cut)))
    assert [type(i) for i in items] == [Paper, Paper, BadRecord]
    assert items[-1].where.startswith("line ")


def test_unreadable_input_raises(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        list(parse_feed(b"<feed xmlns='http://www.w3.org/2005/Atom'><entry>", "x"))
    with pytest.raises(InputError):
        list(parse_feed(b'{"url": "x", "status_code": 200}', "x"))


def test_sniff() -> None:
    for path in (OLD, NEW, TESTING, AFFILIATIONS, NO_RESULTS, ERROR):
        head = path.read_bytes()[:65536]
        assert IMPORTER.sniff(head, path.name) >= 80
    formats = DIR.parent
    for other in (
        formats / "arxiv-rss" / "rss-empty-feed-no-items.xml",
        formats / "arxiv-oai-pmh" / "listrecords-arXivRaw-from-2014-10-01-resumptiontoken.xml",
        formats / "huggingface-papers" / "paper-2608.09888-detail.json",
        formats / "semantic-scholar" / "cassette-paper-batch-3-full-fields-2023-12.yaml",
        formats / "openalex" / "works-search-attention-mechanism-3-full-fields.json",
    ):
        assert IMPORTER.sniff(other.read_bytes()[:65536], other.name) is None
    assert IMPORTER.sniff(bytes(range(256)) * 10, "x.bin") is None


def test_registry_picks_this_importer() -> None:
    registry.all_importers()  # every format, so the others' sniffers compete too
    for path in (OLD, NEW, TESTING, AFFILIATIONS, NO_RESULTS, ERROR):
        assert sniffed(path).name == "arxiv-atom"
