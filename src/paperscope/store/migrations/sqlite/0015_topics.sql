-- Topics: a hierarchy of clusters of the papers' whole-text vectors (aspect 'topic'), and
-- further groupings of the same papers along one aspect each ('task', 'method'). Derived
-- data, rebuilt by `paperscope topics rebuild`; new papers join the nearest centroid.
CREATE TABLE topics (
    id       INTEGER PRIMARY KEY,
    parent   INTEGER,                       -- the topic one level up, NULL at the top
    level    INTEGER NOT NULL,              -- 1 = top topic, 2 = sub-topic
    label    TEXT    NOT NULL,
    size     INTEGER NOT NULL,              -- papers in it (a top topic counts its sub-topics')
    aspect   TEXT    NOT NULL DEFAULT 'topic',
    centroid BLOB,                          -- float32 little-endian, L2-normalised
    central  TEXT    NOT NULL DEFAULT '[]'  -- JSON rowids of the papers nearest the centroid
);
CREATE INDEX topics_aspect ON topics (aspect, level);
CREATE TABLE paper_topics (
    paper_rowid INTEGER NOT NULL,
    aspect      TEXT    NOT NULL,
    topic       INTEGER NOT NULL,           -- the paper's finest topic of this aspect
    PRIMARY KEY (paper_rowid, aspect)
);
CREATE INDEX paper_topics_topic ON paper_topics (topic);
-- One row per aspect: when its topics were built, and the drift since (papers assigned to a
-- centroid later, and their mean cosine distance to it next to the build's own).
CREATE TABLE topic_builds (
    aspect            TEXT    PRIMARY KEY,
    built_at          TEXT    NOT NULL,
    model             TEXT    NOT NULL,
    seed              INTEGER NOT NULL,
    papers            INTEGER NOT NULL,
    build_distance    REAL    NOT NULL,
    assigned          INTEGER NOT NULL DEFAULT 0,
    assigned_distance REAL    NOT NULL DEFAULT 0
);
-- The embedded aspect text of each paper (rank/topic_aspects.py), kept so a rebuild embeds
-- only the papers that are new since the last.
CREATE TABLE aspect_vectors (
    paper_rowid INTEGER NOT NULL,
    aspect      TEXT    NOT NULL,
    model       TEXT    NOT NULL,
    vector      BLOB    NOT NULL,           -- float32 little-endian, L2-normalised
    PRIMARY KEY (paper_rowid, aspect)
);
