"""The catch-up in proportion to the increment (issue 11, docs/authors.md).

A full name's person is its key, so a new full-name occurrence only joins that person. What
can move are initials-only occurrences, decided against the full names' profiles: those are
persisted (author_state.py), so the catch-up re-decides the initials-only occurrences of the
touched blocks from `author_initials` + `author_papers` + `author_profiles` without reading the
blocks' full-name occurrences, and patches each person the changed or moved occurrences touch
(paper counts, years, categories, spellings, coauthor counts) by the difference on those
papers alone. Blocks a correction names take the whole-block path (author_build.plan_catch_up).
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import orjson

from paperscope.store.author_cluster import Cluster, _root, block_of, crowded
from paperscope.store.author_names import (
    compatible_initials,
    name_fold,
    parse_person,
    spelling_rank,
)
from paperscope.store.author_state import (
    PaperView,
    Profile,
    load_profile,
    paper_views,
    view_from_row,
)

Ops = list[tuple[str, list[tuple]]]


def _rows_in(conn: sqlite3.Connection, sql: str, values: Iterable) -> Iterable[tuple]:
    from paperscope.store.author_build import _rows_in as rows_in

    return rows_in(conn, sql, values)


@dataclass(slots=True)
class StateChanges:
    old_views: dict[int, PaperView]
    new_views: dict[int, PaperView]
    profiles: dict[str, Profile]  # the touched profiles still held, after the change
    touched: set[str]  # every touched key (also those no occurrence holds any more)
    # per block, what changed in its touched profiles as decisions read them: (initials
    # before, initials after, coauthor keys gained or lost, categories gained or lost)
    effects: dict[str, list[tuple]] = field(default_factory=dict)
    ops: Ops = field(default_factory=list)


def state_changes(
    conn: sqlite3.Connection, changed: list[int], before: list[tuple], fresh, parse
) -> StateChanges:
    """Patch author_papers and author_profiles for the changed papers (before: their rows in
    author_occurrences; fresh: their occurrences now)."""
    old_views: dict[int, PaperView] = {}
    for paper, cats, shorts, fulls in _rows_in(
        conn,
        "SELECT paper_rowid, categories, short_keys, full_keys FROM author_papers "
        "WHERE paper_rowid IN ({marks})",
        changed,
    ):
        old_views[paper] = view_from_row(cats, shorts, fulls)
    new_views = paper_views(fresh.occs, fresh.paper_cats)
    deltas: list[tuple] = []
    for paper, _, _, name, _, _ in before:
        person = parse(name)
        if person is not None and person.full and paper in old_views:
            deltas.append((person, old_views[paper], -1))
    for occ in fresh.occs:
        if occ.person is not None and occ.person.full:
            deltas.append((occ.person, new_views[occ.paper], 1))
    keys = {p.key for p, _, _ in deltas}
    profiles: dict[str, Profile] = {}
    for key, block, data in _rows_in(
        conn, "SELECT key, block, data FROM author_profiles WHERE key IN ({marks})", keys
    ):
        profiles[key] = load_profile(block, data)
    sets_before = {k: _sets(p) for k, p in profiles.items()}
    flipped: dict[str, set[str]] = defaultdict(set)  # coauthor keys gained or lost, per key
    for person, view, sign in deltas:
        prof = profiles.get(person.key)
        if prof is None:
            prof = profiles[person.key] = Profile()
        prof.add(person, view, sign, flipped[person.key])
    ops: Ops = [
        ("DELETE FROM author_papers WHERE paper_rowid = ?", [(p,) for p in sorted(changed)]),
        (
            "INSERT INTO author_papers (paper_rowid, categories, short_keys, full_keys) "
            "VALUES (?, ?, ?, ?)",
            [v.row(p) for p, v in sorted(new_views.items())],
        ),
        ("DELETE FROM author_profiles WHERE key = ?", [(k,) for k in sorted(profiles)]),
        (
            "INSERT INTO author_profiles (key, block, data) VALUES (?, ?, ?)",
            [(k, p.block, p.dump()) for k, p in sorted(profiles.items()) if p.n > 0],
        ),
        ("DELETE FROM author_initials WHERE paper_rowid = ?", [(p,) for p in sorted(changed)]),
    ]
    held = {k: p for k, p in profiles.items() if p.n > 0}
    effects: dict[str, list[tuple]] = defaultdict(list)
    empty: tuple[frozenset, frozenset] = (frozenset(), frozenset())
    for key, prof in profiles.items():
        ib, kb = sets_before.get(key, empty)
        ia, ka = _sets(prof) if prof.n > 0 else empty
        keys = frozenset(flipped.get(key, ()))
        if prof.n <= 0:  # a name no occurrence holds any more loses every coauthor key
            keys = frozenset(k for k, v in prof.coauthors.items() if v > 0) | keys
        if ib != ia or keys or kb != ka:
            effects[prof.block].append((ib, ia, keys, kb ^ ka))
    return StateChanges(old_views, new_views, held, set(profiles), dict(effects), ops)


def _sets(prof: Profile) -> tuple[frozenset, frozenset]:
    """The initials and categories a profile holds (small; coauthor keys are followed by
    Profile.add's flips instead)."""

    def live(c: Counter[str]) -> frozenset[str]:
        return frozenset(k for k, v in c.items() if v > 0)

    return live(prof.initials), live(prof.categories)


def _affected(initials: str, view: PaperView, effects: list[tuple]) -> bool:
    """Can the touched profiles of its block change an initials-only occurrence's decision?
    Only through a full name that fits it (before or after) whose fit, coauthor keys on its
    paper or categories of its paper changed (see `decide`)."""
    for before, after, keys, cats in effects:
        fits_before = any(compatible_initials(initials, ini) for ini in before)
        fits_after = any(compatible_initials(initials, ini) for ini in after)
        if fits_before != fits_after:
            return True
        if fits_after and (not keys.isdisjoint(view.shorts) or not cats.isdisjoint(view.cats)):
            return True
    return False


def initials_ops(rows: list[tuple]) -> tuple[str, list[tuple]]:
    rows.sort()
    return (
        "INSERT INTO author_initials (paper_rowid, position, block, initials, anchor) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (paper_rowid, position) DO UPDATE SET "
        "block = excluded.block, initials = excluded.initials, anchor = excluded.anchor",
        rows,
    )


# ---------------------------------------------------------------------------- deciding


def decide(
    family: str,
    initials: str,
    view: PaperView,
    candidates: list[tuple[str, Profile]],
) -> str | None:
    """The full name an initials-only occurrence joins (see _Clusterer._best_group)."""
    fitting = []
    for key, prof in candidates:
        if key in view.fulls:
            continue  # the same paper listing both names means two people
        if any(compatible_initials(initials, ini) for ini in prof.initials):
            fitting.append((key, prof))
    if not fitting:
        return None
    scored = sorted(
        ((sum(1 for k in view.shorts if k in prof.coauthors), key) for key, prof in fitting),
        reverse=True,
    )
    if scored[0][0] > 0:
        if len(scored) == 1 or scored[1][0] < scored[0][0]:
            return scored[0][1]
        return None
    if len(fitting) == 1 and set(view.cats) & fitting[0][1].categories.keys():
        return fitting[0][0]
    return None


def component_anchors(
    left: list[tuple[int, int, str, str, PaperView]],
) -> dict[tuple[int, int], str]:
    """Leftover initials-only occurrences (paper, position, family, initials, view) linked by
    a shared coauthor or category per (family, initials): (paper, position) -> anchor."""
    buckets: dict[tuple[str, str], list] = defaultdict(list)
    for item in left:
        buckets[(item[2], item[3])].append(item)
    out = {}
    for (family, initials), members in buckets.items():
        parent = list(range(len(members)))
        seen: dict[str, int] = {}
        own = f"{family}_{initials[:1]}"
        for n, (_, _, _, _, view) in enumerate(members):
            features = {"c:" + k for k in view.shorts if k != own}
            features |= {"k:" + c for c in view.cats}
            for feature in features:
                first = seen.setdefault(feature, n)
                parent[_root(parent, n)] = _root(parent, first)
        parts: dict[int, list] = defaultdict(list)
        for n, item in enumerate(members):
            parts[_root(parent, n)].append(item)
        for part in parts.values():
            anchor = f"{family}|~{initials}#{min(item[0] for item in part)}"
            for item in part:
                out[(item[0], item[1])] = anchor
    return out


# ---------------------------------------------------------------------------- the plan


@dataclass(slots=True)
class PatchPlan:
    done: object
    newest: int
    changed: list[int]
    ops: Ops
    slugs: object


def plan_patch(
    conn: sqlite3.Connection,
    done,
    changed: list[int],
    fresh,
    before: list[tuple],
    blocks: set[str],
    parse,
    big_author: int,
    newest: int,
    started: float,
) -> PatchPlan:
    from paperscope.store.author_build import MAX_COAUTHORS, SlugBook, rank_coauthors

    done.path = "patch"
    changed_set = set(changed)
    state = state_changes(conn, changed, before, fresh, parse)
    # every initials-only occurrence of the blocks: unchanged papers from the tables, the
    # changed papers' from their occurrences now
    items: list[tuple[int, int, str, str, PaperView | None, str | None]] = []
    raw: dict[int, tuple[str, str, str]] = {}
    view_cache: dict[int, PaperView] = {}

    def view_of(item: tuple) -> PaperView:
        """The item's paper as clustering reads it, built when first asked (most are not)."""
        if item[4] is not None:
            return item[4]
        view = view_cache.get(item[0])
        if view is None:
            view = view_cache[item[0]] = view_from_row(*raw[item[0]])
        return view

    for paper, position, block, initials, anchor, cats, shorts, fulls in _rows_in(
        conn,
        "SELECT i.paper_rowid, i.position, i.block, i.initials, i.anchor, p.categories, "
        "p.short_keys, p.full_keys FROM author_initials i JOIN author_papers p "
        "ON p.paper_rowid = i.paper_rowid WHERE i.block IN ({marks})",
        blocks,
    ):
        if paper in changed_set:
            continue
        raw[paper] = (cats, shorts, fulls)
        items.append((paper, position, block.split("|", 1)[0], initials, None, anchor))
    for occ in fresh.occs:
        person = occ.person
        if person is not None and not person.full:
            items.append(
                (
                    occ.paper,
                    occ.position,
                    person.family,
                    person.initials,
                    state.new_views[occ.paper],
                    None,
                )
            )
    # which decisions can change: the changed papers' own, and those the profiles' changes reach
    redo = [
        item
        for item in items
        if item[5] is None
        or (
            (effects := state.effects.get(f"{item[2]}|{item[3][:1]}"))
            and _affected(item[3], view_of(item), effects)
        )
    ]
    # the full names of those blocks, with their profiles after the change
    redo_blocks = {f"{item[2]}|{item[3][:1]}" for item in redo}
    cands: dict[str, list[tuple[str, Profile]]] = defaultdict(list)
    for key, block, data in _rows_in(
        conn, "SELECT key, block, data FROM author_profiles WHERE block IN ({marks})", redo_blocks
    ):
        if key not in state.touched:  # those rows are replaced: their new counts follow
            cands[block].append((key, load_profile(block, data)))
    for key, prof in state.profiles.items():
        cands[prof.block].append((key, prof))
    clustering = time.perf_counter()
    done.read_s = clustering - started
    new_anchor: dict[tuple[int, int], str] = {}
    buckets: set[tuple[str, str]] = set()  # (family, initials) whose leftovers change
    for item in redo:
        paper, position, family, initials, _, anchor = item
        key = decide(family, initials, view_of(item), cands.get(f"{family}|{initials[:1]}", []))
        if key is None:
            buckets.add((family, initials))
        else:
            new_anchor[(paper, position)] = key
            if anchor is not None and "|~" in anchor:
                buckets.add((family, initials))  # it leaves a leftover person
    for _, _, _, name, _, _ in before:  # an initials-only occurrence gone
        person = parse(name)
        if person is not None and not person.full:
            buckets.add((person.family, person.initials))
    decided = {(item[0], item[1]) for item in redo}
    left = [
        (*item[:4], view_of(item))
        for item in items
        if (item[2], item[3]) in buckets
        and (
            ((item[0], item[1]) in decided and (item[0], item[1]) not in new_anchor)
            or ((item[0], item[1]) not in decided and "|~" in item[5])
        )
    ]
    new_anchor.update(component_anchors(left))
    for paper, position, _, _, _, anchor in items:
        if (paper, position) not in new_anchor:
            new_anchor[(paper, position)] = anchor  # neither decided again nor relinked
    done.occurrences = len(redo) + len(left)

    planning = time.perf_counter()
    done.cluster_s = planning - clustering

    # what moves: initials-only occurrences of unchanged papers whose anchor changed, and
    # every occurrence of the changed papers
    moved_initials = [
        (paper, position, new_anchor[(paper, position)])
        for paper, position, _, _, _, anchor in items
        if anchor is not None and new_anchor[(paper, position)] != anchor
    ]
    fresh_anchor: dict[tuple[int, int], str] = {}
    for occ in fresh.occs:
        if occ.person is None:
            continue
        if occ.person.full:
            fresh_anchor[(occ.paper, occ.position)] = occ.person.key
        else:
            fresh_anchor[(occ.paper, occ.position)] = new_anchor[(occ.paper, occ.position)]
    wanted = {a for _, _, a in moved_initials} | set(fresh_anchor.values())
    cid_of = dict(
        _rows_in(
            conn,
            "SELECT anchor, cluster_id FROM author_anchors WHERE anchor IN ({marks})",
            wanted,
        )
    )
    fresh_id = conn.execute("SELECT coalesce(max(cluster_id), 0) + 1 FROM author_clusters")
    next_id = fresh_id.fetchone()[0]
    new_people: dict[int, str] = {}  # cid -> anchor
    order = sorted(fresh_anchor.items(), key=lambda kv: (kv[0][1] < 0, kv[0]))
    order += [((p, pos), a) for p, pos, a in sorted(moved_initials)]
    for _, anchor in order:
        if anchor not in cid_of:
            cid_of[anchor] = next_id
            new_people[next_id] = anchor
            next_id += 1

    # the papers whose people change, before and after
    moved_papers = {p for p, _, _ in moved_initials}
    affected_papers = changed_set | moved_papers
    before_rows: dict[int, list[tuple]] = defaultdict(list)  # paper -> (pos, cid, name, published)
    for paper, position, cid, name, published in _rows_in(
        conn,
        "SELECT paper_rowid, position, cluster_id, name, published FROM author_occurrences "
        "WHERE paper_rowid IN ({marks})",
        affected_papers,
    ):
        before_rows[paper].append((position, cid, name, published))
    old_cats: dict[int, tuple[str, ...]] = {p: v.cats for p, v in state.old_views.items()}
    for paper, cats in _rows_in(
        conn,
        "SELECT paper_rowid, categories FROM author_papers WHERE paper_rowid IN ({marks})",
        moved_papers - changed_set,
    ):
        old_cats[paper] = tuple(cats.split())
    after_rows: dict[int, list[tuple]] = {}
    moved_cid = {(p, pos): cid_of[a] for p, pos, a in moved_initials}
    for paper in moved_papers - changed_set:
        after_rows[paper] = [
            (pos, moved_cid.get((paper, pos), cid), name, published)
            for pos, cid, name, published in before_rows[paper]
        ]
    for occ in fresh.occs:
        if occ.person is None:
            continue
        cid = cid_of[fresh_anchor[(occ.paper, occ.position)]]
        after_rows.setdefault(occ.paper, []).append(
            (occ.position, cid, occ.name, fresh.published.get(occ.paper))
        )
    new_cats = {p: fresh.paper_cats.get(p, ()) for p in changed_set}

    # per-person differences over those papers
    d_papers: Counter[int] = Counter()
    d_year: dict[int, Counter[str]] = defaultdict(Counter)
    d_cat: dict[int, Counter[str]] = defaultdict(Counter)
    d_var: dict[int, Counter[str]] = defaultdict(Counter)
    d_occ: dict[int, Counter[str]] = defaultdict(Counter)
    d_pair: Counter[tuple[int, int]] = Counter()

    def account(rows: list[tuple], cats: tuple[str, ...], sign: int) -> None:
        by_person: dict[int, list[tuple]] = defaultdict(list)
        for _, cid, name, published in rows:
            by_person[cid].append((name, published))
        for cid, entries in by_person.items():
            d_papers[cid] += sign
            year = (entries[0][1] or "")[:4]
            if year.isdigit():
                d_year[cid][year] += sign
            for cat in cats:
                d_cat[cid][cat] += sign
            for name in {n for n, _ in entries}:
                d_var[cid][name] += sign
            for name, _ in entries:
                d_occ[cid][name] += sign
        if crowded(len(rows)):
            return  # a large collaboration counts no pairs (MAX_PAIRED_AUTHORS)
        on = list(by_person)
        for x in on:
            for o in on:
                if o != x:
                    d_pair[(x, o)] += sign

    for paper in affected_papers:
        if before_rows.get(paper):
            account(before_rows[paper], old_cats.get(paper, ()), -1)
        if after_rows.get(paper):
            cats = new_cats[paper] if paper in changed_set else old_cats.get(paper, ())
            account(after_rows[paper], cats, 1)
    people = set(d_papers) | set(d_var)

    # the people as stored
    stored: dict[int, tuple] = {}
    for cid, slug, name, family, papers, stats in _rows_in(
        conn,
        "SELECT cluster_id, slug, name, family, papers, stats FROM author_clusters "
        "WHERE cluster_id IN ({marks})",
        people,
    ):
        stored[cid] = (slug, name, family, papers, orjson.loads(stats))
    variants: dict[int, dict[str, list[int]]] = defaultdict(dict)
    for cid, name, papers, occs in _rows_in(
        conn,
        "SELECT cluster_id, name, papers, occurrences FROM author_variants "
        "WHERE cluster_id IN ({marks})",
        people,
    ):
        variants[cid][name] = [papers, occs]

    slugs = SlugBook(conn, preload=False)
    info: dict[int, tuple[int, str]] = {}
    result: dict[int, tuple] = {}  # cid -> (slug, name, family, papers, stats) ; None gone
    gone: set[int] = set()
    var_rows: list[tuple] = []
    cat_rows_old: list[tuple] = []
    cat_rows_new: list[tuple] = []
    big_now: set[int] = set()
    big_before: set[int] = set()
    unslugged: list[tuple[int, str]] = []  # new people, slugged after the loop, in this order
    for cid in sorted(people):
        old = stored.get(cid)
        old_stats = old[4] if old else {"per_year": {}, "categories": []}
        papers = (old[3] if old else 0) + d_papers[cid]
        if old:
            cat_rows_old.extend((c, cid) for c, _ in old_stats["categories"])
            if old[3] >= big_author:
                big_before.add(cid)
        if papers <= 0:
            gone.add(cid)
            continue
        vs = variants.get(cid, {})
        for name in set(d_var[cid]) | set(d_occ[cid]):
            cur = vs.setdefault(name, [0, 0])
            cur[0] += d_var[cid][name]
            cur[1] += d_occ[cid][name]
        vs = {n: v for n, v in vs.items() if v[0] > 0}
        full = {n: v[1] for n, v in vs.items() if (p := parse(n)) is not None and p.full}
        counts = full or {n: v[1] for n, v in vs.items()}
        name = max(counts.items(), key=lambda item: spelling_rank(*item))[0]  # as a rebuild
        years = Counter(old_stats["per_year"]) + Counter()
        years.update(d_year[cid])
        cats = Counter(dict(old_stats["categories"]))
        cats.update(d_cat[cid])
        cats = Counter({c: n for c, n in cats.items() if n > 0})
        stats: dict = {
            "per_year": {y: n for y, n in sorted(years.items()) if n > 0},
            "categories": sorted(cats.items(), key=lambda kv: (-kv[1], kv[0])),
        }
        person = parse_person(name)
        family = person.family if person else ""
        if not old:
            unslugged.append((cid, name))
        result[cid] = (old[0] if old else "", name, family, papers, stats)
        info[cid] = (papers, name)
        var_rows.extend((cid, n, name_fold(n), v[0], v[1]) for n, v in sorted(vs.items()))
        cat_rows_new.extend((c, cid, n) for c, n in cats.items())
        if papers >= big_author:
            big_now.add(cid)

    # one chunked read of the slugs new people may clash with, not two queries each
    clusters = {cid: Cluster([new_people[cid]], []) for cid, _ in unslugged}
    slugs.prefetch(clusters.values(), (name for _, name in unslugged))
    for cid, name in unslugged:
        result[cid] = (slugs.slug_for(clusters[cid], name), *result[cid][1:])

    # coauthor counts of prolific people: only the pairs the changed papers touch are read and
    # written; ranking reads the stored top list and the pairs that can reach it (_candidates)
    ops: Ops = list(state.ops)
    pair_rows: dict[int, dict[int, int]] = {}  # every pair of x, after (people just prolific)
    changed_pairs: dict[int, dict[int, int]] = {}  # x -> other -> shared after (0: gone)

    crossing = big_now - big_before - set(new_people)
    pair_ops_del: list[tuple] = []
    pair_ops_set: list[tuple] = []
    rank: set[int] = set(big_now & people)
    for x in sorted(crossing):
        pair_rows[x] = _full_pairs(conn, x, after_rows, affected_papers)
        pair_ops_set.extend((x, o, n) for o, n in sorted(pair_rows[x].items()))
    by_x: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for (x, o), n in d_pair.items():
        if n:
            by_x[x].append((o, n))
    for x, deltas in by_x.items():
        if x in crossing or x in gone:
            continue
        if x in big_now:  # everyone on an affected paper is in `people`
            current = _pairs_with(conn, x, [o for o, _ in deltas])
            after = changed_pairs[x] = {}
            for o, n in deltas:
                value = current.get(o, 0) + n
                after[o] = max(value, 0)
                if value > 0:
                    pair_ops_set.append((x, o, value))
                else:
                    pair_ops_del.append((x, o))
            rank.add(x)
    for x in (big_before - big_now) | gone:
        ops.append(("DELETE FROM author_coauthors WHERE cluster_id = ?", [(x,)]))
    if gone:
        ops.append(
            ("DELETE FROM author_coauthors WHERE other_id = ?", [(x,) for x in sorted(gone)])
        )
    # prolific people whose ranking reads a person whose count or name changed
    changed_info = {
        c
        for c in result
        if not stored.get(c) or stored[c][3] != result[c][3] or stored[c][1] != result[c][1]
    }
    for (x,) in _rows_in(
        conn,
        "SELECT DISTINCT cluster_id FROM author_coauthors WHERE other_id IN ({marks})",
        changed_info,
    ):
        if x not in gone and (x in big_now or x not in people):
            rank.add(x)

    def stored_info(ids: Iterable[int]) -> dict[int, tuple[int, str]]:
        ids = set(ids)
        found = {c: info[c] for c in ids if c in info}
        for cid, papers, name in _rows_in(
            conn,
            "SELECT cluster_id, papers, name FROM author_clusters WHERE cluster_id IN ({marks})",
            ids - found.keys(),
        ):
            found[cid] = (papers, name)
        return found

    outside_stats: list[tuple] = []
    for x in sorted(rank):
        if x in pair_rows:
            together = Counter(pair_rows[x])
        elif x in new_people:  # every pair of a new person is one of the changed papers'
            together = Counter({o: n for o, n in changed_pairs.get(x, {}).items() if n > 0})
        else:
            old_stats = stored[x][4] if x in stored else None
            if old_stats is None:
                row = conn.execute("SELECT stats FROM author_clusters WHERE cluster_id = ?", (x,))
                old_stats = orjson.loads(row.fetchone()[0])
            together = _candidates(conn, x, old_stats.get("coauthors"), changed_pairs.get(x, {}))
        ranked = rank_coauthors(together, stored_info)
        assert len(ranked) <= MAX_COAUTHORS
        if x in result:
            result[x][4]["coauthors"] = ranked
        else:
            row = conn.execute("SELECT stats FROM author_clusters WHERE cluster_id = ?", (x,))
            stats = orjson.loads(row.fetchone()[0])
            if stats.get("coauthors") == [list(r) for r in ranked]:
                continue  # nothing it reads moved its list
            stats["coauthors"] = ranked
            outside_stats.append((orjson.dumps(stats).decode(), x))

    gone_ids = sorted(gone)
    people_ids = sorted(people)
    ops += [
        ("DELETE FROM author_categories WHERE category = ? AND cluster_id = ?", cat_rows_old),
        (
            "INSERT INTO author_categories (category, cluster_id, papers) VALUES (?, ?, ?)",
            cat_rows_new,
        ),
        ("DELETE FROM author_variants WHERE cluster_id = ?", [(c,) for c in people_ids]),
        (
            "INSERT INTO author_variants (cluster_id, name, name_fold, papers, occurrences) "
            "VALUES (?, ?, ?, ?, ?)",
            var_rows,
        ),
        ("DELETE FROM author_clusters WHERE cluster_id = ?", [(c,) for c in gone_ids]),
        ("DELETE FROM author_anchors WHERE cluster_id = ?", [(c,) for c in gone_ids]),
        (
            "INSERT INTO author_clusters (cluster_id, slug, name, family, papers, stats) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (cluster_id) DO UPDATE SET "
            "name = excluded.name, family = excluded.family, papers = excluded.papers, "
            "stats = excluded.stats",
            [
                (c, s, n, f, p, orjson.dumps(st).decode())
                for c, (s, n, f, p, st) in sorted(result.items())
            ],
        ),
        ("UPDATE author_clusters SET stats = ? WHERE cluster_id = ?", outside_stats),
        (
            "INSERT INTO author_anchors (anchor, cluster_id) VALUES (?, ?)",
            [(a, c) for c, a in sorted(new_people.items()) if c in result],
        ),
        ("DELETE FROM author_coauthors WHERE cluster_id = ? AND other_id = ?", pair_ops_del),
        (
            "INSERT INTO author_coauthors (cluster_id, other_id, shared) VALUES (?, ?, ?) "
            "ON CONFLICT (cluster_id, other_id) DO UPDATE SET shared = excluded.shared",
            pair_ops_set,
        ),
        (
            "DELETE FROM author_occurrences WHERE paper_rowid = ?",
            [(p,) for p in sorted(changed_set)],
        ),
        (
            "INSERT INTO author_occurrences "
            "(paper_rowid, position, cluster_id, name, published, block) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            sorted(
                (
                    o.paper,
                    o.position,
                    cid_of[fresh_anchor[(o.paper, o.position)]],
                    o.name,
                    fresh.published.get(o.paper),
                    block_of(o.person),
                )
                for o in fresh.occs
                if o.person is not None
            ),
        ),
        (
            "UPDATE author_occurrences SET cluster_id = ? WHERE paper_rowid = ? AND position = ?",
            sorted((cid, p, pos) for (p, pos), cid in moved_cid.items()),
        ),
    ]
    initial_rows = [
        (p, pos, f"{fam}|{ini[:1]}", ini, new_anchor[(p, pos)])
        for p, pos, fam, ini, _, anchor in items
        if anchor is None or new_anchor[(p, pos)] != anchor
    ]
    ops.append(initials_ops(initial_rows))
    done.people = len(result)
    done.new = len([c for c in new_people if c in result])
    done.gone = len(gone)
    done.ranked = len(rank - people)
    done.write_s = time.perf_counter() - planning  # working out the patches; apply adds to it
    return PatchPlan(done, newest, changed, ops, slugs)


def _pairs_with(conn: sqlite3.Connection, x: int, others: Iterable[int]) -> dict[int, int]:
    """The stored shared-paper counts of x with `others` (those it has)."""
    from paperscope.store.author_build import chunks

    out: dict[int, int] = {}
    for chunk in chunks(sorted(set(others))):
        marks = ",".join("?" * len(chunk))
        out.update(
            conn.execute(
                "SELECT other_id, shared FROM author_coauthors WHERE cluster_id = ? "
                f"AND other_id IN ({marks})",
                (x, *chunk),
            )
        )
    return out


def _candidates(
    conn: sqlite3.Connection, x: int, top: list | None, changed: dict[int, int]
) -> Counter[int]:
    """Every coauthor of x (shared papers, after the change) that can be in its new top list,
    without reading all its pairs. `top` is its stored list (MAX_COAUTHORS best, or all of
    them when fewer), `changed` the pairs the changed papers moved (0: gone). The new 50th
    count is at least the 50th of (the old list and the changed pairs, counted after), so the
    pairs at or above that count, read with a range condition, hold everyone the ranking can
    pick; rank_coauthors then decides exactly as from every pair."""
    from paperscope.store.author_build import MAX_COAUTHORS

    if top is None:  # no list kept (not prolific before): every pair
        rows = conn.execute(
            "SELECT other_id, shared FROM author_coauthors WHERE cluster_id = ?", (x,)
        )
        pairs = dict(rows.fetchall())
        pairs.update(changed)  # the changed pairs' counts after the change replace the stored
        return Counter({o: n for o, n in pairs.items() if n > 0})
    listed = [int(o) for o, _ in top]
    stored = _pairs_with(conn, x, listed)  # the list's counts as stored now
    known = {o: stored[o] for o in listed if o in stored}
    known.update(changed)
    if len(top) < MAX_COAUTHORS:
        return Counter({o: n for o, n in known.items() if n > 0})  # the list held them all
    counts = sorted((n for n in known.values() if n > 0), reverse=True)
    floor = counts[MAX_COAUTHORS - 1] if len(counts) >= MAX_COAUTHORS else 1
    together = Counter()
    for o, n in conn.execute(
        "SELECT other_id, shared FROM author_coauthors WHERE cluster_id = ? AND shared >= ?",
        (x, floor),
    ):
        together[o] = n
    together.update({o: n - together.get(o, 0) for o, n in changed.items()})
    for o, n in known.items():
        if n >= floor and o not in together:
            together[o] = n
    return Counter({o: n for o, n in together.items() if n > 0})


def _full_pairs(
    conn: sqlite3.Connection, x: int, after_rows: dict[int, list[tuple]], affected: set[int]
) -> dict[int, int]:
    """Every coauthor of x and the papers shared, after the change (x just became prolific)."""
    papers = {
        p
        for (p,) in conn.execute(
            "SELECT DISTINCT paper_rowid FROM author_occurrences WHERE cluster_id = ?", (x,)
        )
    }
    papers -= affected
    papers |= {p for p, rows in after_rows.items() if any(r[1] == x for r in rows)}
    together: Counter[int] = Counter()
    on: dict[int, set[int]] = defaultdict(set)
    named: Counter[int] = Counter()  # occurrences per paper: large collaborations count none
    for paper, cid in _rows_in(
        conn,
        "SELECT paper_rowid, cluster_id FROM author_occurrences WHERE paper_rowid IN ({marks})",
        papers - affected,
    ):
        on[paper].add(cid)
        named[paper] += 1
    for paper in papers & affected:
        on[paper] = {r[1] for r in after_rows.get(paper, [])}
        named[paper] = len(after_rows.get(paper, []))
    for paper in papers:
        if not crowded(named[paper]):
            together.update(on[paper] - {x})
    return dict(together)


def apply_patch(conn: sqlite3.Connection, plan: PatchPlan, generation: int) -> None:
    started = time.perf_counter()
    for sql, rows in plan.ops:
        if rows:
            conn.executemany(sql, rows)
    plan.slugs.save()
    conn.executemany(
        "DELETE FROM author_dirty WHERE paper_rowid = ? AND generation < ?",
        [(r, generation) for r in plan.changed],
    )
    plan.done.write_s += time.perf_counter() - started
