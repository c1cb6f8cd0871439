-- Incremental author clusters (store/author_build.py, docs/authors.md): the author tables catch
-- up with the papers that changed instead of being rebuilt after every import.
--   * author_dirty: papers added, changed (authors, categories, date, deletion, profile owner)
--     or removed since the clusters last caught up, filled by triggers, so every writer of
--     papers is seen. `generation` is the store generation when the row was written: a full
--     rebuild that read generation G clears only the rows older than G.
--   * author_occurrences.block: the block (family + first initial) each occurrence is
--     clustered in; a catch-up reclusters the blocks the changed papers touch.
--   * author_coauthors: for people with many papers, every coauthor and the papers shared,
--     so a catch-up patches the counts instead of recounting a prolific person's papers.
CREATE TABLE author_dirty (
    paper_rowid INTEGER PRIMARY KEY,
    generation  INTEGER NOT NULL
);

CREATE TRIGGER author_dirty_insert AFTER INSERT ON papers
BEGIN
    INSERT OR REPLACE INTO author_dirty (paper_rowid, generation)
    VALUES (new.rowid, (SELECT value FROM store_meta WHERE key = 'generation'));
END;

CREATE TRIGGER author_dirty_update AFTER UPDATE ON papers
WHEN old.authors IS NOT new.authors OR old.categories IS NOT new.categories
    OR old.published IS NOT new.published OR old.deleted IS NOT new.deleted
    OR old.external_ids IS NOT new.external_ids
BEGIN
    INSERT OR REPLACE INTO author_dirty (paper_rowid, generation)
    VALUES (new.rowid, (SELECT value FROM store_meta WHERE key = 'generation'));
END;

CREATE TRIGGER author_dirty_delete AFTER DELETE ON papers
BEGIN
    INSERT OR REPLACE INTO author_dirty (paper_rowid, generation)
    VALUES (old.rowid, (SELECT value FROM store_meta WHERE key = 'generation'));
END;

ALTER TABLE author_occurrences ADD COLUMN block TEXT;
CREATE INDEX author_occurrences_block ON author_occurrences (block);
CREATE INDEX author_anchors_cluster ON author_anchors (cluster_id);

CREATE TABLE author_coauthors (
    cluster_id INTEGER NOT NULL,
    other_id   INTEGER NOT NULL,
    shared     INTEGER NOT NULL,
    PRIMARY KEY (cluster_id, other_id)
) WITHOUT ROWID;
CREATE INDEX author_coauthors_other ON author_coauthors (other_id);

-- Clusters built before this migration have no blocks: every paper catches up once
-- (`paperscope authors rebuild` does the same in one pass).
INSERT INTO author_dirty (paper_rowid, generation) SELECT rowid, 0 FROM papers;
