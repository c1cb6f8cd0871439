-- PostgreSQL mirror of sqlite/0002_vectors.sql, in the shape sqlite/0012 gave it (a table
-- keyed by (paper_rowid, passage)); the vectors are float32 little-endian bytes, as on SQLite.
CREATE TABLE paper_vectors (
    paper_rowid BIGINT  NOT NULL,
    passage     INTEGER NOT NULL,
    model       TEXT    NOT NULL,
    vector      BYTEA   NOT NULL,
    PRIMARY KEY (paper_rowid, passage)
);
CREATE INDEX paper_vectors_model ON paper_vectors (model, paper_rowid);

CREATE INDEX papers_modified ON papers (modified_at);

CREATE TABLE store_meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL);
INSERT INTO store_meta (key, value) VALUES ('generation', 0);
