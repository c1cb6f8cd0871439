-- PostgreSQL mirror of sqlite/0009_browse.sql.
-- Browsing by organisation (/org/{slug}): the distinct names and their papers without a scan.
CREATE INDEX IF NOT EXISTS papers_organization ON papers (organization) WHERE organization IS NOT NULL;
