-- depends: 0011_story_vectors
-- Storage settings of the story engine's tables for a large corpus (bench/dedup_scale.py).

-- The same-story layer's candidate lookup reads story_postings through its index alone
-- (an index-only scan of each key's postings in the date window) only where the table's
-- visibility map is current; elsewhere it visits one heap page per posting, ~1,300 random
-- pages per article, which is what made the lookup grow with the corpus. The table is
-- insert-only, so autovacuum visits it only after inserts of 20% of its size: at 1M
-- articles that is every ~200k articles, which leaves the most recent weeks - the window
-- new articles are looked up in - unvacuumed. Vacuum it after a fixed number of inserted
-- postings instead (~4k articles at ~28 keys each); vacuuming an insert-only table reads
-- only the pages added since the last run.
ALTER TABLE story_postings SET (
    autovacuum_vacuum_insert_scale_factor = 0,
    autovacuum_vacuum_insert_threshold = 100000
);

-- Every stored article updates the document frequency of its ~64 terms. With full pages
-- each update writes the new row version to another page and a new entry into the primary
-- key (measured: 1% of updates were HOT), which also bloats the index load_term_stats
-- reads. Space kept free on each page lets the new version stay on its page (a HOT update:
-- no index entry, the old version pruned in place). Applies to pages written from now on
-- and to the space vacuum frees; the table is bounded by the vocabulary, not the corpus.
ALTER TABLE story_terms SET (fillfactor = 60);
