-- PostgreSQL mirror of sqlite/0004_authors_2_stats.sql.
-- Author pages at scale: occurrences carry the paper's date so a profile reads its papers newest
-- first from the index alone, and each person carries precomputed stats (papers per year,
-- categories, and for prolific people the top coauthors) as JSON. Derived tables only: emptying
-- author_meta makes the next ensure() rebuild them.
ALTER TABLE author_occurrences ADD COLUMN published TEXT;
DROP INDEX author_occurrences_cluster;
CREATE INDEX author_occurrences_cluster ON author_occurrences (cluster_id, published, paper_rowid);
ALTER TABLE author_clusters ADD COLUMN stats TEXT NOT NULL DEFAULT '{}';
DELETE FROM author_meta;
