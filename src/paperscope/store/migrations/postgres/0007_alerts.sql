-- PostgreSQL mirror of sqlite/0007_alerts.sql.
-- Digests remember the highest paper rowid of the store when they were composed: papers
-- added after it (new rows only, rowids only grow) are new to the user's next digest, exactly,
-- with no clock involved.
ALTER TABLE digests ADD COLUMN paper_mark BIGINT;
