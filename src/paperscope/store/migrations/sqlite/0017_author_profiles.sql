-- Author catch-up in proportion to the increment (store/author_patch.py, docs/authors.md).
-- What clustering reads, kept up to date by every build so a catch-up need not read whole
-- blocks again:
--   * author_papers: per paper with authors, its categories, its authors as coauthor keys
--     (family + first initial) and its full-name keys (family|first), as last clustered;
--   * author_profiles: per full name (family|first), counts of its initials, coauthor keys
--     and categories over its full-name occurrences: what an initials-only name is decided
--     against;
--   * author_initials: every initials-only occurrence, its block and the anchor of the person
--     clustering put it in (before corrections);
--   * author_variants.occurrences: occurrences per spelling (the display name counts them).
-- author_meta 'state' = 1 once these tables are complete (a rebuild fills them; a store with
-- no author tables yet starts complete).
CREATE TABLE author_papers (
    paper_rowid INTEGER PRIMARY KEY,
    categories  TEXT    NOT NULL,
    short_keys  TEXT    NOT NULL,
    full_keys   TEXT    NOT NULL
);

CREATE TABLE author_profiles (
    key   TEXT PRIMARY KEY,
    block TEXT NOT NULL,
    data  TEXT NOT NULL
);
CREATE INDEX author_profiles_block ON author_profiles (block);

CREATE TABLE author_initials (
    paper_rowid INTEGER NOT NULL,
    position    INTEGER NOT NULL,
    block       TEXT    NOT NULL,
    initials    TEXT    NOT NULL,
    anchor      TEXT    NOT NULL,
    PRIMARY KEY (paper_rowid, position)
);
CREATE INDEX author_initials_block ON author_initials (block);

ALTER TABLE author_variants ADD COLUMN occurrences INTEGER NOT NULL DEFAULT 0;

INSERT INTO author_meta (key, value)
SELECT 'state', 1 WHERE NOT EXISTS (SELECT 1 FROM author_occurrences);
