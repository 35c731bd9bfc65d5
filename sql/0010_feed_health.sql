-- depends: 0009_articles_fetched_index
-- Operators at scale (issue 9): one row per feed saying how it is doing, from every feed
-- fetch in news.fetches (an Airflow retry_feed attempt is a fetch like any other) and the
-- articles it delivered. See docs/QUERIES.md (question 8) and docs/OPERATORS.md.
-- Names are unqualified (the migrator sets search_path).

-- The last error of a feed without reading its whole history: feed fetches that failed
-- are few, so this partial index is small, and a feed that never failed costs one probe.
CREATE INDEX fetches_feed_error_idx ON fetches (source_id, fetched_at DESC)
    WHERE kind = 'feed' AND outcome NOT IN ('ok', 'not_modified');

-- Each LATERAL looks up only its own feed's rows through fetches_feed_source_time_idx
-- (0005) or the index above, so the view costs a few index probes per feed, and a query
-- for one feed (WHERE source = '...') reads only that feed's rows.
CREATE VIEW feed_health AS
SELECT s.name AS source,
       s.url AS feed_url,
       s.enabled,
       last_fetch.fetched_at AS last_fetch_at,
       last_fetch.outcome AS last_outcome,
       success.at AS last_success_at,
       failure.fetched_at AS last_error_at,
       failure.http_status AS last_error_status,
       failure.outcome AS last_error_outcome,
       failure.error AS last_error,
       coalesce(streak.failures, 0) AS consecutive_failures,
       streak.since AS failing_since,
       timing.median_ms AS median_response_ms,
       coalesce(delivered.last_24h, 0) AS articles_24h,
       coalesce(delivered.last_7d, 0) AS articles_7d
FROM sources s
LEFT JOIN LATERAL (
    SELECT f.fetched_at, f.outcome
    FROM fetches f
    WHERE f.source_id = s.id AND f.kind = 'feed'
    ORDER BY f.fetched_at DESC
    LIMIT 1
) AS last_fetch ON true
LEFT JOIN LATERAL (
    SELECT max(f.fetched_at) AS at
    FROM fetches f
    WHERE f.source_id = s.id AND f.kind = 'feed' AND f.outcome IN ('ok', 'not_modified')
) AS success ON true
LEFT JOIN LATERAL (
    SELECT f.fetched_at, f.http_status, f.outcome, f.error
    FROM fetches f
    WHERE f.source_id = s.id AND f.kind = 'feed' AND f.outcome NOT IN ('ok', 'not_modified')
    ORDER BY f.fetched_at DESC
    LIMIT 1
) AS failure ON true
LEFT JOIN LATERAL (
    -- Failed runs since the last success: every fetch after it failed. A run counts once,
    -- however many attempts it made (shard, then retry_feed and its retries).
    SELECT count(DISTINCT coalesce(f.run_id, f.id::text))::integer AS failures,
           min(f.fetched_at) AS since
    FROM fetches f
    WHERE f.source_id = s.id AND f.kind = 'feed'
      AND f.fetched_at > coalesce(success.at, '-infinity'::timestamptz)
) AS streak ON true
LEFT JOIN LATERAL (
    SELECT (percentile_cont(0.5) WITHIN GROUP (ORDER BY recent.duration_ms))::integer
               AS median_ms
    FROM (
        SELECT f.duration_ms
        FROM fetches f
        WHERE f.source_id = s.id AND f.kind = 'feed' AND f.duration_ms IS NOT NULL
        ORDER BY f.fetched_at DESC
        LIMIT 20
    ) AS recent
) AS timing ON true
LEFT JOIN (
    SELECT a.source_id,
           (count(*) FILTER (WHERE a.fetched_at >= now() - interval '24 hours'))::integer
               AS last_24h,
           count(*)::integer AS last_7d
    FROM articles a
    WHERE a.fetched_at >= now() - interval '7 days'
    GROUP BY a.source_id
) AS delivered ON delivered.source_id = s.id;

COMMENT ON VIEW feed_health IS
    'One row per feed (news.sources): last success, last error, failed runs in a row, median response time, articles delivered.';
COMMENT ON COLUMN feed_health.last_outcome IS 'Outcome of the latest feed fetch: ok, not_modified or the failure class.';
COMMENT ON COLUMN feed_health.last_success_at IS 'Latest feed fetch answered with a document or 304 Not Modified.';
COMMENT ON COLUMN feed_health.last_error IS 'Why the latest failed feed fetch failed (NULL: never failed).';
COMMENT ON COLUMN feed_health.consecutive_failures IS
    'Runs since the last success whose feed fetches all failed (0: the latest fetch succeeded). A run retrying a feed counts once.';
COMMENT ON COLUMN feed_health.failing_since IS 'First failed fetch after the last success (NULL when not failing).';
COMMENT ON COLUMN feed_health.median_response_ms IS 'Median duration of the feed''s last 20 fetches, in milliseconds.';
COMMENT ON COLUMN feed_health.articles_24h IS 'Articles of this feed fetched (and stored) in the last 24 hours.';
COMMENT ON COLUMN feed_health.articles_7d IS 'Articles of this feed fetched (and stored) in the last 7 days.';

-- news_reader reads it: 0004's default privileges cover views this migrating user creates;
-- the explicit grant covers a schema whose default privileges were set by another user.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'news_reader') THEN
        EXECUTE format('GRANT SELECT ON %I.feed_health TO news_reader', current_schema());
    END IF;
END
$$;
