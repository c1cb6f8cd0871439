-- PostgreSQL mirror of sqlite/0015_topics.sql.
-- Topics: a hierarchy of clusters of the papers' whole-text vectors (aspect 'topic'), and
-- further groupings of the same papers along one aspect each ('task', 'method'). Derived
-- data, rebuilt by `paperscope topics rebuild`; new papers join the nearest centroid.
-- Topic ids are given by store/topics.py (never reused), so `id` is a plain key here.
CREATE TABLE IF NOT EXISTS topics (
    id       BIGINT PRIMARY KEY,
    parent   BIGINT,
    level    INTEGER NOT NULL,
    label    TEXT    NOT NULL,
    size     INTEGER NOT NULL,
    aspect   TEXT    NOT NULL DEFAULT 'topic',
    centroid BYTEA,
    central  TEXT    NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS topics_aspect ON topics (aspect, level);
CREATE TABLE IF NOT EXISTS paper_topics (
    paper_rowid BIGINT NOT NULL,
    aspect      TEXT   NOT NULL,
    topic       BIGINT NOT NULL,
    PRIMARY KEY (paper_rowid, aspect)
);
CREATE INDEX IF NOT EXISTS paper_topics_topic ON paper_topics (topic);
CREATE TABLE IF NOT EXISTS topic_builds (
    aspect            TEXT    PRIMARY KEY,
    built_at          TEXT    NOT NULL,
    model             TEXT    NOT NULL,
    seed              INTEGER NOT NULL,
    papers            INTEGER NOT NULL,
    build_distance    DOUBLE PRECISION NOT NULL,
    assigned          INTEGER NOT NULL DEFAULT 0,
    assigned_distance DOUBLE PRECISION NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS aspect_vectors (
    paper_rowid BIGINT NOT NULL,
    aspect      TEXT   NOT NULL,
    model       TEXT   NOT NULL,
    vector      BYTEA  NOT NULL,
    PRIMARY KEY (paper_rowid, aspect)
);
