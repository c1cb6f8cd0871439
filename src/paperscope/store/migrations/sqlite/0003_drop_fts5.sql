-- The lexical index moved to tantivy beside the store (bench/lexical_engines.py: FTS5 took
-- 397 ms p50 on common words at 1M papers, tantivy 4.9 ms). Keeping FTS5 in step cost every
-- import about a third of its time, so it goes; `paperscope reindex` rebuilds the new index.
DROP TABLE papers_fts;
