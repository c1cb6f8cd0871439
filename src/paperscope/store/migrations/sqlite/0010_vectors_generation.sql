-- A counter moved by every vector written or removed (embedding, re-embedding a re-worded
-- paper, a new model): caches of vector search results (index/neighbours.py) key on it, so
-- metadata-only writes (upvotes, versions, library stubs) leave them valid.
INSERT OR IGNORE INTO store_meta (key, value) VALUES ('vectors_generation', 0);
CREATE TRIGGER IF NOT EXISTS paper_vectors_inserted AFTER INSERT ON paper_vectors
BEGIN
    UPDATE store_meta SET value = value + 1 WHERE key = 'vectors_generation';
END;
CREATE TRIGGER IF NOT EXISTS paper_vectors_deleted AFTER DELETE ON paper_vectors
BEGIN
    UPDATE store_meta SET value = value + 1 WHERE key = 'vectors_generation';
END;
CREATE TRIGGER IF NOT EXISTS paper_vectors_updated AFTER UPDATE ON paper_vectors
BEGIN
    UPDATE store_meta SET value = value + 1 WHERE key = 'vectors_generation';
END;
