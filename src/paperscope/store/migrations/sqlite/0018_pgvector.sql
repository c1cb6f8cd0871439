-- Mirror of postgres/0018_pgvector.sql, which moves PostgreSQL's vector columns to pgvector's
-- `vector` type. Nothing to do on SQLite: its vectors stay float32 little-endian BLOBs, the
-- bytes the store's PostgreSQL connection reads and writes a `vector` as (store/pg.py), so
-- the layers above see one format.
SELECT 1;
