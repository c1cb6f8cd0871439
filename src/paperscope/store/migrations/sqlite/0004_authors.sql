-- Author identity (store/authors.py, docs/authors.md): clusters of author occurrences, one per
-- person. Two kinds of tables:
--   * permanent: author_slugs (every slug ever handed out, keyed by a stable anchor) and
--     author_corrections (merges and splits a person made); never rebuilt;
--   * derived: everything else, rebuilt from papers + corrections when the store's generation
--     moved (author_meta records the generation they were built at).

-- An anchor is a stable thing a cluster holds: "hu|juhua" (family|first given name), "hu|~j#42"
-- (an initials-only name first seen on paper rowid 42) or "split:7" (made by correction 7).
CREATE TABLE author_slugs (
    anchor TEXT    PRIMARY KEY,
    slug   TEXT    NOT NULL UNIQUE,
    seq    INTEGER NOT NULL          -- order handed out: the oldest slug survives an automatic merge
) WITHOUT ROWID;

CREATE TABLE author_corrections (
    id         INTEGER PRIMARY KEY,
    kind       TEXT    NOT NULL CHECK (kind IN ('merge', 'split_variant', 'split_papers')),
    target     TEXT    NOT NULL,     -- merge: survivor anchor; split: anchor of the split cluster
    data       TEXT    NOT NULL,     -- JSON: merge [anchors]; split_variant "folded name"; split_papers [rowids]
    created_at TEXT    NOT NULL
);

CREATE TABLE author_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);

CREATE TABLE author_clusters (
    cluster_id INTEGER PRIMARY KEY,
    slug       TEXT    NOT NULL UNIQUE,
    name       TEXT    NOT NULL,     -- the most used full spelling
    family     TEXT    NOT NULL,     -- folded family name, for look-ups by name
    papers     INTEGER NOT NULL
);
CREATE INDEX author_clusters_family ON author_clusters (family);

CREATE TABLE author_anchors (
    anchor     TEXT    PRIMARY KEY,
    cluster_id INTEGER NOT NULL
) WITHOUT ROWID;

-- One row per author of a paper as shown (position >= 0), plus position -1 for a profile page's
-- owner on a paper whose shown list stops ("et al.") before reaching them.
CREATE TABLE author_occurrences (
    paper_rowid INTEGER NOT NULL,
    position    INTEGER NOT NULL,
    cluster_id  INTEGER NOT NULL,
    name        TEXT    NOT NULL,
    PRIMARY KEY (paper_rowid, position)
) WITHOUT ROWID;
CREATE INDEX author_occurrences_cluster ON author_occurrences (cluster_id, paper_rowid);

CREATE TABLE author_variants (
    cluster_id INTEGER NOT NULL,
    name       TEXT    NOT NULL,
    name_fold  TEXT    NOT NULL,
    papers     INTEGER NOT NULL,
    PRIMARY KEY (cluster_id, name)
) WITHOUT ROWID;

CREATE TABLE author_categories (
    category   TEXT    NOT NULL,
    cluster_id INTEGER NOT NULL,
    papers     INTEGER NOT NULL,
    PRIMARY KEY (category, cluster_id)
) WITHOUT ROWID;
CREATE INDEX author_categories_top ON author_categories (category, papers DESC);
