-- PostgreSQL mirror of sqlite/0019_job_leases.sql.
-- Who holds each background job's lease (store/jobs.py): the embedding worker, the digest
-- scheduler. The lease itself is a session-level advisory lock on a connection the holder
-- keeps open; this row only records the node that took it last, for `paperscope jobs`.
-- A holder that ends cleanly deletes its row; a killed one leaves it until the next holder
-- overwrites it.
CREATE TABLE IF NOT EXISTS job_leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    since TEXT NOT NULL
);
