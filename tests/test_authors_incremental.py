"""Incremental author clusters (issue 11): papers imported in steps, with the catch-up after each
step, give the same people and slugs as one full rebuild, corrections included; new versions
and deleted papers move people as a rebuild would; the web pages never pay a full rebuild."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson
import pytest

from conftest import FIXTURES, FORMATS, PAGES
from paperscope.ingest.pipeline import import_file
from paperscope.model import Author, Paper
from paperscope.store.authors import AuthorDirectory
from paperscope.store.sqlite import SQLiteStore
from webtools import client_for

VARIANTS = sorted((FIXTURES / "authors").glob("*.*"))
HF_DAILY = FORMATS / "huggingface-papers" / "daily-papers-2026-02-25-50-papers.json"
KAGGLE = FORMATS / "kaggle-snapshot" / "arxiv-metadata-oai-snapshot-0704.0001-0704.0200.jsonl"
OTHER_FORMATS = sorted(
    p for p in FORMATS.rglob("*.*") if p.name != "SOURCES.md" and p not in (HF_DAILY, KAGGLE)
)
#: The test corpus in import steps (the order is the same for the one-shot store).
STEPS: list[list[Path]] = [
    sorted(PAGES.glob("*.txt")),
    VARIANTS,
    [HF_DAILY],
    [KAGGLE],
    OTHER_FORMATS,
]
REAL_REBUILD = AuthorDirectory.rebuild
#: Everyone with 2 papers or more keeps precomputed coauthors, so their patching is compared.
BIG = 2


def _import(store: SQLiteStore, files: list[Path]) -> None:
    for file in files:
        import_file(store, file)  # error recordings are reported in the summary, not raised


def _new_version(store: SQLiteStore) -> None:
    """A new version of an old paper: one more author, another category (a daily increment's
    "500 new versions of old ones"), and a withdrawn paper."""
    paper = store.get("2509.90005")
    paper.authors = [*paper.authors, Author("Juhua Hu"), Author("Q. Newcomer")]
    paper.categories = [*paper.categories, "cs.LG"]
    store.write_batch([paper], origin="test-version")
    store.write_batch([], origin="test-delete", deletions=["2509.90011"])


def _corrections(store: SQLiteStore, directory: AuthorDirectory) -> None:
    """A merge, a spelling split and a paper split, made between two imports, and a merge
    across blocks (liu|w and liu|z: later imports touching one must recluster both)."""
    rowid = store.resolve("2509.90005")
    names = [a.name for a in store.get("2509.90005").authors]
    hep = directory.slugs_for_paper(rowid)[names.index("J. Hu")]
    assert directory.merge(["juhua-hu", hep]) == "juhua-hu"
    assert directory.split("juhua-hu", variant="Hu J") != "juhua-hu"
    assert directory.split("juhua-hu", papers=["2509.90002"]) != "juhua-hu"
    assert directory.merge(["zhen-liu", "weiyang-liu"]) == "zhen-liu"


def people(conn: sqlite3.Connection) -> dict[str, tuple]:
    """Every person and everything derived about them, by slug, without cluster ids."""
    ids = dict(conn.execute("SELECT rowid, id FROM papers"))
    slug_of = dict(conn.execute("SELECT cluster_id, slug FROM author_clusters"))
    out = {}
    for cid, slug, name, family, papers, stats in conn.execute(
        "SELECT cluster_id, slug, name, family, papers, stats FROM author_clusters"
    ):
        stats = orjson.loads(stats)
        if "coauthors" in stats:
            stats["coauthors"] = [(slug_of[c], n) for c, n in stats["coauthors"]]

        def rows(sql: str, cid: int = cid) -> list[tuple]:
            return sorted(tuple(r) for r in conn.execute(sql, (cid,)))

        occurrences = sorted(
            (ids[p], pos, n, published, block)
            for p, pos, n, published, block in conn.execute(
                "SELECT paper_rowid, position, name, published, block FROM author_occurrences "
                "WHERE cluster_id = ?",
                (cid,),
            )
        )
        out[slug] = (
            name,
            family,
            papers,
            stats,
            occurrences,
            rows("SELECT anchor FROM author_anchors WHERE cluster_id = ?"),
            rows("SELECT name, name_fold, papers FROM author_variants WHERE cluster_id = ?"),
            rows("SELECT category, papers FROM author_categories WHERE cluster_id = ?"),
            sorted(
                (slug_of[o], n)
                for o, n in conn.execute(
                    "SELECT other_id, shared FROM author_coauthors WHERE cluster_id = ?", (cid,)
                )
            ),
        )
    return out


def partition(conn: sqlite3.Connection) -> set[frozenset]:
    ids = dict(conn.execute("SELECT rowid, id FROM papers"))
    groups: dict[int, set] = {}
    for cid, p, pos in conn.execute(
        "SELECT cluster_id, paper_rowid, position FROM author_occurrences"
    ):
        groups.setdefault(cid, set()).add((ids[p], pos))
    return {frozenset(g) for g in groups.values()}


def _refuse(self, *args, **kwargs):
    raise AssertionError("a full author rebuild ran where only a catch-up should")


@pytest.fixture
def no_full_rebuild(monkeypatch):
    """Fails the test if anything runs a full rebuild."""
    monkeypatch.setattr(AuthorDirectory, "rebuild", _refuse)


@pytest.fixture(scope="module")
def stepwise(tmp_path_factory):
    """The corpus imported in steps, caught up after each; corrections after step 2; a new
    version and a deletion at the end. Returns the store path and the people after each step."""
    path = tmp_path_factory.mktemp("stepwise") / "s.db"
    seen = []
    paths = []
    with SQLiteStore(path) as store, pytest.MonkeyPatch.context() as mp:
        mp.setattr(AuthorDirectory, "rebuild", _refuse)  # catch-ups only
        directory = AuthorDirectory(store, big_author=BIG)
        for n, files in enumerate(STEPS):
            _import(store, files)
            done = directory.ensure()
            assert done is not None and done.papers > 0
            paths.append(done.path)
            if n == 1:
                _corrections(store, directory)
            seen.append(people(store.conn))
        _new_version(store)
        done = directory.ensure()
        assert done is not None and done.papers == 2
        paths.append(done.path)
        seen.append(people(store.conn))
    # both catch-ups are compared: from the profiles where no correction is in play, whole
    # blocks where one is (the merge and splits come after step 2)
    print(paths)
    assert "patch" in paths and "blocks" in paths, paths
    return path, seen


def test_catch_up_after_each_step_equals_a_full_rebuild_of_the_same_store(stepwise, tmp_path):
    path, seen = stepwise
    copy = tmp_path / "copy.db"
    with SQLiteStore(path) as store:
        store.conn.execute("VACUUM INTO ?", (str(copy),))
    with SQLiteStore(copy) as store:
        assert store.conn.execute("SELECT count(*) FROM author_dirty").fetchone()[0] == 0
        AuthorDirectory(store, big_author=BIG).rebuild()
        assert people(store.conn) == seen[-1]


def test_catch_up_equals_one_full_rebuild_of_the_corpus_imported_at_once(stepwise, tmp_path):
    """The same people, and the same slugs except where history decides: a slug once handed
    out stays with its anchor for good (old links keep resolving), so a slug the stepwise store
    gave a person that a later step or correction absorbed is not free for the next person of
    that name, as it is in a store that never had that person (docs/authors.md)."""
    path, seen = stepwise
    incremental = seen[-1]
    with SQLiteStore(path) as done:
        corrections = done.conn.execute(
            "SELECT id, kind, target, data, created_at FROM author_corrections ORDER BY id"
        ).fetchall()
        stepwise_partition = partition(done.conn)
        handed_out = dict(done.conn.execute("SELECT slug, anchor FROM author_slugs"))
        anchors_now = dict(done.conn.execute("SELECT anchor, cluster_id FROM author_anchors"))
    assert len(corrections) == 4
    with SQLiteStore(tmp_path / "once.db") as store:
        for files in STEPS:
            _import(store, files)
        _new_version(store)
        store.conn.executemany(
            "INSERT INTO author_corrections (id, kind, target, data, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [tuple(c) for c in corrections],
        )
        AuthorDirectory(store, big_author=BIG).rebuild()
        assert partition(store.conn) == stepwise_partition
        once = people(store.conn)
    # the same person (same occurrences) under each store's slug
    by_occurrences = {tuple(p[4]): slug for slug, p in incremental.items()}
    renamed = {slug: by_occurrences[tuple(p[4])] for slug, p in once.items()}
    differing = {a: b for a, b in renamed.items() if a != b}
    assert len(differing) <= 2, differing
    for once_slug, stepwise_slug in differing.items():
        # the stepwise store had handed once_slug to another, absorbed person, for good
        anchor = handed_out[once_slug]
        assert anchor not in incremental[stepwise_slug][5]
        assert anchor in anchors_now or not any(anchor in p[5] for p in incremental.values())
    translated = {renamed[slug]: _rename(person, renamed) for slug, person in once.items()}
    assert translated == incremental  # names, stats, variants, categories, coauthors too


def _rename(person: tuple, renamed: dict[str, str]) -> tuple:
    stats = dict(person[3])
    if "coauthors" in stats:
        stats["coauthors"] = [(renamed[s], n) for s, n in stats["coauthors"]]
    coauthors = sorted((renamed[s], n) for s, n in person[8])
    return (*person[:3], stats, *person[4:8], coauthors)


def test_each_step_moves_people_as_the_papers_say(stepwise):
    _, seen = stepwise
    after_pages, after_variants, *_, before_version, last = seen
    assert len(after_pages["juhua-hu"][4]) < len(after_variants["juhua-hu"][4])
    # the new version put Juhua Hu on the hep paper twice over (J. Hu was merged in) and the
    # withdrawn paper left everyone's page
    papers_of = {slug: {o[0] for o in person[4]} for slug, person in last.items()}
    assert "2509.90005" in papers_of["juhua-hu"]
    assert not any("2509.90011" in p for p in papers_of.values())
    assert any("2509.90011" in {o[0] for o in p[4]} for p in before_version.values())
    assert "q-newcomer" in last and "q-newcomer" not in before_version
    # the split spelling's person lost its only paper with the deletion, the merge still holds
    assert not any(v[0] == "Hu J" for v in last["juhua-hu"][6])


def test_author_pages_after_an_import_pay_only_a_catch_up(store_copy, no_full_rebuild):
    calls = []
    original = AuthorDirectory.catch_up

    def counted(self):
        done = original(self)
        calls.append(done)
        return done

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(AuthorDirectory, "catch_up", counted)
        with client_for(store_copy) as client:
            assert client.get("/author/juhua-hu").status_code == 200
            calls.clear()
            newcomer = Paper(
                title="An incremental probe for author pages",
                abstract="Written after the server started.",
                authors=[Author("Juhua Hu"), Author("Casey Incremental")],
                categories=["cs.LG"],
                published="2026-03-01",
                arxiv_id="2999.00042",
            )
            with SQLiteStore(store_copy) as other:
                other.write_batch([newcomer], origin="test")
                _import(other, [KAGGLE])
            page = client.get("/author/juhua-hu")
            assert page.status_code == 200 and newcomer.title in page.text
            assert client.get("/author/casey-incremental").status_code == 200
            api = client.get("/api/v1/author/juhua-hu").json()
            assert api["slug"] == "juhua-hu"
            assert client.get("/paper/2999.00042").status_code == 200
    assert len(calls) == 1  # the first request caught up; the others found nothing to do
    assert calls[0].papers == 201  # the probe and Kaggle's 200 papers, not the whole store


def test_no_request_after_a_daily_increment_runs_a_full_clustering(store_copy, monkeypatch):
    """A real server on 127.0.0.1; a daily increment (new papers and a new version of an old
    one) imported by another connection; then author pages, the author API, paper pages of
    old and new papers and a search. Counters on `AuthorDirectory.rebuild` and on
    `cluster_all` (what a rebuild runs: every occurrence clustered) stay at zero, and the one
    catch-up the requests paid covered the increment's papers only."""
    import urllib.request

    import paperscope.store.authors as authors_module
    from webtools import live_server

    calls: dict[str, list] = {"rebuild": [], "cluster_all": [], "catch_up": []}
    real_cluster_all = authors_module.cluster_all
    real_catch_up = AuthorDirectory.catch_up

    def rebuild_spy(self, *args, **kwargs):
        calls["rebuild"].append(args)
        return REAL_REBUILD(self, *args, **kwargs)

    def cluster_all_spy(*args, **kwargs):
        calls["cluster_all"].append(args)
        return real_cluster_all(*args, **kwargs)

    def catch_up_spy(self):
        done = real_catch_up(self)
        calls["catch_up"].append(done)
        return done

    monkeypatch.setattr(AuthorDirectory, "rebuild", rebuild_spy)
    monkeypatch.setattr(authors_module, "cluster_all", cluster_all_spy)
    monkeypatch.setattr(AuthorDirectory, "catch_up", catch_up_spy)

    def get(base: str, path: str) -> str:
        with urllib.request.urlopen(base + path, timeout=120) as response:
            assert response.status == 200, path
            return response.read().decode()

    with SQLiteStore(store_copy) as store:
        old_ids = [p.id for _, p in sorted(store.load_rowids([1, 2, 3, 4]).items())]
    with live_server(store_copy) as base:
        get(base, "/author/juhua-hu")
        calls["catch_up"].clear()
        daily = [
            Paper(
                title=f"Daily increment paper {i}",
                abstract="Imported while the server runs.",
                authors=[Author("Juhua Hu"), Author(f"Dana Daily{i}")],
                categories=["cs.LG"],
                published="2026-03-01",
                arxiv_id=f"2999.0010{i}",
            )
            for i in range(3)
        ]
        with SQLiteStore(store_copy) as other:
            revised = other.get(old_ids[-1])
            revised.abstract += " A revised version."
            revised.authors = [*revised.authors, Author("Q. Versioned")]
            other.write_batch([*daily, revised], origin="test-daily")
        page = get(base, "/author/juhua-hu")
        assert all(p.title in page for p in daily)
        assert "2999.00101" in get(base, "/api/v1/author/juhua-hu")
        get(base, "/author/q-versioned")
        for ident in [*old_ids, "2999.00100"]:
            get(base, f"/paper/{ident}")
        get(base, "/search?q=increment")
    assert calls["rebuild"] == [] and calls["cluster_all"] == []
    assert [c.papers for c in calls["catch_up"]] == [4]  # 3 new papers and 1 new version


def test_authors_update_catches_up_and_rebuild_agrees(tmp_path, no_full_rebuild):
    from typer.testing import CliRunner

    from paperscope.serve.cli import app

    db = str(tmp_path / "cli.db")
    runner = CliRunner()
    imported = runner.invoke(app, ["import", *map(str, STEPS[0]), "--db", db, "-q"])
    assert imported.exit_code == 0, imported.output
    first = runner.invoke(app, ["authors", "update", "--db", db, "--json"])
    assert first.exit_code == 0, first.output
    done = orjson.loads(first.stdout)
    assert done["papers"] > 0 and done["people"] > 0
    again = orjson.loads(runner.invoke(app, ["authors", "update", "--db", db, "--json"]).stdout)
    assert (again["papers"], again["people"]) == (0, 0)
    with SQLiteStore(db) as store:
        before = people(store.conn)
    with pytest.MonkeyPatch.context() as mp:  # the real rebuild for the command that runs it
        mp.setattr(AuthorDirectory, "rebuild", REAL_REBUILD)
        rebuilt = runner.invoke(app, ["authors", "rebuild", "--db", db, "--json"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert orjson.loads(rebuilt.stdout)["people"] == len(before)
    with SQLiteStore(db) as store:
        assert people(store.conn) == before


def test_blocks_of_anchors_and_corrections():
    from paperscope.store.author_cluster import (
        Correction,
        anchor_block,
        close_blocks,
        correction_groups,
    )

    splits = {7: "hu|juhua", 8: "split:7"}
    assert anchor_block("hu|juhua", splits) == "hu|j"
    assert anchor_block("hu|~jh#42", splits) == "hu|j"
    assert anchor_block("madonna|", splits) == "madonna|"
    assert anchor_block("split:8", splits) == "hu|j"
    assert anchor_block("split:9", splits) is None
    corrections = [
        Correction(1, "merge", "liu|zhen", ["liu|weiyang", "kegl|~b#3"]),
        Correction(2, "split_variant", "hu|juhua", "hu j"),
        Correction(3, "merge", "split:2", ["qian|qi"]),
    ]
    groups = correction_groups(corrections)
    assert close_blocks({"kegl|b"}, groups) == {"liu|z", "liu|w", "kegl|b"}
    assert close_blocks({"qian|q"}, groups) == {"qian|q", "hu|j"}
    assert close_blocks({"wang|w"}, groups) == {"wang|w"}


@pytest.mark.parametrize("overtaken", [False, True])
def test_a_catch_up_plans_without_the_write_lock(tmp_path, monkeypatch, overtaken):
    """While a catch-up reads and clusters, another process imports (it is not blocked).
    Either the plan is applied and the paper written meanwhile stays marked for the next
    catch-up, or (`overtaken`) the other process caught up first and the plan is dropped;
    both end where a rebuild does."""
    import paperscope.store.authors as authors_module

    path = tmp_path / "c.db"
    with SQLiteStore(path) as store:
        _import(store, STEPS[0])
        imported = store.count()
    real_plan = authors_module.plan_catch_up
    late = Paper(
        title="Written while a catch-up was planning",
        abstract="A probe.",
        authors=[Author("Juhua Hu"), Author("Casey Concurrent")],
        categories=["cs.LG"],
        published="2026-03-02",
        arxiv_id="2999.00077",
    )

    def plan_then_interfere(conn, built_corrections, big_author):
        plan = real_plan(conn, built_corrections, big_author)
        with SQLiteStore(path) as other:
            other.conn.execute("PRAGMA busy_timeout=2000")  # a held write lock fails fast
            other.write_batch([late], origin="test-concurrent")
            monkeypatch.setattr(authors_module, "plan_catch_up", real_plan)
            if overtaken:
                AuthorDirectory(other, big_author=BIG).catch_up()
        return plan

    with SQLiteStore(path) as store:
        directory = AuthorDirectory(store, big_author=BIG)
        monkeypatch.setattr(authors_module, "plan_catch_up", plan_then_interfere)
        first = directory.ensure()
        assert first is not None and first.papers == imported
        dirty = store.conn.execute("SELECT paper_rowid FROM author_dirty").fetchall()
        assert len(dirty) == (0 if overtaken else 1)  # the late paper, for the next call
        assert directory.profile("casey-concurrent").papers[0][1].title == late.title
        assert directory.ensure() is None
        incremental = people(store.conn)
        monkeypatch.setattr(AuthorDirectory, "rebuild", REAL_REBUILD)
        directory.rebuild()
        assert people(store.conn) == incremental


def _state(conn: sqlite3.Connection) -> tuple:
    """The tables a catch-up decides from (migration 0017), by paper id, and the spellings'
    occurrence counts."""
    ids = dict(conn.execute("SELECT rowid, id FROM papers"))
    slug_of = dict(conn.execute("SELECT cluster_id, slug FROM author_clusters"))
    papers = sorted(
        (ids[p], *rest)
        for p, *rest in conn.execute(
            "SELECT paper_rowid, categories, short_keys, full_keys FROM author_papers"
        )
    )
    profiles = sorted(
        (k, b, orjson.loads(d)) for k, b, d in conn.execute("SELECT * FROM author_profiles")
    )
    profiles = [(k, b, sorted(d.items())) for k, b, d in profiles]
    initials = sorted(
        (ids[p], pos, block, ini, anchor)
        for p, pos, block, ini, anchor in conn.execute(
            "SELECT paper_rowid, position, block, initials, anchor FROM author_initials"
        )
    )
    variants = sorted(
        (slug_of[c], n, occ)
        for c, n, occ in conn.execute("SELECT cluster_id, name, occurrences FROM author_variants")
    )
    return papers, profiles, initials, variants


def _assert_a_rebuild_agrees(store, copy, mp, step) -> None:
    """A full rebuild of a copy of `store` (rebuilds are otherwise refused) gives the people
    and profiles the catch-ups reached."""
    incremental = (people(store.conn), _state(store.conn))
    store.conn.execute("VACUUM INTO ?", (str(copy),))
    with SQLiteStore(copy) as other:
        mp.setattr(AuthorDirectory, "rebuild", REAL_REBUILD)
        AuthorDirectory(other, big_author=BIG).rebuild()
        mp.setattr(AuthorDirectory, "rebuild", _refuse)
        assert (people(other.conn), _state(other.conn)) == incremental, step


@pytest.mark.parametrize("top", [None, 3])
def test_catch_ups_from_the_profiles_equal_a_rebuild_after_every_step(tmp_path, top):
    """Without corrections every catch-up takes the proportional path (decided from the
    persisted profiles, people patched); after each step, a rebuild of a copy of the store
    gives the same people, slugs, stats and the same persisted state. With `top` coauthors
    listed (3 instead of 50), prolific people have more coauthors than their list holds, so
    the catch-up re-ranks them from the list and the pairs above its floor, not every pair."""
    import paperscope.store.author_build as author_build

    path = tmp_path / "p.db"
    with SQLiteStore(path) as store, pytest.MonkeyPatch.context() as mp:
        if top is not None:
            mp.setattr(author_build, "MAX_COAUTHORS", top)
        mp.setattr(AuthorDirectory, "rebuild", _refuse)
        directory = AuthorDirectory(store, big_author=BIG)
        for n, files in enumerate([*STEPS, None]):
            if files is None:
                _new_version(store)
            else:
                _import(store, files)
            done = directory.ensure()
            assert done is not None and done.path == "patch", (n, done)
            _assert_a_rebuild_agrees(store, tmp_path / f"copy{n}.db", mp, n)


def test_catch_ups_take_the_whole_block_path_until_the_profiles_are_complete(tmp_path):
    """A store whose author tables predate migration 0017 has no profiles ('state' unset):
    its catch-ups recluster whole blocks, and a rebuild completes the profiles."""
    with SQLiteStore(tmp_path / "u.db") as store:
        directory = AuthorDirectory(store, big_author=BIG)
        _import(store, STEPS[0])
        assert directory.ensure().path == "patch"  # a new store starts complete
        store.conn.execute("DELETE FROM author_meta WHERE key = 'state'")  # as after upgrading
        _import(store, STEPS[1])
        assert directory.ensure().path == "blocks"
        directory.rebuild()
        _import(store, STEPS[2])
        assert directory.ensure().path == "patch"
        incremental = people(store.conn)
        directory.rebuild()
        assert people(store.conn) == incremental


def _crowd(arxiv_id: str, n: int, known: list[str], members: range) -> Paper:
    """A paper of `n` authors: the `known` people, then collaboration members (full names,
    and every fourth with initials only) numbered from `members`."""
    names = [*known]
    for i in members:
        if len(names) == n:
            break
        names.append(f"C. Crowd{i:04d}" if i % 4 == 0 else f"Ana{i:04d} Crowd{i:04d}")
    assert len(names) == n
    return Paper(
        title=f"A large collaboration {arxiv_id}",
        authors=[Author(name) for name in names],
        categories=["hep-ex"],
        published="2025-06-01",
        arxiv_id=arxiv_id,
    )


def test_papers_past_the_pairing_limit_catch_up_as_a_rebuild(tmp_path):
    """A paper with more than MAX_PAIRED_AUTHORS authors gives no coauthor counts or evidence;
    the catch-up applies that rule as a rebuild does when such a paper arrives, when a paper
    grows past the limit and when one is deleted, on both catch-up paths. (A new version never
    shortens an author list: the longer list wins the merge.)"""
    from paperscope.store.author_cluster import MAX_PAIRED_AUTHORS as LIMIT

    known = ["Juhua Hu", "Qi Qian", "J. Hu", "Rongmei Lin"]
    members = range(1, 1000)
    steps = [
        _crowd("2506.00001", LIMIT + 1, known, members),  # past the limit
        _crowd("2506.00002", LIMIT, known[:2], members),  # at it: counted
        _crowd("2506.00002", LIMIT + 1, known[:2], members),  # grows past it
        _crowd("2506.00003", LIMIT - 1, known[1:], members),
        "merge",  # a correction in the blocks the next steps touch: the whole-block path
        _crowd("2506.00003", LIMIT, known[1:], members),
        _crowd("2506.00003", LIMIT + 1, known[1:], members),
        _crowd("2506.00001", LIMIT + 2, known, members),
        "delete",
    ]
    paths = []
    with SQLiteStore(tmp_path / "c.db") as store, pytest.MonkeyPatch.context() as mp:
        mp.setattr(AuthorDirectory, "rebuild", _refuse)
        directory = AuthorDirectory(store, big_author=BIG)
        _import(store, STEPS[0])
        directory.ensure()
        for n, step in enumerate(steps):
            if step == "merge":
                directory.merge(["ana0001-crowd0001", "ana0002-crowd0002"])
                continue
            if step == "delete":
                store.write_batch([], origin="test-delete", deletions=["2506.00002"])
            else:
                store.write_batch([step], origin=f"test-step-{n}")
            done = directory.ensure()
            assert done is not None, n
            paths.append(done.path)
            _assert_a_rebuild_agrees(store, tmp_path / f"copy{n}.db", mp, n)
            if n == 5:  # a member of all three papers: only the one at the limit counts
                (pairs,) = store.conn.execute(
                    "SELECT count(*) FROM author_coauthors p JOIN author_clusters c "
                    "ON c.cluster_id = p.cluster_id WHERE c.slug = 'ana0050-crowd0050'"
                ).fetchone()
                assert pairs == LIMIT - 2  # its coauthors there; members 1 and 2 are merged
        assert directory.profile("ana0050-crowd0050").coauthors == []
        precomputed = [(s.slug, k) for s, k in directory.profile("juhua-hu").coauthors]
        mp.setattr(AuthorDirectory, "rebuild", REAL_REBUILD)
        live = AuthorDirectory(store)  # nobody prolific: counted at page time
        live.rebuild()
        assert [(s.slug, k) for s, k in live.profile("juhua-hu").coauthors] == precomputed
        assert live.profile("ana0050-crowd0050").coauthors == []
    assert paths[:4] == ["patch"] * 4 and set(paths[4:]) == {"blocks"}, paths
