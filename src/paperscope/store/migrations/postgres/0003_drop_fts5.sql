-- sqlite/0003 dropped SQLite's FTS5 table; PostgreSQL never had one.
SELECT 1;
