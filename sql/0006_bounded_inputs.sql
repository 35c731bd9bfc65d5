-- depends: 0005_analyst_views
-- Hostile input, round two (issue 12): failures of the staging and store steps are failed
-- items too, and fetches name two more outcomes.
--
-- What a feed or a page controls never reaches a btree index unbounded (PostgreSQL refuses
-- index rows over 2,704 bytes). The indexes on text columns and what bounds their input:
--   articles.canonical_url, staged_articles.canonical_url, failed_items.canonical_url:
--       links over urls.MAX_URL_BYTES (2,048 bytes, as a link and in canonical form) are
--       skipped with a reason; failed_items keys are cut with a digest (textnorm.bounded_key)
--   articles (source_id, guid): cut to feed_parser.MAX_GUID_BYTES (1,000) with a digest
--   articles.declared_url: dropped when its canonical form is over MAX_URL_BYTES
--   articles.text_hash: a sha256 hex digest
--   story_terms.term: stems of at most 6 characters (stories/profile.py)
--   sources.name: the config's feed names (64 ASCII characters at most)
--   runs.id, fetches.run_id: run ids the pipeline (or Airflow) writes
-- tests/test_store_migrations.py::test_every_text_index_is_audited fails when an index on a text
-- column is added without being listed there. What the audit misses, the store step
-- quarantines: the row goes to failed_items (stage 'store') and its batch goes on.

ALTER TABLE failed_items DROP CONSTRAINT failed_items_stage_check;
ALTER TABLE failed_items ADD CONSTRAINT failed_items_stage_check
    CHECK (stage IN ('fetch', 'extract', 'stage', 'store'));
COMMENT ON COLUMN failed_items.stage IS
    'Where it failed: fetch, extract, stage (the staged row could not be written) or store (quarantined by the store step).';

-- robots_unavailable: robots.txt unreachable, 5xx or 429 (retryable, unlike robots_disallowed);
-- stage_error: the article was fetched and extracted but its staged row could not be written.
COMMENT ON COLUMN fetches.outcome IS 'ok | not_modified | http_error | network_error | timeout | too_large | refused | robots_disallowed | robots_unavailable | redirect_error | parse_error | extract_error | stage_error';
