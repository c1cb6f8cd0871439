-- PostgreSQL mirror of sqlite/0014_author_catchup.sql: papers added, changed or removed mark
-- themselves dirty for the author catch-up (store/author_build.py).
CREATE TABLE author_dirty (
    paper_rowid BIGINT PRIMARY KEY,
    generation  BIGINT NOT NULL
);

CREATE FUNCTION author_dirty_mark() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r BIGINT;
BEGIN
    IF TG_OP = 'DELETE' THEN
        r := OLD.rowid;
    ELSIF TG_OP = 'UPDATE' AND NOT (OLD.authors IS DISTINCT FROM NEW.authors
            OR OLD.categories IS DISTINCT FROM NEW.categories
            OR OLD.published IS DISTINCT FROM NEW.published
            OR OLD.deleted IS DISTINCT FROM NEW.deleted
            OR OLD.external_ids IS DISTINCT FROM NEW.external_ids) THEN
        RETURN NULL;
    ELSE
        r := NEW.rowid;
    END IF;
    INSERT INTO author_dirty (paper_rowid, generation)
    VALUES (r, (SELECT value FROM store_meta WHERE key = 'generation'))
    ON CONFLICT (paper_rowid) DO UPDATE SET generation = excluded.generation;
    RETURN NULL;
END;
$$;
CREATE TRIGGER author_dirty_mark AFTER INSERT OR UPDATE OR DELETE ON papers
    FOR EACH ROW EXECUTE FUNCTION author_dirty_mark();

ALTER TABLE author_occurrences ADD COLUMN block TEXT;
CREATE INDEX author_occurrences_block ON author_occurrences (block);
CREATE INDEX author_anchors_cluster ON author_anchors (cluster_id);

CREATE TABLE author_coauthors (
    cluster_id BIGINT NOT NULL,
    other_id   BIGINT NOT NULL,
    shared     BIGINT NOT NULL,
    PRIMARY KEY (cluster_id, other_id)
);
CREATE INDEX author_coauthors_other ON author_coauthors (other_id);

INSERT INTO author_dirty (paper_rowid, generation) SELECT rowid, 0 FROM papers;
