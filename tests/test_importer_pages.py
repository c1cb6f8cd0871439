"""Importers for discovery-site pages copied from the browser as plain text."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from conftest import FORMATS, PAGES
from importers_helpers import run_importer, sniffed
from paperscope.ingest.importers.page_arxiv_listing import PageArxivListingImporter
from paperscope.ingest.importers.page_hf_search import PageHFSearchImporter
from paperscope.ingest.importers.page_profile import (
    PageProfileImporter,
    infer_owner,
    split_title_authors,
)
from paperscope.model import BadRecord, Paper

PROFILE = PAGES / "author-profile-lin.txt"
HF_SEARCH = PAGES / "hf-search-global-normalization.txt"
LISTING = PAGES / "arxiv-author-listing-hu.txt"

# The page was saved on 2025-11-04 (its date picker shows "Nov 4"): "Oct 7" is 2025-10-07.
SAVED_ON = date(2025, 11, 4)

# Counted by hand, and by the one line each paper has exactly once (see test_counts_by_script).
PROFILE_PAPERS = 12
HF_PAPERS = 86
LISTING_PAPERS = 20

IMPORTERS = {
    "page-author-profile": PageProfileImporter(),
    "page-hf-search": PageHFSearchImporter(today=SAVED_ON),
    "page-arxiv-listing": PageArxivListingImporter(),
}
PAGE_OF = {
    "page-author-profile": PROFILE,
    "page-hf-search": HF_SEARCH,
    "page-arxiv-listing": LISTING,
}


def _authors(paper: Paper) -> list[str]:
    return [author.name for author in paper.authors]


def _by_title(papers: list[Paper]) -> dict[str, Paper]:
    return {paper.title: paper for paper in papers}


@pytest.fixture(scope="module")
def profile() -> list[Paper]:
    papers, bad, deleted = run_importer(IMPORTERS["page-author-profile"], PROFILE)
    assert (len(papers), len(bad), len(deleted)) == (PROFILE_PAPERS, 0, 0)
    return papers


@pytest.fixture(scope="module")
def hf() -> list[Paper]:
    papers, bad, deleted = run_importer(IMPORTERS["page-hf-search"], HF_SEARCH)
    assert (len(papers), len(bad), len(deleted)) == (HF_PAPERS, 0, 0)
    return papers


@pytest.fixture(scope="module")
def listing() -> list[Paper]:
    papers, bad, deleted = run_importer(IMPORTERS["page-arxiv-listing"], LISTING)
    assert (len(papers), len(bad), len(deleted)) == (LISTING_PAPERS, 0, 0)
    return papers


# ---------------------------------------------------------------- sniffing


@pytest.mark.parametrize("name", sorted(PAGE_OF))
def test_sniffed_as_own_page(name: str):
    assert sniffed(PAGE_OF[name]).name == name


@pytest.mark.parametrize("name", sorted(IMPORTERS))
def test_sniff_rejects_other_pages_and_every_format_fixture(name: str):
    importer = IMPORTERS[name]
    others = [path for other, path in PAGE_OF.items() if other != name]
    others += [path for path in FORMATS.rglob("*") if path.is_file()]
    assert len(others) > 20
    for path in others:
        assert importer.sniff(path.read_bytes()[: 64 * 1024], path.name) is None, path.name


@pytest.mark.parametrize("name", sorted(IMPORTERS))
def test_sniff_survives_binary(name: str):
    importer = IMPORTERS[name]
    assert importer.sniff(b"\x00\xff\xc2\xb7\n\x80\xe2\x96", "x.bin") is None
    assert importer.sniff(b"", "empty.txt") is None


# ---------------------------------------------------------------- counts and completeness


def test_counts_by_script():
    """The exact counts, found independently of the importers from one line per paper."""
    profile_heads = re.findall(r"^[A-Z]{2}[A-Z][a-z]{2} \d{1,2}, \d{4}$", _text(PROFILE), re.M)
    assert len(profile_heads) == PROFILE_PAPERS
    assert _text(HF_SEARCH).splitlines().count("\u00b7") == HF_PAPERS
    assert _text(LISTING).splitlines().count("-") == LISTING_PAPERS


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(IMPORTERS))
def test_every_paper_is_complete(name: str, profile, hf, listing):
    papers = {"page-author-profile": profile, "page-hf-search": hf, "page-arxiv-listing": listing}
    for paper in papers[name]:
        assert paper.title and paper.abstract and paper.published, paper
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", paper.published)
        assert paper.sources == [name]
        assert not paper.id
    assert len({paper.title for paper in papers[name]}) == len(papers[name])


# ---------------------------------------------------------------- author profile


def test_profile_owner_is_inferred_not_hard_coded(profile):
    assert infer_owner(_text(PROFILE)) == "Rongmei Lin"
    assert {paper.external_ids["profile_owner"] for paper in profile} == {"Rongmei Lin"}
    renamed = _text(PROFILE).replace("Rongmei Lin", "Ada Lovelace")
    assert infer_owner(renamed) == "Ada Lovelace"
    assert infer_owner("") is None


def test_profile_titles_split_from_glued_authors(profile):
    expected = [
        (
            "Federated Pruning: Improving Neural Network Efficiency with Federated Learning",
            ["Rongmei Lin", "Yonghui Xiao", "Tien-Ju Yang"],
            False,
        ),
        (
            "PV2TEA: Patching Visual Modality to Textual-Established Information Extraction",
            ["Hejie Cui", "Rongmei Lin", "Nasser Zalmout"],
            False,
        ),
        (
            "Train a Unified Multimodal Data Quality Classifier with Synthetic Data",
            ["Weizhi Wang", "Rongmei Lin", "Shiyang Li"],
            False,
        ),
        (
            "PAM: Understanding Product Images in Cross Product Category Attribute Extraction",
            ["Rongmei Lin", "Xiang He", "Jie Feng"],
            False,
        ),
        (
            "Learning with Hyperspherical Uniformity",
            ["Weiyang Liu", "Rongmei Lin", "Zhen Liu"],
            False,
        ),
        (
            "Orthogonal Over-Parameterized Training",
            ["Weiyang Liu", "Rongmei Lin", "Zhen Liu"],
            False,
        ),
        (
            "Regularizing Neural Networks via Minimizing Hyperspherical Energy",
            ["Rongmei Lin", "Weiyang Liu", "Zhen Liu"],
            False,
        ),
        (
            "Learning towards Minimum Hyperspherical Energy",
            ["Weiyang Liu", "Rongmei Lin", "Zhen Liu"],
            False,
        ),
        ("Deformable Part Networks", ["Ziming Zhang", "Rongmei Lin", "Alan Sullivan"], True),
        # the owner is not among the shown authors ("et al."): recorded last (issue 10)
        ("Decoupled Networks", ["Weiyang Liu", "Zhen Liu", "Zhiding Yu", "Rongmei Lin"], False),
        ("Robust Elastic Net Regression", ["Weiyang Liu", "Rongmei Lin", "Meng Yang"], True),
        (
            "Jointly Learning Non-negative Projection and Dictionary with Discriminative Graph "
            "Constraints for Classification",
            ["Weiyang Liu", "Zhiding Yu", "Yandong Wen", "Rongmei Lin"],
            False,
        ),
    ]
    got = [(paper.title, _authors(paper), paper.authors_complete) for paper in profile]
    assert got == expected
    assert all(paper.author_count is None for paper in profile)


def test_profile_dates_categories_organization(profile):
    first = profile[0]
    assert (first.published, first.categories) == ("2022-09-14", ["cs.LG"])
    assert first.abstract.startswith("Automatic Speech Recognition models require large amount")
    assert [paper.categories[0] for paper in profile] == [
        "cs.LG", "cs.CL", "cs.CV", "cs.CV", "cs.LG", "cs.LG",
        "cs.CV", "cs.LG", "stat.ML", "cs.CV", "cs.LG", "cs.CV",
    ]  # fmt: skip
    assert [paper.published for paper in profile][-4:] == [
        "2018-05-22",
        "2018-04-22",
        "2015-11-15",
        "2015-11-14",
    ]
    with_org = [paper for paper in profile if paper.organization]
    assert len(with_org) == 1
    assert with_org[0].organization == "amazon-science"
    assert with_org[0].title.endswith("with Synthetic Data")
    assert with_org[0].published == "2025-10-16"
    # TeX in abstracts is kept as the page shows it
    dpn = _by_title(profile)["Deformable Part Networks"]
    assert "{\\em pose-invariant}" in dpn.abstract


@pytest.mark.parametrize(
    ("line", "title", "authors", "complete"),
    [
        (
            "Fine-Tuning BERTJohn Smith, Jane Doe",
            "Fine-Tuning BERT",
            ["John Smith", "Jane Doe"],
            True,
        ),
        ("Scaling GPT-4John Smith et al.", "Scaling GPT-4", ["John Smith"], False),
        ("Look, Listen, LearnJohn Smith", "Look, Listen, Learn", ["John Smith"], True),
        (
            "Why ResNet Works, and WhenJane Doe, John Smith et al.",
            "Why ResNet Works, and When",
            ["Jane Doe", "John Smith"],
            False,
        ),
        (
            "Parsing with CNNsRyan McDonald, Yann LeCun",
            "Parsing with CNNs",
            ["Ryan McDonald", "Yann LeCun"],
            True,
        ),
        (
            "Sepsis in ICUGrant O'Keefe, J. Smith",
            "Sepsis in ICU",
            ["Grant O'Keefe", "J. Smith"],
            True,
        ),
    ],
)
def test_split_title_authors_edge_cases(line, title, authors, complete):
    assert split_title_authors(line) == (title, authors, complete)


def test_split_prefers_names_known_from_the_page():
    # "DeLiang": the earliest capital after which a name follows wins over "Liang Wang".
    assert split_title_authors("Deep NetsDeLiang Wang")[0] == "Deep Nets"
    # "deSouza" is no name word to the heuristic, which would cut at "Souza"; a name known
    # from the page (or the owner) settles it.
    line = "Deep NetsMaria deSouza, Ann Lee"
    assert split_title_authors(line)[0] == "Deep NetsMaria de"
    assert split_title_authors(line, ["Maria deSouza"]) == (
        "Deep Nets",
        ["Maria deSouza", "Ann Lee"],
        True,
    )
    assert split_title_authors("all lower case title john smith") is None


def test_profile_bad_records(tmp_path: Path):
    lines = _text(PROFILE).splitlines()
    assert lines[12] == "LGMar 2, 2021"
    lines[12] = "LGMar 42, 2021"  # paper 5: an impossible date
    lines[16] = lines[16].lower()  # paper 6: no capital left to find where the title ends
    broken = tmp_path / "profile.txt"
    broken.write_text("\n".join(lines), encoding="utf-8")
    papers, bad, _ = run_importer(IMPORTERS["page-author-profile"], broken)
    assert len(papers) == PROFILE_PAPERS - 2
    assert [b.where for b in bad] == ["line 13", "line 17"]
    assert "LGMar 42, 2021" in bad[0].message
    assert "Learning with Hyperspherical Uniformity" not in _by_title(papers)
    # the neighbours are intact: nothing ran into the paper before the broken one
    pam = _by_title(papers)[
        "PAM: Understanding Product Images in Cross Product Category Attribute Extraction"
    ]
    assert pam.abstract.startswith("Understanding product attributes")
    assert "Learning with" not in pam.abstract


def test_profile_misshapen_header_does_not_swallow_the_paper(tmp_path: Path):
    lines = _text(PROFILE).splitlines()
    lines[12] = "LG Mar 2, 2021"
    broken = tmp_path / "profile.txt"
    broken.write_text("\n".join(lines), encoding="utf-8")
    papers, bad, _ = run_importer(IMPORTERS["page-author-profile"], broken)
    assert len(papers) == PROFILE_PAPERS - 1
    assert [b.where for b in bad] == ["line 13"]
    assert "Weiyang" not in papers[3].abstract


# ---------------------------------------------------------------- Hugging Face search page


def test_hf_ranks_in_page_order(hf):
    assert [paper.external_ids["page_rank"] for paper in hf] == [
        str(rank) for rank in range(1, HF_PAPERS + 1)
    ]
    assert hf[0].title == "Conda: Column-Normalized Adam for Training Large Language Models Faster"
    assert hf[-1].title == (
        "UltraGCN: Ultra Simplification of Graph Convolutional Networks for Recommendation"
    )
    assert hf[-1].published == "2021-10-28"


def test_hf_authors_not_shown(hf):
    assert all(paper.authors == [] and not paper.authors_complete for paper in hf)
    assert (hf[0].author_count, hf[0].published) == (9, "2025-09-28")
    assert hf[0].abstract.startswith("Large language models (LLMs) have demonstrated impressive")
    assert sum(1 for paper in hf if paper.author_count) == HF_PAPERS - 1


def test_hf_upvotes_and_dates(hf):
    longvie = hf[1]
    assert longvie.title.startswith("LongVie: Multimodal-Guided Controllable")
    # "Aug 5 3": the day of the current year, then 3 upvotes
    assert (longvie.published, longvie.upvotes, longvie.author_count) == ("2025-08-05", 3, 8)
    # "Nov 7, 2024 2"
    assert (hf[5].published, hf[5].upvotes) == ("2024-11-07", 2)
    assert [paper.upvotes for paper in hf if paper.upvotes] == [3, 2, 2, 1, 2, 2, 1]
    assert hf[2].published == "2019-11-23" and hf[2].upvotes is None
    assert hf[6].title.startswith("Stratified GRPO") and hf[6].published == "2025-10-07"


@pytest.mark.parametrize(
    ("read_on", "expected"),
    [
        (date(2026, 12, 1), "2026-10-07"),  # this year's Oct 7 has passed
        (date(2026, 10, 7), "2026-10-07"),  # the very day
        (date(2026, 10, 6), "2025-10-07"),  # not yet this year: last year's
        (date(2027, 1, 2), "2026-10-07"),
    ],
)
def test_hf_day_without_year_is_the_latest_such_day_not_in_the_future(read_on, expected):
    # the page says "Oct 7" for Stratified GRPO; the expected days are written out, not
    # computed by the function the importer calls
    papers, _, _ = run_importer(PageHFSearchImporter(today=read_on), HF_SEARCH)
    assert papers[6].title.startswith("Stratified GRPO")
    assert papers[6].published == expected


def test_hf_organisation_line(hf):
    orgs = [paper for paper in hf if paper.organization]
    assert len(orgs) == 1
    adamp = orgs[0]
    assert adamp.title.startswith("AdamP: Slowing Down the Slowdown")
    assert adamp.organization == "NAVER AI Lab"
    assert adamp.external_ids == {"page_rank": "8", "hf_org": "naver-ai"}
    assert (adamp.author_count, adamp.published) == (None, "2020-06-15")


def test_hf_bad_records(tmp_path: Path):
    lines = _text(HF_SEARCH).splitlines()
    assert lines[26] == "Aug 5 3"
    lines[26] = "Aug 55 3"  # paper 2: an impossible date
    assert lines[57] == "·"
    del lines[57]  # paper 6 loses its "·" line
    broken = tmp_path / "hf.txt"
    broken.write_text("\n".join(lines), encoding="utf-8")
    papers, bad, _ = run_importer(IMPORTERS["page-hf-search"], broken)
    assert len(papers) == HF_PAPERS - 2
    assert [b.where for b in bad] == ["line 27", "line 53"]
    # the ranks of the others stay the page's ranks
    ranks = [int(paper.external_ids["page_rank"]) for paper in papers]
    assert ranks == [r for r in range(1, HF_PAPERS + 1) if r not in (2, 6)]


def test_hf_abstract_in_several_paragraphs(tmp_path: Path):
    # a summary the page shows as two paragraphs is one abstract, not a stray paragraph
    lines = _text(HF_SEARCH).splitlines()
    assert lines[30].startswith("Feature Normalization (FN) is an important technique")
    first, _, second = lines[30].partition(". ")
    lines[30:31] = [first + ".", "", second]
    split = tmp_path / "hf.txt"
    split.write_text("\n".join(lines), encoding="utf-8")
    papers, bad, _ = run_importer(IMPORTERS["page-hf-search"], split)
    assert (len(papers), bad) == (HF_PAPERS, [])
    region = papers[2]
    assert region.title == "Region Normalization for Image Inpainting"
    assert region.abstract.startswith("Feature Normalization (FN) is an important technique")
    assert region.abstract.endswith(_text(HF_SEARCH).splitlines()[30][-40:])
    assert region.external_ids["page_rank"] == "3"


@pytest.mark.parametrize(
    ("shown", "upvotes"), [("Aug 5 3", 3), ("Aug 5 1,234", 1234), ("Aug 5 1.2k", 1200)]
)
def test_hf_upvotes_as_the_page_prints_them(tmp_path: Path, shown: str, upvotes: int):
    lines = _text(HF_SEARCH).splitlines()
    assert lines[26] == "Aug 5 3"
    lines[26] = shown
    page = tmp_path / "hf.txt"
    page.write_text("\n".join(lines), encoding="utf-8")
    papers, bad, _ = run_importer(IMPORTERS["page-hf-search"], page)
    assert (len(papers), bad) == (HF_PAPERS, [])
    assert papers[1].title.startswith("LongVie")
    assert papers[1].upvotes == upvotes
    assert sniffed(page).name == "page-hf-search"


# ---------------------------------------------------------------- arXiv author listing


def test_listing_first_paper(listing):
    first = listing[0]
    assert first.title == "MMTok: Multimodal Coverage Maximization for Efficient Inference of VLMs"
    assert _authors(first) == [
        "Sixun Dong",
        "Juhua Hu",
        "Mian Zhang",
        "Ming Yin",
        "Yanjie Fu",
        "Qi Qian",
    ]
    assert first.authors_complete
    assert (first.published, first.updated) == ("2025-08-25", "2025-08-25")
    # the full text after "▽ More", not the 400-character teaser
    assert first.abstract.startswith("Vision-Language Models (VLMs) demonstrate impressive")
    assert len(first.abstract) > 1600
    assert "\u2026" not in first.abstract and "More" not in first.abstract[-10:]


def test_listing_revised_papers(listing):
    nprl = listing[10]
    assert nprl.title.startswith("NPRL: Nightly Profile Representation Learning")
    assert _authors(nprl) == [
        "Tucker Stewart",
        "Katherine Stern",
        "Grant O'Keefe",
        "Ankur Teredesai",
        "Juhua Hu",
    ]
    # "Submitted 16 November, 2023; v1 submitted 25 April, 2023;"
    assert (nprl.published, nprl.updated) == ("2023-04-25", "2023-11-16")
    last = listing[-1]
    assert last.title.startswith("Exact and Consistent Interpretation for Piecewise")
    assert _authors(last) == ["Lingyang Chu", "Xia Hu", "Juhua Hu", "Lanjun Wang", "Jian Pei"]
    assert (last.published, last.updated) == ("2018-02-17", "2019-09-12")
    assert last.abstract.startswith("Strong intelligent machines powered by deep neural networks")
    assert sum(1 for paper in listing if paper.updated != paper.published) == 8
    assert all("Juhua Hu" in _authors(paper) for paper in listing)


def test_listing_extras_when_the_copy_kept_them(tmp_path: Path):
    lines = _text(LISTING).splitlines()[:16]
    lines[1:1] = ["arXiv:2508.18264 [pdf, ps, other]"]
    lines += ["Comments: 12 pages, 5 figures", "Journal ref: CVPR 2026"]
    page = tmp_path / "listing.txt"
    page.write_text("Showing 1–1 of 1 results\n" + "\n".join(lines), encoding="utf-8")
    papers, bad, _ = run_importer(IMPORTERS["page-arxiv-listing"], page)
    assert bad == []
    (paper,) = papers
    assert paper.arxiv_id == "2508.18264"
    assert paper.links == {
        "abs": "https://arxiv.org/abs/2508.18264",
        "pdf": "https://arxiv.org/pdf/2508.18264",
    }
    assert (paper.comment, paper.journal_ref) == ("12 pages, 5 figures", "CVPR 2026")
    assert paper.title.startswith("MMTok:")


def test_listing_bad_records(tmp_path: Path):
    lines = _text(LISTING).splitlines()
    assert lines[27] == "Submitted 6 November, 2024;"
    lines[27] = "Submitted sometime;"  # paper 2: no readable date
    broken = tmp_path / "listing.txt"
    broken.write_text("\n".join(lines), encoding="utf-8")
    papers, bad, _ = run_importer(IMPORTERS["page-arxiv-listing"], broken)
    assert len(papers) == LISTING_PAPERS - 1
    assert bad == [
        BadRecord(
            "line 18",
            "no readable 'Submitted' date for "
            "'Customized Multiple Clustering via Multi-Modal Subspace Proxy Learning'",
        )
    ]
    assert papers[1].title.startswith("SimInversion")


def test_listing_year_longer_than_four_digits_is_no_date(tmp_path: Path):
    lines = _text(LISTING).splitlines()
    assert lines[27] == "Submitted 6 November, 2024;"
    lines[27] = "Submitted 6 November, 20245;"  # never read as 2024
    broken = tmp_path / "listing.txt"
    broken.write_text("\n".join(lines), encoding="utf-8")
    papers, bad, _ = run_importer(IMPORTERS["page-arxiv-listing"], broken)
    assert len(papers) == LISTING_PAPERS - 1
    assert [b.where for b in bad] == ["line 18"]
