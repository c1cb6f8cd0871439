-- sqlite/0012 rebuilt paper_vectors for SQLite's page layout; the PostgreSQL table already has
-- the keys it ended with (0002).
SELECT 1;
