-- PostgreSQL mirror of sqlite/0017_author_profiles.sql.
-- Author catch-up in proportion to the increment (store/author_patch.py, docs/authors.md):
-- what clustering reads, kept up to date by every build so a catch-up need not read whole
-- blocks again. author_meta 'state' = 1 once these tables are complete.
CREATE TABLE IF NOT EXISTS author_papers (
    paper_rowid BIGINT PRIMARY KEY,
    categories  TEXT   NOT NULL,
    short_keys  TEXT   NOT NULL,
    full_keys   TEXT   NOT NULL
);

CREATE TABLE IF NOT EXISTS author_profiles (
    key   TEXT PRIMARY KEY,
    block TEXT NOT NULL,
    data  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS author_profiles_block ON author_profiles (block);

CREATE TABLE IF NOT EXISTS author_initials (
    paper_rowid BIGINT  NOT NULL,
    position    INTEGER NOT NULL,
    block       TEXT    NOT NULL,
    initials    TEXT    NOT NULL,
    anchor      TEXT    NOT NULL,
    PRIMARY KEY (paper_rowid, position)
);
CREATE INDEX IF NOT EXISTS author_initials_block ON author_initials (block);

ALTER TABLE author_variants ADD COLUMN IF NOT EXISTS occurrences INTEGER NOT NULL DEFAULT 0;

INSERT INTO author_meta (key, value)
SELECT 'state', 1 WHERE NOT EXISTS (SELECT 1 FROM author_occurrences);
