-- Vectors in a rowid table instead of a WITHOUT ROWID one. A WITHOUT ROWID row is a b-tree
-- index entry, kept on its page only up to about a quarter of the page: a 1,536-byte vector
-- (384 float32) spilled onto an overflow page of its own on 4 KiB pages, so 44,029 vectors
-- of 67.6 MB took a 207 MB table. A rowid table keeps rows up to nearly a page in place, and
-- rows arrive in insertion order, so pages fill up (docs/bench/vector_storage.txt).
-- One transaction with its schema_migrations row: a killed migration leaves the old table.
CREATE TABLE paper_vectors_new (
    paper_rowid INTEGER NOT NULL,
    passage     INTEGER NOT NULL,
    model       TEXT    NOT NULL,
    vector      BLOB    NOT NULL,   -- float32 little-endian, L2-normalised
    UNIQUE (paper_rowid, passage)
);
INSERT INTO paper_vectors_new (paper_rowid, passage, model, vector)
    SELECT paper_rowid, passage, model, vector FROM paper_vectors ORDER BY paper_rowid, passage;
-- the old table's index and triggers go with it
DROP TABLE paper_vectors;
ALTER TABLE paper_vectors_new RENAME TO paper_vectors;
CREATE INDEX paper_vectors_model ON paper_vectors (model, paper_rowid);
CREATE TRIGGER paper_vectors_inserted AFTER INSERT ON paper_vectors
BEGIN
    UPDATE store_meta SET value = value + 1 WHERE key = 'vectors_generation';
END;
CREATE TRIGGER paper_vectors_deleted AFTER DELETE ON paper_vectors
BEGIN
    UPDATE store_meta SET value = value + 1 WHERE key = 'vectors_generation';
END;
CREATE TRIGGER paper_vectors_updated AFTER UPDATE ON paper_vectors
BEGIN
    UPDATE store_meta SET value = value + 1 WHERE key = 'vectors_generation';
END;
