-- PostgreSQL mirror of sqlite/0006_recs.sql.
-- Recommendation models: one linear model per user and scope ('' = the whole library, else a
-- tag name), with the fingerprint of the user's rating rows it was trained on. A model whose
-- fingerprint or embedding model no longer matches is retrained on the next request, so a
-- stale row is never served and deleting rows here is always safe.
CREATE TABLE rec_models (
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scope       TEXT    NOT NULL,
    model       TEXT    NOT NULL,            -- embedding model version the weights apply to
    fingerprint TEXT    NOT NULL,            -- `Ratings.fingerprint` when trained
    weights     BYTEA    NOT NULL,            -- float32 little-endian: dim weights, then the bias
    positives   BIGINT NOT NULL,
    negatives   BIGINT NOT NULL,
    trained_at  TEXT    NOT NULL,
    PRIMARY KEY (user_id, scope)
);
