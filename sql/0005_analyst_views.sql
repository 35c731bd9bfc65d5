-- depends: 0004_reader_role
-- The analysts' layer: full-text search on articles, readable views, a daily rollup and
-- the indexes the queries of docs/QUERIES.md need.
-- Names are unqualified (the migrator sets search_path). Functions use SQL-standard
-- bodies (BEGIN ATOMIC, PostgreSQL 14+): their table references are bound when the
-- migration runs, so they work whatever search_path the analyst has, and the planner
-- inlines search_articles() (EXPLAIN shows its real plan). No contrib extensions: the
-- embedded PostgreSQL has none.

-- ---------------------------------------------------------------------------------------
-- Full-text search
-- ---------------------------------------------------------------------------------------

-- The text-search configuration for an article's language (ISO 639-1, as the extractor
-- stores it). Every configuration PostgreSQL ships (13+) is mapped; anything else, or no
-- language, gets 'simple' (lower-cased words, no stemming, no stop words), which still
-- finds names such as "Astana".
-- IMMUTABLE because the generated column below uses it. Changing the mapping later does
-- not recompute stored rows: such a migration must also rewrite articles.search.
CREATE FUNCTION ts_config_for(language text) RETURNS regconfig
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT CASE lower(split_part(language, '-', 1))
        WHEN 'de' THEN 'pg_catalog.german'::regconfig
        WHEN 'en' THEN 'pg_catalog.english'::regconfig
        WHEN 'fr' THEN 'pg_catalog.french'::regconfig
        WHEN 'es' THEN 'pg_catalog.spanish'::regconfig
        WHEN 'it' THEN 'pg_catalog.italian'::regconfig
        WHEN 'pt' THEN 'pg_catalog.portuguese'::regconfig
        WHEN 'nl' THEN 'pg_catalog.dutch'::regconfig
        WHEN 'tr' THEN 'pg_catalog.turkish'::regconfig
        WHEN 'ru' THEN 'pg_catalog.russian'::regconfig
        WHEN 'da' THEN 'pg_catalog.danish'::regconfig
        WHEN 'sv' THEN 'pg_catalog.swedish'::regconfig
        WHEN 'no' THEN 'pg_catalog.norwegian'::regconfig
        WHEN 'nb' THEN 'pg_catalog.norwegian'::regconfig
        WHEN 'nn' THEN 'pg_catalog.norwegian'::regconfig
        WHEN 'fi' THEN 'pg_catalog.finnish'::regconfig
        WHEN 'hu' THEN 'pg_catalog.hungarian'::regconfig
        WHEN 'ro' THEN 'pg_catalog.romanian'::regconfig
        WHEN 'el' THEN 'pg_catalog.greek'::regconfig
        WHEN 'lt' THEN 'pg_catalog.lithuanian'::regconfig
        WHEN 'ga' THEN 'pg_catalog.irish'::regconfig
        WHEN 'id' THEN 'pg_catalog.indonesian'::regconfig
        WHEN 'ar' THEN 'pg_catalog.arabic'::regconfig
        WHEN 'hy' THEN 'pg_catalog.armenian'::regconfig
        WHEN 'eu' THEN 'pg_catalog.basque'::regconfig
        WHEN 'ca' THEN 'pg_catalog.catalan'::regconfig
        WHEN 'hi' THEN 'pg_catalog.hindi'::regconfig
        WHEN 'ne' THEN 'pg_catalog.nepali'::regconfig
        WHEN 'sr' THEN 'pg_catalog.serbian'::regconfig
        WHEN 'ta' THEN 'pg_catalog.tamil'::regconfig
        WHEN 'yi' THEN 'pg_catalog.yiddish'::regconfig
        ELSE 'pg_catalog.simple'::regconfig
    END;
END;
COMMENT ON FUNCTION ts_config_for(text) IS
    'Text-search configuration of a language code (de → german, en → english, …; else simple).';

-- Title (weight A, ranks higher) and text (weight B), each in its article's language.
-- The text is capped so no article can exceed the tsvector size limit (1 MB) and fail its
-- insert; 200,000 characters is about 30,000 words, far beyond any news article.
ALTER TABLE articles ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector(ts_config_for(language), coalesce(title, '')), 'A')
    || setweight(to_tsvector(ts_config_for(language), left(text, 200000)), 'B')
) STORED;
COMMENT ON COLUMN articles.search IS
    'Title (A) and text (B) as a tsvector in the article''s own language (ts_config_for); GIN-indexed.';
CREATE INDEX articles_search_idx ON articles USING gin (search);

-- A tsquery that matches `query` in ANY language: the OR of websearch_to_tsquery(query)
-- under every installed configuration, duplicates removed. Each article's vector was
-- built with one of those configurations, so this is a superset of the per-language
-- matches and, being one value for all rows, it can use the GIN index. Use it on its own
-- for a quick filter; search_articles() adds the exact per-language check.
CREATE FUNCTION search_query(query text) RETURNS tsquery
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT string_agg(DISTINCT '(' || parsed.q::text || ')', ' | ')::tsquery
    FROM (SELECT websearch_to_tsquery(c.oid::regconfig, query) AS q
          FROM pg_catalog.pg_ts_config c) AS parsed
    WHERE numnode(parsed.q) > 0;
END;
COMMENT ON FUNCTION search_query(text) IS
    'websearch_to_tsquery(query) under every text-search configuration, OR-ed: matches articles.search in any language.';

-- The one-line search for analysts: SELECT * FROM news.search_articles('Gipfel Astana');
-- Web-search syntax: words are ANDed, "a phrase", or, -not. Each article is matched and
-- ranked with the query parsed in its own language (so "Gipfels" finds "Gipfel" in
-- German articles and "summits" finds "summit" in English ones).
CREATE FUNCTION search_articles(
    query text, since timestamptz DEFAULT NULL, max_results integer DEFAULT 50
) RETURNS TABLE (
    article_id bigint,
    story_id bigint,
    source text,
    title text,
    url text,
    published_at timestamptz,
    language text,
    rank real,
    snippet text
)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT a.id, a.story_id, s.name, a.title, a.url, a.published_at, a.language,
           ts_rank(a.search, websearch_to_tsquery(ts_config_for(a.language), query)),
           ts_headline(ts_config_for(a.language), a.text,
                       websearch_to_tsquery(ts_config_for(a.language), query),
                       'MaxFragments=1, MinWords=12, MaxWords=30, StartSel=«, StopSel=»')
    FROM articles a
    JOIN sources s ON s.id = a.source_id
    -- (SELECT …) makes the any-language query one value computed once (an InitPlan), for
    -- the index scan and for any recheck; the second test is the exact per-language match.
    WHERE a.search @@ (SELECT search_query(query))
      AND a.search @@ websearch_to_tsquery(ts_config_for(a.language), query)
      AND (since IS NULL OR coalesce(a.published_at, a.fetched_at) >= since)
    ORDER BY 8 DESC, a.published_at DESC NULLS LAST, a.id
    LIMIT max_results;
END;
COMMENT ON FUNCTION search_articles(text, timestamptz, integer) IS
    'Full-text search over articles in their own languages, best matches first, with a «highlighted» snippet.';

-- ---------------------------------------------------------------------------------------
-- Views
-- ---------------------------------------------------------------------------------------

-- LATERAL subqueries keep these cheap when filtered: a story (or an article) looks up
-- only its own rows through articles_story_idx / the article_links primary key.
CREATE VIEW v_stories AS
SELECT st.id AS story_id,
       st.title AS headline,
       st.first_seen,
       st.last_seen,
       st.article_count,
       coalesce(members.source_count, 0) AS source_count,
       coalesce(members.sources, '{}') AS sources,
       coalesce(members.languages, '{}') AS languages
FROM stories st
LEFT JOIN LATERAL (
    SELECT count(DISTINCT a.source_id)::integer AS source_count,
           array_agg(DISTINCT src.name ORDER BY src.name) AS sources,
           array_agg(DISTINCT a.language ORDER BY a.language)
               FILTER (WHERE a.language IS NOT NULL) AS languages
    FROM articles a
    JOIN sources src ON src.id = a.source_id
    WHERE a.story_id = st.id
) AS members ON true;
COMMENT ON VIEW v_stories IS
    'One row per story: headline, first/last article time, article count, outlets and languages.';
COMMENT ON COLUMN v_stories.headline IS 'Title of the article that opened the story.';
COMMENT ON COLUMN v_stories.first_seen IS 'Earliest article time (published, else fetched).';
COMMENT ON COLUMN v_stories.last_seen IS 'Latest article time (published, else fetched).';
COMMENT ON COLUMN v_stories.sources IS 'Names of the outlets (news.sources.name) with an article in the story.';
COMMENT ON COLUMN v_stories.languages IS 'Languages (ISO 639-1) of its articles.';

CREATE VIEW v_articles AS
SELECT a.id AS article_id,
       a.story_id,
       st.title AS story_headline,
       src.name AS source,
       a.title,
       a.url,
       a.canonical_url,
       a.author,
       a.published_at,
       a.fetched_at,
       a.language,
       a.word_count,
       link.layer AS match_layer,
       link.matched_article_id,
       link.score AS match_score
FROM articles a
JOIN sources src ON src.id = a.source_id
JOIN stories st ON st.id = a.story_id
LEFT JOIN LATERAL (
    -- the store step writes at most one link per article; take the strongest if ever more
    SELECT l.layer, l.matched_article_id, l.score
    FROM article_links l
    WHERE l.article_id = a.id
    ORDER BY l.score DESC, l.matched_article_id
    LIMIT 1
) AS link ON true;
COMMENT ON VIEW v_articles IS
    'One row per article with its outlet, its story and why it joined the story (match_*).';
COMMENT ON COLUMN v_articles.match_layer IS
    'NULL: the article opened its story; url, exact, near_copy: a copy of matched_article_id; same_story: another report of the same event.';

-- Per UTC day (of the article time) and outlet. Materialised because it aggregates every
-- article; the news_stories_rollup DAG refreshes it (CONCURRENTLY, thanks to the unique
-- index) each time news_ingest has stored articles.
CREATE MATERIALIZED VIEW v_daily_stories AS
SELECT (coalesce(a.published_at, a.fetched_at) AT TIME ZONE 'UTC')::date AS day,
       a.source_id,
       src.name AS source,
       count(*)::integer AS articles,
       count(DISTINCT a.story_id)::integer AS stories,
       (count(*) FILTER (WHERE link.layer IS NULL))::integer AS new_stories,
       (count(*) FILTER (WHERE link.layer IN ('url', 'exact', 'near_copy')))::integer AS copies,
       (count(*) FILTER (WHERE link.layer = 'same_story'))::integer AS same_story,
       sum(a.word_count)::bigint AS words
FROM articles a
JOIN sources src ON src.id = a.source_id
-- one row per article (strongest link) without a per-row lookup: this scans everything
LEFT JOIN (
    SELECT DISTINCT ON (article_id) article_id, layer
    FROM article_links
    ORDER BY article_id, score DESC, matched_article_id
) AS link ON link.article_id = a.id
GROUP BY 1, 2, 3
WITH DATA;
COMMENT ON MATERIALIZED VIEW v_daily_stories IS
    'Articles and stories per UTC day and outlet; refreshed by the news_stories_rollup DAG (pipeline/rollup.py).';
COMMENT ON COLUMN v_daily_stories.day IS 'UTC date of the article time (published, else fetched).';
COMMENT ON COLUMN v_daily_stories.stories IS 'Distinct stories the outlet had articles in that day.';
COMMENT ON COLUMN v_daily_stories.new_stories IS 'Articles that opened a story.';
COMMENT ON COLUMN v_daily_stories.copies IS 'Articles that copy another (url, exact or near_copy match).';
COMMENT ON COLUMN v_daily_stories.same_story IS 'Other reports of a story already known.';
-- REFRESH ... CONCURRENTLY needs a unique index on plain columns covering every row.
CREATE UNIQUE INDEX v_daily_stories_day_source_idx ON v_daily_stories (day, source_id);

-- ---------------------------------------------------------------------------------------
-- Indexes for docs/QUERIES.md (checked with EXPLAIN by tests/test_queries.py)
-- ---------------------------------------------------------------------------------------

-- "Feeds failing for their last 3 runs": feed fetches are one per run and source among
-- many article fetches; a partial index reads only them.
CREATE INDEX fetches_feed_source_time_idx ON fetches (source_id, fetched_at DESC)
    WHERE kind = 'feed';
-- "The last runs": newest first without sorting the whole history.
CREATE INDEX runs_started_idx ON runs (started_at DESC);
