-- The paper store: one row per paper, keys for merging, and the FTS5 lexical index over it.
CREATE TABLE papers (
    rowid            INTEGER PRIMARY KEY,
    id               TEXT    NOT NULL UNIQUE,
    title            TEXT    NOT NULL,
    abstract         TEXT    NOT NULL DEFAULT '',
    authors          TEXT    NOT NULL DEFAULT '[]',  -- JSON [[name, affiliation, orcid], ...]
    authors_text     TEXT    NOT NULL DEFAULT '',    -- names joined, for FTS
    authors_complete INTEGER NOT NULL DEFAULT 1,
    author_count     INTEGER,
    categories       TEXT    NOT NULL DEFAULT '',    -- space separated, primary first
    published        TEXT,
    updated          TEXT,
    arxiv_id         TEXT,
    doi              TEXT,
    links            TEXT    NOT NULL DEFAULT '{}',
    sources          TEXT    NOT NULL DEFAULT '',    -- space separated
    upvotes          INTEGER,
    citations        INTEGER,
    journal_ref      TEXT,
    comment          TEXT,
    organization     TEXT,
    external_ids     TEXT    NOT NULL DEFAULT '{}',
    title_key        TEXT    NOT NULL,
    first_author_key TEXT    NOT NULL DEFAULT '',
    deleted          INTEGER NOT NULL DEFAULT 0,
    added_at         TEXT    NOT NULL,
    modified_at      TEXT    NOT NULL
);
CREATE INDEX papers_title_key ON papers (title_key);
CREATE INDEX papers_published ON papers (published);

-- Every name a paper answers to: "arxiv:<id>", "doi:<doi>" and ids it had before a merge.
CREATE TABLE paper_aliases (
    alias       TEXT    PRIMARY KEY,
    paper_rowid INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX paper_aliases_paper ON paper_aliases (paper_rowid);

CREATE TABLE paper_authors (
    paper_rowid INTEGER NOT NULL,
    position    INTEGER NOT NULL,
    name        TEXT    NOT NULL,
    name_key    TEXT    NOT NULL,   -- family_initial, arXiv's au:hu_j
    family_key  TEXT    NOT NULL,
    PRIMARY KEY (paper_rowid, position)
) WITHOUT ROWID;
CREATE INDEX paper_authors_family ON paper_authors (family_key);

-- Where each paper came from: the sources it was merged from.
CREATE TABLE paper_sources (
    paper_rowid INTEGER NOT NULL,
    source      TEXT    NOT NULL,
    origin      TEXT    NOT NULL,
    first_seen  TEXT    NOT NULL,
    PRIMARY KEY (paper_rowid, source, origin)
) WITHOUT ROWID;

-- Resumable harvests: a cursor commits in the same transaction as the papers it covers.
CREATE TABLE harvest_state (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE VIRTUAL TABLE papers_fts USING fts5 (
    title, authors_text, abstract,
    content = 'papers', content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2'
);
