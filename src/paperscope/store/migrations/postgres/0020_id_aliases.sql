-- A paper is also found by its Semantic Scholar, OpenAlex or DBLP id (store/rows.py
-- ID_SYSTEMS): papers stored before get those aliases here, so the next import of a record
-- with no arXiv id or DOI and a title too short to match on finds its paper instead of adding
-- a copy. The oldest paper keeps an id that several copies hold.
INSERT INTO paper_aliases (alias, paper_rowid)
SELECT DISTINCT ON (alias) alias, rowid FROM (
    SELECT system || ':' || (external_ids::jsonb ->> system) AS alias, rowid
    FROM papers, (VALUES ('s2'), ('openalex'), ('dblp')) AS systems (system)
    WHERE deleted = 0
      AND jsonb_typeof(external_ids::jsonb -> system) IN ('string', 'number')
) AS found
ORDER BY alias, rowid
ON CONFLICT DO NOTHING;
