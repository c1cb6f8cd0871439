"""What author clustering reads, persisted (migration 0017), so a catch-up decides only what the
changed papers touch (author_patch.py) instead of reading whole blocks again.

- `author_papers`: per paper with authors, its categories, coauthor keys and full-name keys;
- `author_profiles`: per full name, counts of its initials, coauthor keys and categories over
  its full-name occurrences (a count, not a set, so a removed paper can be taken back out);
- `author_initials`: each initials-only occurrence, its block, and the anchor clustering gave
  it before corrections.

A full rebuild writes them whole (`write_state`); every catch-up patches them for the changed
papers (`StateDelta`). They hold exactly what `author_cluster._Clusterer` computes from the
occurrences, so deciding from them gives a full run's result.
"""

from __future__ import annotations

import sqlite3
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import orjson

from paperscope.store.author_cluster import Occurrence, block_of, crowded
from paperscope.store.author_names import PersonName

STATE_KEY = "state"


@dataclass(slots=True)
class PaperView:
    """What clustering reads of one paper."""

    cats: tuple[str, ...]
    shorts: frozenset[str]  # its authors as family + first initial (none: a collaboration)
    fulls: frozenset[str]  # its full-name keys

    def row(self, paper: int) -> tuple:
        return (
            paper,
            " ".join(self.cats),
            " ".join(sorted(self.shorts)),
            " ".join(sorted(self.fulls)),
        )


def view_from_row(cats: str, shorts: str, fulls: str) -> PaperView:
    return PaperView(tuple(cats.split()), frozenset(shorts.split()), frozenset(fulls.split()))


def paper_views(
    occs: Iterable[Occurrence], paper_cats: dict[int, tuple[str, ...]]
) -> dict[int, PaperView]:
    persons: dict[int, list[PersonName]] = defaultdict(list)
    for occ in occs:
        if occ.person is not None:
            persons[occ.paper].append(occ.person)
    # a large collaboration keeps its full-name keys (two names on one paper are two people)
    # but gives no coauthor keys, as in _Clusterer.paper_keys
    return {
        paper: PaperView(
            paper_cats.get(paper, ()),
            frozenset() if crowded(len(ps)) else frozenset(p.short_key for p in ps),
            frozenset(p.key for p in ps if p.full),
        )
        for paper, ps in persons.items()
    }


@dataclass(slots=True)
class Profile:
    """Counts over the full-name occurrences of one key (see _Clusterer.profile)."""

    block: str = ""
    n: int = 0
    initials: Counter[str] = field(default_factory=Counter)
    coauthors: Counter[str] = field(default_factory=Counter)
    categories: Counter[str] = field(default_factory=Counter)
    negative: bool = False  # a coauthor count went below zero (only a store out of step)

    def add(
        self, person: PersonName, view: PaperView, sign: int, flipped: set[str] | None = None
    ) -> None:
        """Count one occurrence in (sign 1) or out (-1). Coauthor keys whose count turns
        positive or stops being so are toggled in `flipped`: a catch-up learns what changed
        without comparing the whole counters (a prolific name holds tens of thousands)."""
        family, first = person.key.split("|", 1)
        own = f"{family}_{first[:1]}"
        self.block = block_of(person)
        self.n += sign
        self.initials[person.initials] += sign
        coauthors = self.coauthors
        for key in view.shorts:
            if key != own:
                before = coauthors.get(key, 0)
                after = before + sign
                if after:
                    coauthors[key] = after
                    if after < 0:
                        self.negative = True
                else:
                    del coauthors[key]  # no zero kept: dump writes the counter as it is
                if flipped is not None and (before > 0) != (after > 0):
                    flipped ^= {key}
        for cat in view.cats:
            self.categories[cat] += sign

    def dump(self) -> str:
        def live(c: Counter[str]) -> dict[str, int]:
            return {k: v for k, v in c.items() if v > 0}

        coauthors = self.coauthors
        if self.negative:
            coauthors = live(coauthors)
        return orjson.dumps(
            {
                "n": self.n,
                "i": live(self.initials),
                "c": coauthors,
                "k": live(self.categories),
            }
        ).decode()


def load_profile(block: str, data: str) -> Profile:
    d = orjson.loads(data)
    return Profile(block, d["n"], Counter(d["i"]), Counter(d["c"]), Counter(d["k"]))


def initials_anchors(clusters, occs: list[Occurrence]) -> dict[int, str]:
    """occurrence index -> anchor of the base (pre-correction) cluster, initials-only ones."""
    out = {}
    for cluster in clusters:
        for i in cluster.members:
            person = occs[i].person
            if person is not None and not person.full:
                out[i] = cluster.anchors[0]
    return out


def write_state(
    conn: sqlite3.Connection,
    occs: list[Occurrence],
    paper_cats: dict[int, tuple[str, ...]],
    anchors: dict[int, str],
) -> None:
    """Replace the state tables with what `occs` (every occurrence) say."""
    for table in ("author_papers", "author_profiles", "author_initials"):
        conn.execute(f"DELETE FROM {table}")  # fixed names, no input
    views = paper_views(occs, paper_cats)
    conn.executemany(
        "INSERT INTO author_papers (paper_rowid, categories, short_keys, full_keys) "
        "VALUES (?, ?, ?, ?)",
        [v.row(p) for p, v in sorted(views.items())],
    )
    profiles: dict[str, Profile] = {}
    initials = []
    for i, occ in enumerate(occs):
        person = occ.person
        if person is None:
            continue
        if person.full:
            # Profile.add in bulk: C-level counting, the own key dropped once at the end
            prof = profiles.get(person.key)
            if prof is None:
                prof = profiles[person.key] = Profile(block_of(person))
            view = views[occ.paper]
            prof.n += 1
            prof.initials[person.initials] += 1
            prof.coauthors.update(view.shorts)
            prof.categories.update(view.cats)
        else:
            initials.append(
                (occ.paper, occ.position, block_of(person), person.initials, anchors[i])
            )
    for key, prof in profiles.items():
        family, first = key.split("|", 1)
        prof.coauthors.pop(f"{family}_{first[:1]}", None)
    conn.executemany(
        "INSERT INTO author_profiles (key, block, data) VALUES (?, ?, ?)",
        [(k, p.block, p.dump()) for k, p in sorted(profiles.items())],
    )
    initials.sort()
    conn.executemany(
        "INSERT INTO author_initials (paper_rowid, position, block, initials, anchor) "
        "VALUES (?, ?, ?, ?, ?)",
        initials,
    )
    conn.execute(
        "INSERT INTO author_meta (key, value) VALUES (?, 1) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (STATE_KEY,),
    )


def state_complete(conn: sqlite3.Connection) -> bool:
    row = conn.execute("SELECT value FROM author_meta WHERE key = ?", (STATE_KEY,)).fetchone()
    return bool(row and row[0])
