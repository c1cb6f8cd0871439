"""The arXiv OAI-PMH importer on real responses: arXiv, arXivRaw and oai_dc records, errors."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from importers_helpers import counted_stream, run_importer, sniffed
from paperscope.errors import InputError
from paperscope.ingest import registry
from paperscope.ingest.importers.oai_pmh import SUBJECT_CODES, ArxivOaiImporter, parse_response
from paperscope.model import Author, BadRecord, Deletion, Paper

DIR = Path(__file__).parent.parent / "samples" / "formats" / "arxiv-oai-pmh"
HEP_EX = DIR / "listrecords-arXiv-set-physics-hep-ex-2017-12-14.xml"
PLASMA = DIR / "listrecords-arXiv-new-oaipmh-service-set-plasm-ph-2026-01-05.xml"
RAW = DIR / "listrecords-arXivRaw-from-2014-10-01-resumptiontoken.xml"
DC = DIR / "listrecords-oai_dc-set-cs-from-2024-01-25-resumptiontoken.xml"
NO_RECORDS = DIR / "error-no-records-match.xml"
ERRORS = {
    DIR / "error-bad-argument.xml": ("badArgument", "illegal argument 'identifier'"),
    DIR / "error-bad-resumption-token.xml": ("badResumptionToken", "is illegal for this"),
    DIR / "error-id-does-not-exist.xml": ("idDoesNotExist", "oai:arXiv.org:0813.2274"),
}

IMPORTER = ArxivOaiImporter()


def papers_of(path: Path) -> list[Paper]:
    papers, bad, deleted = run_importer(IMPORTER, path)
    assert bad == [] and deleted == []
    return papers


@pytest.mark.parametrize(
    ("path", "count", "token"),
    [
        (HEP_EX, 3, None),
        (PLASMA, 3, None),
        (RAW, 6, "726959|1001"),
        (DC, 5, "6960524|1001"),
        (NO_RECORDS, 0, None),  # noRecordsMatch is an empty list, not a failure
    ],
)
def test_counts_and_resumption_tokens(path: Path, count: int, token: str | None) -> None:
    papers = papers_of(path)
    assert len(papers) == count
    assert all(p.sources == ["arxiv-oai"] and p.arxiv_id and p.title for p in papers)
    items, next_token = parse_response(path.read_bytes(), path.name)
    assert items == papers
    assert next_token == token


@pytest.mark.parametrize("path", sorted(ERRORS))
def test_error_responses_raise_with_code_and_message(path: Path) -> None:
    code, message = ERRORS[path]
    with pytest.raises(InputError, match=re.escape(code)) as info:
        run_importer(IMPORTER, path)
    assert message in str(info.value)
    with pytest.raises(InputError, match=re.escape(code)):
        parse_response(path.read_bytes(), path.name)


def test_arxiv_format_fields() -> None:
    sipm, rpv, neutrinos = papers_of(HEP_EX)
    assert sipm.arxiv_id == "1706.05371"
    assert sipm.title == (
        "Evaluation of Silicon Photomultipliers for use as Photosensors in Liquid Xenon Detectors"
    )
    assert len(sipm.authors) == 13
    assert sipm.authors[:2] == [Author("Tyler Anderson"), Author("Jacob Cutter")]
    assert sipm.authors[-1] == Author("Mani Tripathi")
    assert sipm.categories == ["physics.ins-det", "hep-ex"]
    assert (sipm.published, sipm.updated) == ("2017-06-16", "2017-12-12")
    assert sipm.abstract.startswith("Silicon photomultipliers (SiPMs) are potential solid-state")
    assert "\n" not in sipm.abstract
    assert sipm.comment == "10 pages, 9 figures"
    assert sipm.doi is None and sipm.journal_ref is None
    assert rpv.title == "R-Parity Violation at the LHC"
    assert rpv.authors[2] == Author("Manuel E. Krauss")
    assert rpv.doi == "10.1140/epjc/s10052-017-5414-4"
    assert rpv.journal_ref == "Eur. Phys. J. C (2017) 77:856"
    assert rpv.comment == (
        "43 pages, 13 tables, 17 figures; updated Figs. 11-17 and Tab. 12 including NLO"
        " corrections; version accepted for publication in EPJC"
    )
    assert rpv.links == {
        "abs": "https://arxiv.org/abs/1706.09418",
        "pdf": "https://arxiv.org/pdf/1706.09418",
        "doi": "https://doi.org/10.1140/epjc/s10052-017-5414-4",
    }
    assert neutrinos.categories == ["hep-ph", "astro-ph.CO", "hep-ex"]
    assert neutrinos.published == "2017-07-04"


def test_arxiv_format_from_the_new_service() -> None:
    table, turing, reconnection = papers_of(PLASMA)
    assert table.arxiv_id == "2504.11237"
    assert table.title == "Periodic table for highly charged ions"
    assert [a.name for a in table.authors] == [
        "Chunhai Lyu",
        "Christoph H. Keitel",
        "Zoltán Harman",
    ]
    assert table.categories == ["physics.atom-ph", "physics.optics", "physics.plasm-ph", "quant-ph"]
    assert table.doi == "10.1103/bppp-53g1"
    assert table.journal_ref == "Phys. Rev. Research 7, L042071 (2025)"
    assert table.abstract.startswith("Mendeleev's periodic table successfully groups")
    assert (table.published, table.updated) == ("2025-04-15", "2026-01-05")
    assert turing.categories[:2] == ["physics.comp-ph", "cond-mat.soft"]
    assert turing.authors == [Author("Magnus F Ivarsen")]
    # this service's <created> for 2508.21012 is 2025-12-16, months after the id was issued:
    # not the first version's date, so no publication date rather than a wrong one
    assert (turing.published, turing.updated) == (None, "2026-01-05")
    assert reconnection.published is None  # 2510.07502 "created" 2025-12-31
    assert len(reconnection.authors) == 12
    assert reconnection.authors[8] == Author("D. O'Donnell")
    assert reconnection.doi == "10.1103/yjh7-hy2s"


def test_arxiv_raw_fields() -> None:
    papers = papers_of(RAW)
    assert [p.arxiv_id for p in papers] == [
        "0704.0471",
        "0704.0716",
        "0704.0874",
        "0704.1109",
        "0704.1114",
        "0704.1586",
    ]
    symmetry, limits, farkas, strings, _, core = papers
    assert symmetry.title == (
        "Density dependence of the symmetry energy and the nuclear equation of state:"
        " A Dynamical and Statistical model perspective"
    )
    # "D.V. Shetty, S.J. Yennello, and G.A. Souliotis"
    assert [a.name for a in symmetry.authors] == ["D.V. Shetty", "S.J. Yennello", "G.A. Souliotis"]
    # <doi> holds the paper's DOI and its erratum's, separated by a space: the first is taken
    assert symmetry.doi == "10.1103/physrevc.76.024606"
    assert symmetry.journal_ref == "Phys.Rev.C76:024606,2007; Erratum-ibid.C76:039902,2007"
    assert (symmetry.published, symmetry.updated) == ("2007-04-03", "2007-04-03")
    assert 'extremely " stiff " and " soft "' in symmetry.abstract
    # four versions: published is v1's day, updated v4's
    assert (limits.published, limits.updated) == ("2007-04-05", "2008-11-14")
    assert limits.categories == ["math-ph", "math.MP"]
    assert limits.comment == (
        "54 pages, 2 figures; v2 updated and slightly expanded; v3 changes in some proofs;"
        " v4 slightly expanded"
    )
    assert (farkas.published, farkas.updated) == ("2007-04-06", "2014-11-20")
    assert [a.name for a in strings.authors] == ["Valeria M. Rosa", "Patricio S. letelier"]
    assert strings.doi == "10.1007/s10773-009-0204-x"
    # math kept as written: "$^{11}$", not "$^11$"
    title = "Core excitation in the elastic scattering and breakup of $^{11}$Be on protons"
    assert core.title == title
    assert core.doi == "10.1103/physrevc.76.014611"
    assert sum(bool(p.doi) for p in papers) == 4
    assert all(p.journal_ref for p in papers)


def test_oai_dc_fields() -> None:
    papers = papers_of(DC)
    fourier = papers[0]
    assert fourier.arxiv_id == "1303.2033"
    assert fourier.title == "Extended Fourier analysis of signals"
    assert fourier.authors == [Author("Vilnis Liepins")]  # from "Liepins, Vilnis"
    # long subject names mapped to arXiv codes
    assert fourier.categories == ["cs.DS", "cs.IT", "math.NA"]
    assert fourier.abstract.startswith("This summary of the doctoral thesis is created")
    assert "Comment:" not in fourier.abstract
    assert fourier.comment == "32 pages, 9 figures"
    assert (fourier.published, fourier.updated) == ("2013-03-08", "2024-01-23")
    skeleton = papers[1]
    assert [a.name for a in skeleton.authors] == [
        "Chuankun Li",
        "Shuai Li",
        "Yanbo Gao",
        "Ping Chen",
        "Jian Li",
        "Wanqing Li",
    ]
    assert skeleton.categories == ["cs.CV"]
    assert (skeleton.published, skeleton.updated) == ("2024-01-25", "2024-01-25")
    assert skeleton.comment is None
    chat = papers[-1]
    assert chat.title == "(Chat)GPT v BERT: Dawn of Justice for Semantic Change Detection"
    assert chat.categories == ["cs.CL"]
    assert chat.comment == "Accepted to the Findings of EACL 2024"
    assert chat.links["abs"] == "https://arxiv.org/abs/2401.14040"
    assert [p.comment is not None for p in papers] == [True, False, False, False, True]


def test_subject_names_and_set_fallback(tmp_path: Path) -> None:
    assert SUBJECT_CODES["high energy physics - theory"] == "hep-th"
    assert SUBJECT_CODES["condensed matter - soft condensed matter"] == "cond-mat.soft"
    assert SUBJECT_CODES["statistics - machine learning"] == "stat.ML"
    assert SUBJECT_CODES["mathematical physics"] == "math-ph"
    assert SUBJECT_CODES["mathematics - mathematical physics"] == "math.MP"
    # a subject name not in arXiv's taxonomy: the header's setSpec gives the archive
    text = DC.read_text().replace(
        "<dc:subject>Computer Science - Computation and Language</dc:subject>",
        "<dc:subject>Computer Science - Something New</dc:subject>",
    )
    path = tmp_path / "dc.xml"
    path.write_text(text)
    assert papers_of(path)[-1].categories == ["cs"]


def test_deleted_record_yields_a_deletion(tmp_path: Path) -> None:
    # No real deleted record was found anywhere; this is a real record's header marked deleted
    # and its metadata dropped, which is how OAI-PMH sends one.
    text = HEP_EX.read_text()
    start = text.index("<record>\n<header>\n <identifier>oai:arXiv.org:1706.09418")
    end = text.index("</record>", start)
    record = text[start:end]
    header = record[: record.index("</header>") + len("</header>")]
    deleted = header.replace("<header>", '<header status="deleted">') + "\n"
    path = tmp_path / "deleted.xml"
    path.write_text(text[:start] + deleted + text[end:])
    papers, bad, deletions = run_importer(IMPORTER, path)
    assert [p.arxiv_id for p in papers] == ["1706.05371", "1707.00874"]
    assert bad == []
    assert deletions == [Deletion("1706.09418", "record 2")]
    items, token = parse_response(path.read_bytes(), "deleted.xml")
    assert [type(i) for i in items] == [Paper, Deletion, Paper]
    assert token is None


def test_bad_record_is_reported_and_the_rest_kept(tmp_path: Path) -> None:
    text = RAW.read_text()
    title = "<title>Limit distributions and scaling functions</title>"
    assert text.count(title) == 1
    path = tmp_path / "broken.xml"
    path.write_text(text.replace(title, ""))
    papers, bad, _ = run_importer(IMPORTER, path)
    assert len(papers) == 5
    assert "0704.0716" not in {p.arxiv_id for p in papers}
    assert len(bad) == 1 and bad[0].where == "record 2"
    assert "0704.0716" in bad[0].message


def test_last_page_has_an_empty_token(tmp_path: Path) -> None:
    data = RAW.read_bytes().replace(b">726959|1001<", b"><")
    assert parse_response(data, "last-page.xml")[1] is None


def test_truncated_dump_keeps_complete_records() -> None:
    data = RAW.read_bytes()
    cut = data[: data.index(b"<record>", data.index(b"0704.0874")) + 20]
    items = list(IMPORTER.parse(io.BytesIO(cut), "cut.xml"))
    assert [type(i) for i in items] == [Paper, Paper, Paper, BadRecord]
    assert items[-1].where.startswith("line ")
    with pytest.raises(InputError):
        list(IMPORTER.parse(io.BytesIO(b"not xml at all"), "x"))


def test_large_dump_streams() -> None:
    text = HEP_EX.read_text()
    start, end = text.index("<record>"), text.rindex("</record>") + len("</record>")
    dump = (text[:start] + text[start:end] * 2000 + text[end:]).encode()
    stream, counter = counted_stream(io.BytesIO(dump))
    items = IMPORTER.parse(stream, "dump.xml")
    next(items)
    # iterparse: the first record comes after a few reads, not after the whole 15 MB dump
    assert counter.bytes_read <= 256 * 1024 < len(dump) // 50
    count = 1 + sum(1 for item in items)
    assert count == 6000
    assert counter.bytes_read == len(dump)


def test_sniff() -> None:
    for path in (HEP_EX, PLASMA, RAW, DC, NO_RECORDS, *ERRORS):
        assert IMPORTER.sniff(path.read_bytes()[:65536], path.name) >= 80
    formats = DIR.parent
    for other in (
        formats / "arxiv-api-atom" / "query-au-del_maestro-10-entries-2016.xml",
        formats / "arxiv-rss" / "rss-all-archives-2024-11-28-excerpt-items-912-961.xml",
        formats / "kaggle-snapshot" / "arxiv-metadata-oai-snapshot-0704.0001-0704.0200.jsonl",
        formats / "openalex" / "works-search-attention-mechanism-3-full-fields.json",
    ):
        assert IMPORTER.sniff(other.read_bytes()[:65536], other.name) is None
    assert IMPORTER.sniff(bytes(range(256)) * 10, "x.bin") is None


def test_registry_picks_this_importer() -> None:
    registry.all_importers()  # every format, so the others' sniffers compete too
    for path in (HEP_EX, PLASMA, RAW, DC, NO_RECORDS, *ERRORS):
        assert sniffed(path).name == "arxiv-oai"
