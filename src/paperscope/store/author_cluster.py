"""Grouping author occurrences into people: the algorithm behind author pages (docs/authors.md).

Pure functions over plain records, so the rules can be read and tested apart from SQLite:

1. Every full spelling of one name ("Juhua Hu", "Hu, Juhua", "Juhua J. Hu") shares a key
   (family + first given name) and is one person. Different first names ("Jian Hu" and
   "Juhua Hu") are different people.
2. A name with initials only ("J. Hu", "Hu J") joins a full name of the same family whose
   initials fit, on evidence from its own paper: the most shared coauthors (compared as
   family + first initial, so their spelling does not matter), or, with no shared coauthor,
   a shared category when that full name is the only one it could be. Otherwise it stays apart.
3. Initials-only names left over form people of their own: occurrences of one spelling are
   linked when they share a coauthor or a category.
4. Corrections (merges, splits) are applied last, in the order they were made, so they hold
   whatever the automatic steps decide after a re-import.

A paper with more than MAX_PAIRED_AUTHORS authors gives no coauthor evidence to steps 2-3.

Steps 1-3 never look beyond one **block** (family + first initial, `block_of`): an occurrence
only joins or links occurrences of its own block, and reads other authors of its paper only as
coauthor keys. So clustering some blocks alone (`blocks=`) gives exactly the people a full run
gives for them, which is what the incremental catch-up (author_build.py) relies on.
Corrections can join blocks (a merge of two families); `correction_groups` says which.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from paperscope.store.author_names import (
    PersonName,
    compatible_initials,
    name_fold,
    spelling_rank,
)

#: A paper naming more authors than this is a large collaboration (hep-ex, astronomy, big
#: consortia list hundreds to thousands). Its authors get pages and the paper counts for each,
#: but it gives no coauthor evidence (step 2 and 3 below) and no coauthor counts. Everyone on
#: it shares it with everyone else, so it says nothing about which "J. Hu" someone is, it
#: would flood every member's coauthor list with people met once, and its n authors would cost
#: n * n keys and pairs (3,000 authors: 9 million). 100 is far above an ordinary author list
#: and bounds the coauthor work of one authorship to 99, so building stays linear.
MAX_PAIRED_AUTHORS = 100


def crowded(authors: int) -> bool:
    """Is a paper with `authors` named authors (occurrences with a parsed name, a hidden
    profile owner included) a large collaboration (see MAX_PAIRED_AUTHORS)?"""
    return authors > MAX_PAIRED_AUTHORS


@dataclass(slots=True)
class Occurrence:
    paper: int  # paper rowid
    position: int  # author position as shown; -1 for a profile owner the list does not show
    name: str
    person: PersonName | None


@dataclass(slots=True)
class Correction:
    id: int
    kind: str  # merge | split_variant | split_papers
    target: str  # an anchor
    data: object  # merge: [anchors]; split_variant: folded name; split_papers: [rowids]


@dataclass(slots=True)
class Cluster:
    anchors: list[str]
    members: list[int]  # indexes into the occurrence list
    preferred: str | None = None  # the anchor whose slug names the cluster (set by corrections)


@dataclass(slots=True)
class _Profile:
    initials: set[str] = field(default_factory=set)
    coauthors: set[str] = field(default_factory=set)
    categories: set[str] = field(default_factory=set)
    papers: set[int] = field(default_factory=set)


def block_of(person: PersonName) -> str:
    """The block a name is clustered in: family + first initial ("hu|j")."""
    return f"{person.family}|{person.initials[:1]}"


def anchor_block(anchor: str, split_targets: dict[int, str]) -> str | None:
    """The block of an anchor: "hu|juhua" and "hu|~jh#42" are in "hu|j"; "split:7" is in the
    block of the anchor correction 7 split (None when that correction is unknown)."""
    for _ in range(len(split_targets) + 1):
        if not anchor.startswith("split:"):
            break
        target = split_targets.get(int(anchor[6:]))
        if target is None:
            return None
        anchor = target
    family, _, rest = anchor.partition("|")
    initial = rest[1:2] if rest.startswith("~") else rest[:1]
    return f"{family}|{initial}"


def correction_groups(corrections: Iterable[Correction]) -> dict[str, str]:
    """Blocks that corrections tie together, as block -> a representative block. A block no
    correction names is absent (it stands alone)."""
    corrections = list(corrections)
    split_targets = {c.id: c.target for c in corrections if c.kind != "merge"}
    parent: dict[str, str] = {}

    def root(block: str) -> str:
        parent.setdefault(block, block)
        while parent[block] != block:
            parent[block] = parent[parent[block]]
            block = parent[block]
        return block

    for corr in corrections:
        anchors = [corr.target, *(corr.data if corr.kind == "merge" else ())]
        blocks = [b for a in anchors if (b := anchor_block(a, split_targets)) is not None]
        for block in blocks:
            parent[root(block)] = root(blocks[0])
    return {block: root(block) for block in list(parent)}


def close_blocks(blocks: set[str], groups: dict[str, str]) -> set[str]:
    """`blocks` plus every block a correction ties to one of them."""
    wanted = {groups[b] for b in blocks if b in groups}
    return blocks | {b for b, g in groups.items() if g in wanted}


class _Clusterer:
    def __init__(
        self,
        occs: list[Occurrence],
        paper_cats: dict[int, tuple[str, ...]],
        blocks: set[str] | None = None,
    ) -> None:
        self.occs = occs
        self.paper_cats = paper_cats
        self.by_paper: dict[int, list[int]] = defaultdict(list)
        self.groups: dict[str, list[int]] = {}
        # full-name keys by family and first initial: the only candidates initials can fit
        self.family_groups: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.initial_only: dict[str, list[int]] = defaultdict(list)
        for i, occ in enumerate(occs):
            self.by_paper[occ.paper].append(i)
            person = occ.person
            if person is None:
                continue
            if blocks is not None and block_of(person) not in blocks:
                continue  # read only as a coauthor key of its paper
            if person.full:
                members = self.groups.get(person.key)
                if members is None:
                    members = self.groups[person.key] = []
                    self.family_groups[(person.family, person.initials[:1])].append(person.key)
                members.append(i)
            else:
                self.initial_only[person.family].append(i)
        # each paper's authors as family + first initial, shared by all its occurrences; none
        # for a large collaboration (MAX_PAIRED_AUTHORS)
        self.paper_keys: dict[int, frozenset[str]] = {}
        for paper, members in self.by_paper.items():
            persons = [p for j in members if (p := occs[j].person) is not None]
            keys = () if crowded(len(persons)) else (p.short_key for p in persons)
            self.paper_keys[paper] = frozenset(keys)

    def coauthor_keys(self, i: int) -> frozenset[str]:
        """The authors of occurrence i's paper as family + first initial (its own key too:
        callers compare against sets that never hold it)."""
        return self.paper_keys[self.occs[i].paper]

    def profile(self, key: str) -> _Profile:
        prof = _Profile()
        for i in self.groups[key]:
            occ = self.occs[i]
            prof.initials.add(occ.person.initials)
            prof.coauthors |= self.paper_keys[occ.paper]
            prof.categories.update(self.paper_cats.get(occ.paper, ()))
            prof.papers.add(occ.paper)
        # the person's own family + initial says nothing about who they are
        family, first = key.split("|", 1)
        prof.coauthors.discard(f"{family}_{first[:1]}")
        return prof

    def attach(self) -> tuple[dict[str, list[int]], list[int]]:
        """Initials-only occurrences joined to full-name groups, and the ones left over."""
        attached: dict[str, list[int]] = defaultdict(list)
        left: list[int] = []
        for family, members in self.initial_only.items():
            profiles: dict[str, _Profile] = {}
            for i in members:
                keys = self.family_groups.get((family, self.occs[i].person.initials[:1]))
                key = self._best_group(i, keys, profiles) if keys else None
                if key is None:
                    left.append(i)
                else:
                    attached[key].append(i)
        return attached, left

    def _best_group(self, i: int, keys: list[str], profiles: dict[str, _Profile]) -> str | None:
        occ = self.occs[i]
        person = occ.person
        candidates = []
        for key in keys:
            prof = profiles.get(key)
            if prof is None:
                prof = profiles[key] = self.profile(key)
            fits = any(compatible_initials(person.initials, ini) for ini in prof.initials)
            # the same paper listing both names means two people
            if fits and occ.paper not in prof.papers:
                candidates.append((key, prof))
        if not candidates:
            return None
        mine = self.coauthor_keys(i)  # holds its own key, which no profile holds
        scored = sorted(
            ((len(mine & prof.coauthors), key) for key, prof in candidates), reverse=True
        )
        if scored[0][0] > 0:
            if len(scored) == 1 or scored[1][0] < scored[0][0]:
                return scored[0][1]
            return None  # two people fit as well: do not guess
        cats = set(self.paper_cats.get(occ.paper, ()))
        if len(candidates) == 1 and cats & candidates[0][1].categories:
            return candidates[0][0]
        return None

    def components(self, left: list[int]) -> list[Cluster]:
        """Initials-only occurrences of one spelling linked by a shared coauthor or category."""
        buckets: dict[tuple[str, str], list[int]] = defaultdict(list)
        for i in left:
            person = self.occs[i].person
            buckets[(person.family, person.initials)].append(i)
        clusters = []
        for (family, initials), members in buckets.items():
            parent = list(range(len(members)))

            seen: dict[str, int] = {}
            own = f"{family}_{initials[:1]}"
            for n, i in enumerate(members):
                features = {"c:" + k for k in self.coauthor_keys(i) if k != own}
                features |= {"k:" + c for c in self.paper_cats.get(self.occs[i].paper, ())}
                for feature in features:
                    first = seen.setdefault(feature, n)
                    parent[_root(parent, n)] = _root(parent, first)
            parts: dict[int, list[int]] = defaultdict(list)
            for n, i in enumerate(members):
                parts[_root(parent, n)].append(i)
            for part in parts.values():
                first_paper = min(self.occs[i].paper for i in part)
                clusters.append(Cluster([f"{family}|~{initials}#{first_paper}"], part))
        return clusters


def _root(parent: list[int], x: int) -> int:
    """Union-find root with path halving."""
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def cluster_authors(
    occs: list[Occurrence],
    paper_cats: dict[int, tuple[str, ...]],
    corrections: Iterable[Correction] = (),
    blocks: set[str] | None = None,
    base_anchors: dict[int, str] | None = None,
) -> list[Cluster]:
    """People from author occurrences; see the module docstring for the rules. With `blocks`,
    only the occurrences of those blocks are clustered (the others are coauthor keys); the
    blocks must be closed under `correction_groups` for the corrections to apply as in a full
    run. `base_anchors`, when given, receives each initials-only occurrence's anchor before
    corrections. Clusters come in a fixed order (full names by first occurrence in `occs`, then
    initials-only people, then splits), which decides who gets a colliding slug first."""
    clusterer = _Clusterer(occs, paper_cats, blocks)
    attached, left = clusterer.attach()
    clusters = [
        Cluster([key], members + attached.get(key, [])) for key, members in clusterer.groups.items()
    ]
    clusters.extend(clusterer.components(left))
    if base_anchors is not None:  # what author_initials keeps: the anchor before corrections
        for cluster in clusters:
            for i in cluster.members:
                if not occs[i].person.full:
                    base_anchors[i] = cluster.anchors[0]
    return apply_corrections(clusters, occs, corrections)


def apply_corrections(
    clusters: list[Cluster], occs: list[Occurrence], corrections: Iterable[Correction]
) -> list[Cluster]:
    by_id = dict(enumerate(clusters))
    owner = {anchor: cid for cid, c in by_id.items() for anchor in c.anchors}
    for corr in corrections:
        if corr.kind == "merge":
            _merge(by_id, owner, corr)
        elif corr.kind in ("split_variant", "split_papers"):
            cid = owner.get(corr.target)
            if cid is None:
                continue  # the person it named no longer exists (papers deleted)
            if corr.kind == "split_variant":
                moving = [i for i in by_id[cid].members if name_fold(occs[i].name) == corr.data]
            else:
                papers = set(corr.data)
                moving = [i for i in by_id[cid].members if occs[i].paper in papers]
            if not moving or len(moving) == len(by_id[cid].members):
                continue
            moved = set(moving)
            by_id[cid].members = [i for i in by_id[cid].members if i not in moved]
            anchor = f"split:{corr.id}"
            new_id = max(by_id) + 1
            by_id[new_id] = Cluster([anchor], moving, preferred=anchor)
            owner[anchor] = new_id
    return [c for c in by_id.values() if c.members]


def _merge(by_id: dict[int, Cluster], owner: dict[str, int], corr: Correction) -> None:
    ids = []
    for anchor in [corr.target, *corr.data]:
        cid = owner.get(anchor)
        if cid is not None and cid not in ids:
            ids.append(cid)
    if len(ids) < 2:
        return
    survivor = by_id[ids[0]]
    for cid in ids[1:]:
        other = by_id.pop(cid)
        survivor.members.extend(other.members)
        survivor.anchors.extend(other.anchors)
        for anchor in other.anchors:
            owner[anchor] = ids[0]
    if corr.target in survivor.anchors:
        survivor.preferred = corr.target


def display_name(occs: list[Occurrence], members: list[int]) -> str:
    """The most used full spelling (initials-only spellings only when there is no other; see
    `spelling_rank`)."""
    full = Counter(occs[i].name for i in members if occs[i].person and occs[i].person.full)
    counts = full or Counter(occs[i].name for i in members)
    return max(counts.items(), key=lambda item: spelling_rank(*item))[0]
