-- PostgreSQL mirror of sqlite/0013_rate_buckets.sql.
-- The API rate limit's token buckets, one row per client address, shared by the worker
-- processes of `serve --workers N` so a client gets the configured limit, not N times it.
-- `at` is the machine's monotonic clock (seconds), which every process of one machine shares.
CREATE TABLE IF NOT EXISTS rate_buckets (
    client TEXT PRIMARY KEY,
    tokens DOUBLE PRECISION NOT NULL,
    at DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS rate_buckets_at ON rate_buckets (at);
