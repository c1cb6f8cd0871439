-- A paper is also found by its Semantic Scholar, OpenAlex or DBLP id (store/rows.py
-- ID_SYSTEMS): papers stored before get those aliases here, so the next import of a record
-- with no arXiv id or DOI and a title too short to match on finds its paper instead of adding
-- a copy. The oldest paper keeps an id that several copies hold.
INSERT INTO paper_aliases (alias, paper_rowid)
SELECT 's2:' || json_extract(external_ids, '$.s2'), rowid FROM papers
WHERE deleted = 0 AND json_type(external_ids, '$.s2') IN ('text', 'integer')
ORDER BY rowid
ON CONFLICT DO NOTHING;
INSERT INTO paper_aliases (alias, paper_rowid)
SELECT 'openalex:' || json_extract(external_ids, '$.openalex'), rowid FROM papers
WHERE deleted = 0 AND json_type(external_ids, '$.openalex') IN ('text', 'integer')
ORDER BY rowid
ON CONFLICT DO NOTHING;
INSERT INTO paper_aliases (alias, paper_rowid)
SELECT 'dblp:' || json_extract(external_ids, '$.dblp'), rowid FROM papers
WHERE deleted = 0 AND json_type(external_ids, '$.dblp') IN ('text', 'integer')
ORDER BY rowid
ON CONFLICT DO NOTHING;
