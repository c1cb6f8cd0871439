-- PostgreSQL mirror of sqlite/0010_vectors_generation.sql: one statement trigger moves the
-- counter for every write to paper_vectors.
INSERT INTO store_meta (key, value) VALUES ('vectors_generation', 0) ON CONFLICT (key) DO NOTHING;
CREATE FUNCTION paper_vectors_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE store_meta SET value = value + 1 WHERE key = 'vectors_generation';
    RETURN NULL;
END;
$$;
CREATE TRIGGER paper_vectors_changed AFTER INSERT OR UPDATE OR DELETE ON paper_vectors
    FOR EACH STATEMENT EXECUTE FUNCTION paper_vectors_changed();
