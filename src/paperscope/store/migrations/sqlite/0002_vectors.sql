-- Embedding vectors: one row per passage of a paper, tagged with the model version that made it.
-- The vector index on disk is a cache rebuilt from this table.
CREATE TABLE paper_vectors (
    paper_rowid INTEGER NOT NULL,
    passage     INTEGER NOT NULL,
    model       TEXT    NOT NULL,
    vector      BLOB    NOT NULL,   -- float32 little-endian, L2-normalised
    PRIMARY KEY (paper_rowid, passage)
) WITHOUT ROWID;
CREATE INDEX paper_vectors_model ON paper_vectors (model, paper_rowid);

-- Lets derived indexes catch up with what changed since they were last built.
CREATE INDEX papers_modified ON papers (modified_at);

-- A counter bumped by every write that adds, changes or deletes papers.
CREATE TABLE store_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO store_meta (key, value) VALUES ('generation', 0);
