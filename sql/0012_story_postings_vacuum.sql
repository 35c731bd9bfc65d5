-- depends: 0011_story_vectors
-- The same-story layer's candidate lookup reads story_postings through its index alone
-- (an index-only scan of each key's postings in the date window) only where the table's
-- visibility map is current; elsewhere it visits one heap page per posting, ~1,300 random
-- pages per article, which is what made the lookup grow with the corpus (bench/dedup_scale.py).
-- The table is insert-only, so autovacuum visits it only after inserts of 20% of its size:
-- at 1M articles that is every ~200k articles, which leaves the most recent weeks - the
-- window new articles are looked up in - unvacuumed. Vacuum it after a fixed number of
-- inserted postings instead (~4k articles at ~28 keys each); vacuuming an insert-only table
-- reads only the pages added since the last run.

ALTER TABLE story_postings SET (
    autovacuum_vacuum_insert_scale_factor = 0,
    autovacuum_vacuum_insert_threshold = 100000
);
