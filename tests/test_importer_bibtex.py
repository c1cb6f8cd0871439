from __future__ import annotations

import io
from pathlib import Path

import pytest

from conftest import FORMATS
from importers_helpers import run_importer, sniffed
from paperscope.errors import InputError
from paperscope.ingest.importers.base import HEAD_BYTES
from paperscope.ingest.importers.bibtex import BibtexImporter
from paperscope.model import BadRecord, Paper

DBLP = FORMATS / "bibtex" / "dblp-export-with-crossref-author-limaye.bib"
CURATED = FORMATS / "bibtex" / "curated-with-string-macros-and-preamble.bib"
IMPORTER = BibtexImporter()


def parse_text(text: str) -> list:
    return list(IMPORTER.parse(io.BytesIO(text.encode()), "test.bib"))


@pytest.fixture(scope="module")
def dblp() -> dict[str, Paper]:
    papers, bad, deleted = run_importer(IMPORTER, DBLP)
    # 77 @article + 41 @inproceedings; the 39 @proceedings are crossref containers.
    assert (len(papers), len(bad), len(deleted)) == (118, 0, 0)
    return {paper.external_ids["bibtex"]: paper for paper in papers}


@pytest.fixture(scope="module")
def curated() -> dict[str, Paper]:
    papers, bad, deleted = run_importer(IMPORTER, CURATED)
    # 31 entries; the 4 @preamble and 7 @string are not papers.
    assert (len(papers), len(bad), len(deleted)) == (31, 0, 0)
    return {paper.external_ids["bibtex"]: paper for paper in papers}


# ---------------------------------------------------------------- sniffing


@pytest.mark.parametrize("path", [DBLP, CURATED])
def test_sniffed_as_bibtex(path: Path):
    assert sniffed(path).name == "bibtex"
    assert IMPORTER.sniff(path.read_bytes()[:HEAD_BYTES], path.name) >= 80


@pytest.mark.parametrize(
    "other",
    [
        "semantic-scholar/cassette-paper-batch-3-full-fields-2023-12.yaml",
        "semantic-scholar/cassette-paper-search-turing-100-full-fields-2023-12.yaml",
        "openalex/works-search-attention-mechanism-3-full-fields.json",
        "arxiv-api-atom/query-au-del_maestro-10-entries-2016.xml",
        "kaggle-snapshot/arxiv-metadata-oai-snapshot-0704.0001-0704.0200.jsonl",
        "huggingface-papers/daily-papers-2026-02-25-50-papers.json",
        "arxiv-rss/rss-empty-feed-no-items.xml",
    ],
)
def test_sniff_rejects_other_formats(other: str):
    path = FORMATS / other
    assert IMPORTER.sniff(path.read_bytes()[:HEAD_BYTES], path.name) is None


def test_sniff_after_comments_and_on_garbage():
    head = b"% This file was created with JabRef\n\n@Article{x,\n title={T}}"
    assert IMPORTER.sniff(head, "refs.txt") == 90
    assert IMPORTER.sniff(b"@STRING{acm = {ACM}}", "x") == 90
    assert IMPORTER.sniff(b"\x00\x01\xff\xfe@article{", "x") is None
    assert IMPORTER.sniff(b"", "x") is None
    assert IMPORTER.sniff(b"Hello @article there", "x") is None


# ---------------------------------------------------------------- the DBLP export


def test_dblp_article(dblp: dict[str, Paper]):
    paper = dblp["DBLP:journals/cacm/LimayeST24"]
    assert paper.title == "Superpolynomial Lower Bounds Against Low-Depth Algebraic Circuits"
    assert [a.name for a in paper.authors] == [
        "Nutan Limaye",
        "Srikanth Srinivasan",
        "Sébastien Tavenas",
    ]
    assert paper.authors_complete
    assert paper.published == "2024"  # year only: no invented 1 January
    assert paper.doi == "10.1145/3611094"
    assert paper.links == {"doi": "https://doi.org/10.1145/3611094"}
    assert paper.journal_ref == "Commun. ACM 67(2): 101-108 (2024)"
    assert paper.external_ids == {
        "bibtex": "DBLP:journals/cacm/LimayeST24",
        "dblp": "journals/cacm/LimayeST24",
    }
    assert paper.sources == ["bibtex"]
    assert paper.arxiv_id is None


def test_dblp_corr_entries_are_arxiv(dblp: dict[str, Paper]):
    paper = dblp["DBLP:journals/corr/abs-2408-03465"]
    assert paper.arxiv_id == "2408.03465"
    assert paper.title == (
        "On the geometry of k-SAT solutions: what more can PPZ and Schöning's algorithms do?"
    )
    assert paper.doi == "10.48550/arxiv.2408.03465"
    assert paper.links["abs"] == "https://arxiv.org/abs/2408.03465"
    assert paper.links["pdf"] == "https://arxiv.org/pdf/2408.03465"
    assert paper.journal_ref is None  # a CoRR listing is the preprint itself
    corr = [p for key, p in dblp.items() if key.startswith("DBLP:journals/corr/")]
    assert len(corr) == 18
    assert all(p.arxiv_id for p in corr)


def test_dblp_other_eprints_kept_as_external_ids(dblp: dict[str, Paper]):
    paper = dblp["DBLP:journals/eccc/ChauguleL24"]
    assert paper.arxiv_id is None
    assert paper.external_ids["eccc"] == "TR24-021"
    assert paper.links == {"abs": "https://eccc.weizmann.ac.il/report/2024/021"}
    assert paper.journal_ref == "Electron. Colloquium Comput. Complex. TR24-021 (2024)"


def test_dblp_crossref_inherits_from_proceedings(dblp: dict[str, Paper]):
    # Series and volume are only in @proceedings{DBLP:conf/coco/2020}, read 1,600 lines later.
    paper = dblp["DBLP:conf/coco/ChauguleKLMS020"]
    assert paper.journal_ref == (
        "35th Computational Complexity Conference, CCC 2020, July 28-31, 2020, Saarbrücken, "
        "Germany (Virtual Conference), LIPIcs 169: 14:1-14:27"
    )
    assert paper.published == "2020"
    # The proceedings' own doi/url/isbn identify the volume and are not inherited.
    assert paper.doi == "10.4230/lipics.ccc.2020.14"
    assert paper.links == {"doi": "https://doi.org/10.4230/lipics.ccc.2020.14"}
    assert not any(p.title.startswith("35th Computational Complexity") for p in dblp.values())


def test_dblp_accents_and_markup(dblp: dict[str, Paper]):
    names = {a.name for p in dblp.values() for a in p.authors}
    assert {"Sébastien Tavenas", "Hervé Fournier"} <= names
    paper = dblp["DBLP:journals/siamcomp/LimayeSSTV21"]
    assert paper.title == (
        r"A Fixed-Depth Size-Hierarchy Theorem for $\mathrm{AC}^0[\oplus]$ via the Coin Problem"
    )


# ---------------------------------------------------------------- the curated file


def test_curated_string_macros_resolved(curated: dict[str, Paper]):
    # `bibsource = arx` is a macro use; nothing of it leaks into the record, and the
    # entry parses in full (eprint and url after it are read).
    paper = curated["Joyal17"]
    assert paper.title == "Notes on Clans and Tribes"
    assert [a.name for a in paper.authors] == ["André Joyal"]
    assert paper.arxiv_id == "1710.10238"
    assert paper.published == "2017"
    assert paper.journal_ref is None


def test_string_macro_values_and_concatenation():
    items = parse_text(
        '@string{ pub = "Cambridge {U}niversity Press" }\n'
        '@STRING(jn = {J. } # "Funct. " # {Prog.})\n'
        "@article{k1,\n  title = {A} # { } # {Title},\n  journal = jn,\n  publisher = pub,\n"
        '  volume = 12, year = 2001, month = mar # "~3", author = "Doe, Jane and others",\n}\n'
    )
    assert len(items) == 1
    paper = items[0]
    assert paper.title == "A Title"
    assert paper.journal_ref == "J. Funct. Prog. 12 (2001)"
    assert paper.published == "2001-03"  # a month, not its first day
    assert [a.name for a in paper.authors] == ["Jane Doe"]
    assert paper.authors_complete is False


def test_curated_biblatex_fields(curated: dict[str, Paper]):
    paper = curated["CoquandRS21"]
    assert paper.journal_ref == "Math. Struct. Comput. Sci. 31(9): 979-1002 (2021)"
    assert paper.doi == "10.1017/s0960129521000359"
    assert [a.name for a in paper.authors] == [
        "Thierry Coquand",
        "Fabian Ruch",
        "Christian Sattler",
    ]
    # old-style arXiv id from eprint
    assert curated["Vistoli04"].arxiv_id == "math/0412512"
    # doi written as a resolver URL
    assert curated["VassenaRBW18"].doi == "10.1016/j.jlamp.2017.12.003"
    assert curated["VassenaRBW18"].title == "MAC A verified static information-flow control library"
    # unparseable biblatex date "20XX" and no year: no date rather than a wrong one
    assert curated["RiehlXX"].published is None
    # month macros
    assert curated["Martin-Lof12"].published == "2012-12"
    assert curated["Voevodsky14"].published == "2014-10"
    assert curated["Voevodsky14"].comment == "An unfinished unreleased manuscript"


def test_curated_accents_braces_and_names(curated: dict[str, Paper]):
    assert curated["Ehrhard88"].title == (
        "Une sémantique catégorique des types dépendants. Application au Calcul des Constructions."
    )
    assert curated["Streicher18"].title == "Fibred Categories à la Jean Bénabou"
    assert curated["Martin-Lof92"].authors[0].name == "Per Martin-Löf"
    assert curated["Thijs96"].authors[0].name == "Albert Marchienus Thijs"
    assert curated["DiLiberti22"].authors[0].name == "Ivan Di Liberti"
    assert curated["Morris69"].authors[0].name == "James Hiram Morris Jr"
    assert [a.name for a in curated["ReyesRZ04"].authors] == [
        "Marie La Palme Reyes",
        "Gonzalo E. Reyes",
        "Houman Zolfaghari",
    ]
    # `~` in a title is a tie (space), in a URL it is kept
    assert curated["BellL76"].journal_ref == (
        "Technical report ESD-TR-75-306 MTR-2997 Rev. 1, The MITRE Corporation"
    )
    assert curated["HofmannS97"].links == {
        "pdf": "https://www2.mathematik.tu-darmstadt.de/~streicher/NOTES/lift.pdf"
    }


def test_curated_theses_and_books_are_papers(curated: dict[str, Paper]):
    thesis = curated["Wellen17"]
    assert thesis.journal_ref == "PhD thesis, Karlsruher Institut für Technologie, Germany"
    assert thesis.organization == "Karlsruher Institut für Technologie, Germany"
    assert thesis.doi == "10.5445/ir/1000073164"
    assert thesis.links["abs"] == "https://publikationen.bibliothek.kit.edu/1000073164"
    assert curated["Tonelli13"].journal_ref.startswith("Master's thesis, Stockholms")
    assert curated["Zdancewic02"].title == "Programming languages for information security"


# ---------------------------------------------------------------- crossref rules


def test_crossref_target_after_entry_gives_booktitle_and_year():
    items = parse_text(
        "@inproceedings{p1, author = {A. Author}, title = {Paper One}, pages = {1--10},\n"
        "  crossref = {conf2020}}\n"
        "@inproceedings{p2, title = {Paper Two}, booktitle = {Own Book}, year = 2019,\n"
        "  crossref = {CONF2020}}\n"
        "@proceedings{conf2020, title = {Proc. of Conf 2020}, year = {2020}, month = jul,\n"
        "  series = {LNCS}, volume = {42}, doi = {10.1000/volume}, url = {http://vol}}\n"
        "@inproceedings{p3, title = {Paper Three}, crossref = {conf2020}}\n"
    )
    by_title = {p.title: p for p in items}
    assert set(by_title) == {"Paper One", "Paper Two", "Paper Three"}
    one = by_title["Paper One"]
    assert one.journal_ref == "Proc. of Conf 2020, LNCS 42: 1-10"
    assert one.published == "2020-07"
    assert one.doi is None and one.links == {}
    two = by_title["Paper Two"]  # its own fields win; keys match case-insensitively
    assert two.journal_ref == "Own Book, LNCS 42 (2019)"
    assert two.published == "2019-07"
    assert by_title["Paper Three"].published == "2020-07"  # target read before it


def test_books_and_volumes():
    items = parse_text(
        "@incollection{c1, title = {Chapter}, crossref = {bk}}\n"
        "@book{bk, title = {Edited Book}, year = 2010}\n"
        "@book{solo, title = {A Monograph}, year = 2011}\n"
        "@proceedings{lonely, title = {Proceedings nobody cites}, year = 2012}\n"
        "@collection{coll, title = {A Collection}, year = 2013}\n"
        "@inproceedings{orphan, title = {Orphan}, crossref = {missing}, year = 2014}\n"
    )
    titles = [p.title for p in items]
    assert sorted(titles) == ["A Monograph", "Chapter", "Orphan"]
    chapter = next(p for p in items if p.title == "Chapter")
    assert chapter.journal_ref == "Edited Book (2010)"


# ---------------------------------------------------------------- bad input


def test_corrupted_entry_yields_bad_record_and_the_rest(tmp_path: Path):
    text = DBLP.read_text()
    good = "title        = {Superpolynomial Lower Bounds Against Low-Depth Algebraic Circuits},"
    # the first of three such titles, in @article{DBLP:journals/cacm/LimayeST24}
    assert text.index(good) < text.index("DBLP:journals/corr/abs-2408-03465")
    broken = tmp_path / "broken.bib"
    broken.write_text(text.replace(good, good.replace("Circuits}", "{Circuits}"), 1))
    papers, bad, _ = run_importer(IMPORTER, broken)
    assert len(papers) == 117
    assert len(bad) == 1
    assert bad[0].where == "entry DBLP:journals/cacm/LimayeST24"
    assert "line 18" in bad[0].message
    assert "DBLP:journals/cacm/LimayeST24" not in {p.external_ids["bibtex"] for p in papers}
    assert "DBLP:conf/stoc/FournierL0T24" in {p.external_ids["bibtex"] for p in papers}


def test_missing_title_and_garbage_entries():
    items = parse_text(
        "@article{notitle, author = {X}, year = 2020}\n"
        "@article{, = broken}\n"
        "@article{ok, title = {Fine}}\n"
        "@misc{nocomma, title = {A} year = 2020}\n"
        "@misc{last, title = {Last}}\n"
    )
    assert [type(i).__name__ for i in items] == [
        "BadRecord",
        "BadRecord",
        "Paper",
        "BadRecord",
        "Paper",
    ]
    assert items[0] == BadRecord("entry notitle", "@article entry has no title")
    assert items[1].where == "line 2"
    assert items[3].where == "entry nocomma"
    assert [i.title for i in items if isinstance(i, Paper)] == ["Fine", "Last"]


def test_empty_and_comment_only_files_yield_nothing():
    assert parse_text("") == []
    assert parse_text("% just a comment\n\n") == []
    assert parse_text('@comment{jabref-meta: x}\n@preamble{"\\newcommand{\\x}{y}"}\n') == []
    assert parse_text('@string{a = "b"}\n% @article{commented, title = {Out}}\n') == []


def test_not_bibtex_raises_input_error():
    with pytest.raises(InputError, match="no BibTeX entries"):
        parse_text('{"data": [{"title": "a json file"}]}\n')


def test_text_around_entries_and_line_numbers():
    items = parse_text(
        "Exported by hand.\n\nsee @misc{a, title={A}}\nnot an entry\n"
        "@misc{b, title = {B}, note = {unbalanced}\n"
        "@misc(c, title = {C (with parens)})\n"
    )
    assert [getattr(i, "title", None) for i in items] == ["A", None, "C (with parens)"]
    assert items[1] == BadRecord(
        "entry b", "entry not closed: unbalanced braces or a missing '}' (entry starting at line 5)"
    )


@pytest.mark.parametrize(
    ("year", "published"),
    [
        ("2019", "2019"),
        ("{2019}", "2019"),
        ('"2020a"', "2020"),  # biblatex-style disambiguation letter
        ("99999999999999999999999", None),
        ("12345", None),
        ('"in press"', None),
        ('"20/21"', None),
        ('"c. 1990"', None),
    ],
)
def test_a_year_is_a_standalone_four_digit_number(year: str, published: str | None):
    (paper,) = parse_text(f"@article{{k, title = {{T}}, year = {year}}}\n")
    assert paper.published == published


def test_a_year_too_long_with_a_month_gives_no_date():
    (paper,) = parse_text("@article{k, title = {T}, year = {12345}, month = jan}\n")
    assert paper.published is None


def test_a_papers_conference_and_journal_records_merge_whatever_their_tex(tmp_path):
    """DBLP writes one title as TeX math and the other as escaped text of TeX: one paper.
    They stopped merging when titles began to keep TeX math as written (the key kept the
    word "mathrm"); the title key now ignores TeX style macros."""
    from paperscope.ingest.pipeline import import_file
    from paperscope.store.sqlite import SQLiteStore

    with SQLiteStore(tmp_path / "p.db") as store:
        import_file(store, DBLP)
        titles = [
            title
            for (title,) in store.conn.execute("SELECT title FROM papers WHERE NOT deleted")
            if "size-hierarchy theorem for" in title.lower() and "coin problem" in title.lower()
        ]
    assert len(titles) == 1, titles


def test_a_store_filed_under_the_old_title_key_still_finds_the_twin(tmp_path):
    """Stores written before the key ignored TeX style macros are not rewritten: an incoming
    paper is matched on both keys, so re-importing never duplicates a paper."""
    from paperscope.ingest.pipeline import import_file
    from paperscope.normalize import legacy_title_key
    from paperscope.store.sqlite import SQLiteStore

    entry = (
        "@article{k,\n  title = {Lower Bounds for {$\\mathbf{AC}^0$} Circuits Revisited},\n"
        "  author = {Ada Lovelace},\n  year = {2020},\n}\n"
    )
    first, again = tmp_path / "a.bib", tmp_path / "b.bib"
    first.write_text(entry)
    again.write_text(entry.replace("{k,", "{k2,").replace("2020", "2021"))
    with SQLiteStore(tmp_path / "p.db") as store:
        import_file(store, first)
        ((title,),) = store.conn.execute("SELECT title FROM papers").fetchall()
        store.conn.execute("UPDATE papers SET title_key = ?", (legacy_title_key(title),))
        summary = import_file(store, again)
        assert store.count() == 1
    assert summary.added == 0 and summary.merged + summary.unchanged == 1
