-- Vectors in pgvector's `vector` type (issue 12: "vectors live in PostgreSQL (pgvector)"), so
-- the database itself can compare them (docs/postgres.md, Vectors). The columns have no
-- dimension: it is the embedding model's (384 for the bundled one), and a store may hold two
-- models' vectors while it is re-embedded; an HNSW index names the dimension in an expression
-- index per model instead (store/pgvector.py).
-- pgvector is not a trusted extension: a database user who may not create it needs an
-- administrator to run `CREATE EXTENSION vector` in the database once; IF NOT EXISTS then
-- passes.
CREATE EXTENSION IF NOT EXISTS vector;

-- Rows written before this migration hold float32 little-endian bytes (BYTEA): decoded here
-- bit for bit (subnormals and -0 included); about 0.4 ms a 384-d row, 40 s per 100k rows.
-- A vector is never empty (store.save_vectors writes the model's dimension), so the NOT NULL
-- of the columns holds.
CREATE FUNCTION paperscope_float4le_vector(b bytea) RETURNS vector
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT array_agg(
        (CASE WHEN (w >> 31) = 1 THEN -1.0::float8 ELSE 1.0::float8 END)
        * CASE WHEN ((w >> 23) & 255) = 0 THEN (w & 8388607) * (2.0::float8 ^ -149)
               ELSE (8388608 + (w & 8388607)) * (2.0::float8 ^ (((w >> 23) & 255) - 150)) END
        ORDER BY i)::real[]::vector
    FROM (SELECT i, get_byte(b, 4 * i)::bigint | (get_byte(b, 4 * i + 1)::bigint << 8)
                 | (get_byte(b, 4 * i + 2)::bigint << 16) | (get_byte(b, 4 * i + 3)::bigint << 24)
                 AS w
          FROM generate_series(0, length(b) / 4 - 1) AS i) AS words
$$;

ALTER TABLE paper_vectors ALTER COLUMN vector TYPE vector USING paperscope_float4le_vector(vector);
ALTER TABLE aspect_vectors ALTER COLUMN vector TYPE vector USING paperscope_float4le_vector(vector);
DROP FUNCTION paperscope_float4le_vector(bytea);

-- The vectors generation (0010) moves once per transaction that writes vectors, not once per
-- statement: `executemany` runs one statement per row, and a few thousand updates of the same
-- store_meta row in one transaction cut vector writes 4-6x (1,200 against 6,000-8,000 rows/s,
-- bench/pgvector_knn.py's figures in docs/postgres.md). Readers only compare the counter, and
-- see a transaction's writes all at once, so nothing they can observe changes. The flag is a
-- transaction-local setting: it reverts at COMMIT or ROLLBACK (and with a rolled-back
-- savepoint, together with its update).
CREATE OR REPLACE FUNCTION paper_vectors_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('paperscope.vectors_changed', true) IS DISTINCT FROM '1' THEN
        UPDATE store_meta SET value = value + 1 WHERE key = 'vectors_generation';
        PERFORM set_config('paperscope.vectors_changed', '1', true);
    END IF;
    RETURN NULL;
END;
$$;
