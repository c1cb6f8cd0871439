-- PostgreSQL mirror of sqlite/0001_papers.sql (store/migrate.py says how migrations are
-- mirrored). `rowid` is handed out by the store's single writer, so it is a plain key here.
CREATE TABLE papers (
    rowid            BIGINT  PRIMARY KEY,
    id               TEXT    NOT NULL UNIQUE,
    title            TEXT    NOT NULL,
    abstract         TEXT    NOT NULL DEFAULT '',
    authors          TEXT    NOT NULL DEFAULT '[]',
    authors_text     TEXT    NOT NULL DEFAULT '',
    authors_complete INTEGER NOT NULL DEFAULT 1,
    author_count     INTEGER,
    categories       TEXT    NOT NULL DEFAULT '',
    published        TEXT,
    updated          TEXT,
    arxiv_id         TEXT,
    doi              TEXT,
    links            TEXT    NOT NULL DEFAULT '{}',
    sources          TEXT    NOT NULL DEFAULT '',
    upvotes          BIGINT,
    citations        BIGINT,
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

CREATE TABLE paper_aliases (
    alias       TEXT    PRIMARY KEY,
    paper_rowid BIGINT  NOT NULL
);
CREATE INDEX paper_aliases_paper ON paper_aliases (paper_rowid);

CREATE TABLE paper_authors (
    paper_rowid BIGINT  NOT NULL,
    position    INTEGER NOT NULL,
    name        TEXT    NOT NULL,
    name_key    TEXT    NOT NULL,
    family_key  TEXT    NOT NULL,
    PRIMARY KEY (paper_rowid, position)
);
CREATE INDEX paper_authors_family ON paper_authors (family_key);

CREATE TABLE paper_sources (
    paper_rowid BIGINT  NOT NULL,
    source      TEXT    NOT NULL,
    origin      TEXT    NOT NULL,
    first_seen  TEXT    NOT NULL,
    PRIMARY KEY (paper_rowid, source, origin)
);

CREATE TABLE harvest_state (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- SQLite's scalar functions the store's portable SQL still uses, with SQLite's answers
-- (NULL where SQLite gives NULL), so one query text runs on both backends.
CREATE FUNCTION instr(haystack TEXT, needle TEXT) RETURNS INTEGER
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT strpos(haystack, needle) $$;

-- julianday() of an ISO 8601 day or UTC timestamp; anything else is NULL, as in SQLite.
CREATE FUNCTION julianday(value TEXT) RETURNS DOUBLE PRECISION
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    IF value IS NULL OR value !~ '^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$' THEN
        RETURN NULL;
    END IF;
    RETURN extract(epoch FROM (CASE WHEN value ~ '(Z|[+-]\d{2}:?\d{2})$' THEN value
                                    ELSE value || 'Z' END)::timestamptz) / 86400.0 + 2440587.5;
EXCEPTION WHEN others THEN
    RETURN NULL;
END;
$$;

-- json_extract(doc, '$.key') of a JSON object's top-level key, as text (NULL when absent).
CREATE FUNCTION json_extract(doc TEXT, path TEXT) RETURNS TEXT
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN path LIKE '$.%' THEN (doc::jsonb) ->> substr(path, 3) END
$$;

-- total(x): SQLite's sum that is 0.0 over no rows, and a float.
CREATE AGGREGATE total(DOUBLE PRECISION) (SFUNC = float8pl, STYPE = DOUBLE PRECISION, INITCOND = '0');
