"""The merge rules of store/merge.py, one case per rule, each from two real sources.

Every case imports two files describing the same paper (tests/fixtures/merge, origins in its
SOURCES.md) into a real SQLite store through the import pipeline, as `paperscope import` does,
and checks: the first import adds the paper, the second merges into it (`merged == 1`), the
store holds one record for it listing both sources, and the fields each source contributed.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from paperscope.dates import display_date, earliest, latest, precision
from paperscope.ingest.pipeline import import_file
from paperscope.model import Paper
from paperscope.normalize import parse_date
from paperscope.store.backends import open_store
from paperscope.store.sqlite import SQLiteStore

FIXTURES = Path(__file__).parent / "fixtures" / "merge"
SAMPLES = Path(__file__).parent.parent / "samples"
HF_DAILY = SAMPLES / "formats" / "huggingface-papers" / "daily-papers-2026-02-25-50-papers.json"

AGENTS_NAMES_HEAD = ["Natalie Shapira", "Chris Wendler", "Avery Yen", "Gabriele Sarti"]
ATTENTION_NAMES = [
    "Meng-Hao Guo",
    "Tian-Xing Xu",
    "Jiang-Jiang Liu",
    "Zheng-Ning Liu",
    "Peng-Tao Jiang",
    "Tai-Jiang Mu",
    "Song-Hai Zhang",
    "Ralph R. Martin",
    "Ming-Ming Cheng",
    "Shi-Min Hu",
]
MHE_NAMES = [
    "Weiyang Liu",
    "Rongmei Lin",
    "Zhen Liu",
    "Lixin Liu",
    "Zhiding Yu",
    "Bo Dai",
    "Le Song",
]


@dataclass(frozen=True)
class Case:
    """Import `first` then `second`; `paper` names the merged record; `first_gives` and
    `second_gives` are fields of the merged record and the source each value comes from."""

    rule: str
    first: str
    second: str
    paper: str
    sources: tuple[str, str]
    first_gives: dict = field(default_factory=dict)
    second_gives: dict = field(default_factory=dict)


def names(paper: Paper) -> list[str]:
    return [a.name for a in paper.authors]


def head_names(paper: Paper) -> list[str]:
    return names(paper)[:4]


#: Rule number in store/merge.py -> its case. Values that are callables are applied to the
#: merged record first (a short view of a long field).
CASES = [
    Case(
        "1 title: the stored title stays",
        "attention-survey.bib",
        "attention-survey.openalex.json",
        "2111.07624",
        ("bibtex", "openalex"),
        first_gives={"title": "Attention Mechanisms in Computer Vision: A Survey"},
        second_gives={"arxiv_id": "2111.07624", "citations": 2241},
    ),
    Case(
        "2 abstract: the longer text",
        "r-parity.semantic-scholar.json",
        "r-parity.arxiv-oai.xml",
        "1706.09418",
        ("semantic-scholar", "arxiv-oai"),
        first_gives={"citations": 131},
        second_gives={("abstract", lambda p: len(p.abstract)): 1234},
    ),
    Case(
        "3 authors: a complete list beats a partial one",
        "hyperspherical-energy.page-profile.txt",
        "hyperspherical-energy.kaggle.jsonl",
        "1805.09298",
        ("page-author-profile", "kaggle-arxiv"),
        first_gives={"external_ids": {"profile_owner": "Rongmei Lin"}},
        second_gives={(names.__name__, names): MHE_NAMES, "authors_complete": True},
    ),
    Case(
        "4 author name: the fuller spelling at the same position",
        "attention-survey.bib",
        "attention-survey.openalex.json",
        "2111.07624",
        ("bibtex", "openalex"),
        first_gives={"doi": "10.1007/s41095-022-0271-y"},
        second_gives={(names.__name__, names): ATTENTION_NAMES},
    ),
    Case(
        "5 categories: the union in order",
        "hyperspherical-energy.page-profile.txt",
        "hyperspherical-energy.kaggle.jsonl",
        "1805.09298",
        ("page-author-profile", "kaggle-arxiv"),
        first_gives={"published": "2018-05-23"},
        second_gives={"categories": ["cs.LG", "cs.CV", "stat.ML"], "comment": "NeurIPS 2018"},
    ),
    Case(
        "6a published: a year never overrides a day inside it",
        "agents-of-chaos.bib",
        "agents-of-chaos.arxiv-atom.xml",
        "2602.20021",
        ("bibtex", "arxiv-atom"),
        first_gives={"doi": "10.48550/arxiv.2602.20021"},
        second_gives={"published": "2026-02-23", "categories": ["cs.AI", "cs.CR"]},
    ),
    Case(
        "6b published: a month never overrides a day inside it",
        "attention-survey.bib",
        "attention-survey.openalex.json",
        "2111.07624",
        ("bibtex", "openalex"),
        first_gives={"title": "Attention Mechanisms in Computer Vision: A Survey"},
        second_gives={"published": "2022-03-15"},
    ),
    Case(
        "6c published: of two separate days the earlier",
        "r-parity.arxiv-oai.xml",
        "r-parity.semantic-scholar.json",
        "1706.09418",
        ("arxiv-oai", "semantic-scholar"),
        first_gives={"published": "2017-06-28", "updated": "2017-11-26"},
        second_gives={"citations": 131},
    ),
    Case(
        "7 updated: the latest",
        "agents-of-chaos.arxiv-atom.xml",
        "agents-of-chaos.kaggle-v1.jsonl",
        "2602.20021",
        ("arxiv-atom", "kaggle-arxiv"),
        first_gives={"updated": "2026-02-26"},
        second_gives={"sources": ["arxiv-atom", "kaggle-arxiv"]},
    ),
    Case(
        "8 arxiv_id, doi, journal_ref, organization: the first known value",
        "r-parity.arxiv-oai.xml",
        "r-parity.semantic-scholar.json",
        "1706.09418",
        ("arxiv-oai", "semantic-scholar"),
        first_gives={
            "journal_ref": "Eur. Phys. J. C (2017) 77:856",
            "title": "R-Parity Violation at the LHC",
        },
        second_gives={"citations": 131},
    ),
    Case(
        "9 links: the union by kind",
        "agents-of-chaos.hf-daily.json",
        "agents-of-chaos.bib",
        "2602.20021",
        ("hf-papers", "bibtex"),
        first_gives={
            ("links", lambda p: p.links.get("project")): "https://agentsofchaos.baulab.info/"
        },
        second_gives={
            ("links", lambda p: p.links.get("doi")): "https://doi.org/10.48550/arxiv.2602.20021"
        },
    ),
    Case(
        "10 sources: every source listed",
        "agents-of-chaos.hf-daily.json",
        "agents-of-chaos.arxiv-atom.xml",
        "2602.20021",
        ("hf-papers", "arxiv-atom"),
        first_gives={"sources": ["hf-papers", "arxiv-atom"], "upvotes": 20},
    ),
    Case(
        "11 upvotes, citations: the highest count",
        "agents-of-chaos.arxiv-atom.xml",
        "agents-of-chaos.hf-daily.json",
        "2602.20021",
        ("arxiv-atom", "hf-papers"),
        first_gives={"categories": ["cs.AI", "cs.CR"]},
        second_gives={"upvotes": 20},
    ),
    Case(
        "12 comment: the longer text",
        "r-parity.arxiv-oai.xml",
        "r-parity.semantic-scholar.json",
        "1706.09418",
        ("arxiv-oai", "semantic-scholar"),
        first_gives={
            ("comment", lambda p: (p.comment or "")[:30]): "43 pages, 13 tables, 17 figure"
        },
        second_gives={"external_ids": {"s2": "e0b1d4c4f5a1c6d4a1c1b0c9b7d9b4f0d2c3a1e7"}},
    ),
    Case(
        "13 external_ids: the union by system",
        "agents-of-chaos.hf-daily.json",
        "agents-of-chaos.bib",
        "2602.20021",
        ("hf-papers", "bibtex"),
        first_gives={("external_ids", lambda p: p.external_ids.get("hf")): "2602.20021"},
        second_gives={
            ("external_ids", lambda p: p.external_ids.get("bibtex")): "shapira2026agents"
        },
    ),
    Case(
        "14 id: moves to the arXiv id, the DOI still resolves",
        "attention-survey.bib",
        "attention-survey.openalex.json",
        "10.1007/s41095-022-0271-y",
        ("bibtex", "openalex"),
        second_gives={"id": "2111.07624"},
    ),
]


def value_of(paper: Paper, key) -> object:
    if isinstance(key, tuple):
        return key[1](paper)
    return getattr(paper, key)


def import_one(store: SQLiteStore, path: Path):
    summary = import_file(store, path)
    assert summary.error is None and not summary.rejected, summary
    return summary


@pytest.mark.parametrize("case", CASES, ids=[c.rule.split(":")[0] for c in CASES])
def test_merge_rule_from_two_sources(db_target, tmp_path, case: Case):
    with open_store(db_target) as store:
        first = import_one(store, FIXTURES / case.first)
        assert first.format == case.sources[0]
        before = store.count()
        assert first.added == before  # the first source adds the paper (a page may add more)
        second = import_one(store, FIXTURES / case.second)
        assert second.format == case.sources[1]
        assert (second.merged, second.added, second.unchanged) == (1, 0, 0)
        assert store.count() == before  # still one record for the paper
        paper = store.get(case.paper)
        assert paper.sources == list(case.sources)
        origins = [(s, Path(o).name) for s, o, _ in store.paper_sources(case.paper)]
        assert sorted(origins) == sorted(
            [(case.sources[0], case.first), (case.sources[1], case.second)]
        )
        for key, expected in {**case.first_gives, **case.second_gives}.items():
            assert value_of(paper, key) == expected, (case.rule, key)


def test_every_rule_of_merge_py_has_a_case():
    """The rules listed in merge.py's docstring and the cases above stay in step."""
    import paperscope.store.merge as merge

    documented = {
        int(found.group(1))
        for line in (merge.__doc__ or "").splitlines()
        if (found := re.match(r"\s*(\d+)\. .* -- ", line))
    }
    tested = {int(c.rule.split()[0].rstrip("abc")) for c in CASES}
    assert documented == set(range(1, 15)) == tested


# ------------------------------------------------------------------ the case


@pytest.mark.parametrize(
    "order",
    list(itertools.permutations(["hf", "atom", "bib"])),
    ids=lambda order: "-".join(order),
)
def test_hf_list_atom_entry_and_year_only_bibtex_give_one_record_on_the_arxiv_day(
    db_target, tmp_path, order
):
    """Issue 16: the HF daily list, an arXiv Atom entry (v2, published 2026-02-23) and a
    year-only BibTeX entry with a DOI give one record published 2026-02-23, three sources,
    whatever the order of the imports."""
    files = {
        "hf": HF_DAILY,
        "atom": FIXTURES / "agents-of-chaos.arxiv-atom.xml",
        "bib": FIXTURES / "agents-of-chaos.bib",
    }
    with open_store(db_target) as store:
        summaries = [import_one(store, files[name]) for name in order]
        assert store.count() == 50  # the daily list's 50 papers, nothing added by the others
        assert [s.merged for s in summaries][1:] == [1, 1]
        paper = store.get("2602.20021")
        assert paper.published == "2026-02-23"
        assert sorted(paper.sources) == ["arxiv-atom", "bibtex", "hf-papers"]
        assert len(paper.authors) == 38 and paper.authors_complete
        assert head_names(paper) == AGENTS_NAMES_HEAD
        assert paper.doi == "10.48550/arxiv.2602.20021"
        assert paper.categories == ["cs.AI", "cs.CR"]
        assert paper.upvotes == 20
        assert paper.updated == "2026-02-26"
        assert store.get("10.48550/arxiv.2602.20021").id == "2602.20021"


def test_year_only_bibtex_alone_keeps_the_year(db_target, tmp_path):
    with open_store(db_target) as store:
        import_one(store, FIXTURES / "agents-of-chaos.bib")
        paper = store.get("2602.20021")
        assert paper.published == "2026" and paper.year == 2026
        assert display_date(paper.published) == "2026"


def test_a_second_file_of_a_format_is_listed_under_that_format(db_target, tmp_path):
    """An arXiv Atom file, a BibTeX file, then another Atom file with the same entry: the
    second Atom file is listed as arxiv-atom. It was listed under the merged paper's last
    source (`bibtex (again.xml)`), a format that never read that file."""
    again = tmp_path / "again.xml"
    again.write_bytes((FIXTURES / "agents-of-chaos.arxiv-atom.xml").read_bytes())
    with open_store(db_target) as store:
        import_one(store, FIXTURES / "agents-of-chaos.arxiv-atom.xml")
        import_one(store, FIXTURES / "agents-of-chaos.bib")
        assert import_one(store, again).unchanged == 1
        origins = sorted((s, Path(o).name) for s, o, _ in store.paper_sources("2602.20021"))
        assert origins == [
            ("arxiv-atom", "again.xml"),
            ("arxiv-atom", "agents-of-chaos.arxiv-atom.xml"),
            ("bibtex", "agents-of-chaos.bib"),
        ]


DBLP = SAMPLES / "formats" / "bibtex" / "dblp-export-with-crossref-author-limaye.bib"


def dblp_entries(*keys: str) -> str:
    """The entries of the DBLP sample export with these keys, in this order."""
    entries = {e.split(",", 1)[0].split("{", 1)[1]: "@" + e for e in DBLP.read_text().split("\n@")}
    return "\n".join(entries[key] for key in keys)


@pytest.mark.parametrize("order", ["journal-first", "preprint-first"])
def test_journal_version_and_preprint_in_one_file_take_the_arxiv_id(tmp_path, order):
    """Rule 14: the Algorithmica version (DOI) and the CoRR preprint (arXiv id) of one paper
    give the paper its arXiv id, from one file as from two. In one file the journal version
    first kept the DOI as id: a paper's id hung on how its records were split into files."""
    keys = ["DBLP:journals/algorithmica/BajpaiKKLS22", "DBLP:journals/corr/abs-1809-05932"]
    if order == "preprint-first":
        keys.reverse()
    both = tmp_path / "both.bib"
    both.write_text(dblp_entries(*keys))
    with SQLiteStore(tmp_path / "one.db") as store:
        summary = import_one(store, both)
        assert (summary.added, summary.merged_in_file) == (1, 1)
        assert summary.ids == ["1809.05932", "1809.05932"]
        paper = store.get("1809.05932")
        assert paper.id == "1809.05932" and paper.doi == "10.1007/s00453-021-00915-7"
        assert store.get("10.1007/s00453-021-00915-7").id == "1809.05932"
    with SQLiteStore(tmp_path / "two.db") as store:
        for i, key in enumerate(keys):
            one = tmp_path / f"{i}.bib"
            one.write_text(dblp_entries(key))
            import_one(store, one)
        assert store.get("10.1007/s00453-021-00915-7").id == "1809.05932"


# ------------------------------------------------------------------ dates of any precision


@pytest.mark.parametrize(
    ("a", "b", "first", "last"),
    [
        ("2026", "2026-02-23", "2026-02-23", "2026-02-23"),
        ("2026-02", "2026-02-23", "2026-02-23", "2026-02-23"),
        ("2026", "2026-02", "2026-02", "2026-02"),
        ("2025", "2026-02-23", "2025", "2026-02-23"),
        ("2026-03", "2026-02-23", "2026-02-23", "2026-03"),
        ("2026-02-23", "2026-02-24", "2026-02-23", "2026-02-24"),
        ("2026-02-23", None, "2026-02-23", "2026-02-23"),
        (None, None, None, None),
    ],
)
def test_earliest_and_latest_prefer_the_precise_date_inside_a_period(a, b, first, last):
    assert earliest(a, b) == earliest(b, a) == first
    assert latest(a, b) == latest(b, a) == last


@pytest.mark.parametrize(
    ("raw", "parsed", "kind", "shown"),
    [
        ("2026", "2026", "year", "2026"),
        ("2026-02", "2026-02", "month", "Feb 2026"),
        ("Feb 2026", "2026-02", "month", "Feb 2026"),
        ("February, 2026", "2026-02", "month", "Feb 2026"),
        ("2026-02-23", "2026-02-23", "day", "2026-02-23"),
        ("2026-02-23T16:28:48.000Z", "2026-02-23", "day", "2026-02-23"),
        ("2026-13", None, None, ""),
    ],
)
def test_parse_date_keeps_the_precision_it_is_given(raw, parsed, kind, shown):
    assert parse_date(raw) == parsed
    assert precision(parsed) == kind
    assert display_date(parsed) == shown
