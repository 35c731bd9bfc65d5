-- depends: 0007_store_lock
-- Every script counts (issue 12): full-text search for Chinese, Japanese, Korean and Thai.
-- PostgreSQL's parser splits words at spaces and punctuation, so a Chinese sentence was one
-- "word" and no query short of the whole sentence found it. The embedded PostgreSQL has no
-- contrib extensions (no zhparser, no pg_bigm): instead both the indexed text and the query
-- are segmented here, each CJK character, Hangul syllable and Thai/Lao/Khmer/Myanmar letter
-- (with its combining marks) set between \x1f separators. In a query those characters stay
-- one websearch word, whose lexemes to_tsquery joins with <-> (followed by): 气候变化 finds
-- exactly that phrase. Hangul is included although Korean spaces its words, because it
-- attaches particles to them (정부는 = 정부 + 는): a search for 정부 finds 정부는. Text of
-- spaced scripts passes unchanged, so their vectors and queries are the same as before.
-- The character ranges are those of pipeline/textnorm.py (plus Hangul).

CREATE FUNCTION search_segmented(content text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT regexp_replace(
        content,
        '([\u2e80-\u2fdf\u3005-\u3007\u3021-\u3029\u3031-\u3035\u3038-\u303c\u3041-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003134f\uac00-\ud7a3\u1100-\u11ff\u3131-\u318e]|[\u0e01-\u0e5b\u0e81-\u0edf\u1000-\u109f\u1780-\u17ff][\u0e31\u0e34-\u0e3a\u0e47-\u0e4e\u0eb1\u0eb4-\u0ebc\u0ec8-\u0ecd\u102b-\u103e\u1056-\u1059\u105e-\u1060\u1062-\u1064\u1067-\u106d\u1071-\u1074\u1082-\u108d\u108f\u109a-\u109d\u17b4-\u17d3\u17dd]*)',
        E'\x1f\\1\x1f',
        'g'
    );
END;
COMMENT ON FUNCTION search_segmented(text) IS
    'Text with each CJK character, Hangul syllable and Thai/Lao/Khmer/Myanmar letter set apart (\x1f), for to_tsvector and websearch_to_tsquery; other text unchanged.';

-- The generated column cannot be altered in place (PostgreSQL < 17): drop the function that
-- depends on it, rebuild column and index (a table rewrite), recreate the functions.
DROP FUNCTION search_articles(text, timestamptz, integer);
ALTER TABLE articles DROP COLUMN search;
ALTER TABLE articles ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector(ts_config_for(language), search_segmented(coalesce(title, ''))), 'A')
    || setweight(to_tsvector(ts_config_for(language), search_segmented(left(text, 200000))), 'B')
) STORED;
COMMENT ON COLUMN articles.search IS
    'Title (A) and text (B) as a tsvector in the article''s own language (ts_config_for), CJK/Thai segmented (search_segmented); GIN-indexed.';
CREATE INDEX articles_search_idx ON articles USING gin (search);

CREATE OR REPLACE FUNCTION search_query(query text) RETURNS tsquery
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT string_agg(DISTINCT '(' || parsed.q::text || ')', ' | ')::tsquery
    FROM (SELECT websearch_to_tsquery(c.oid::regconfig, search_segmented(query)) AS q
          FROM pg_catalog.pg_ts_config c) AS parsed
    WHERE numnode(parsed.q) > 0;
END;
COMMENT ON FUNCTION search_query(text) IS
    'websearch_to_tsquery(query) under every text-search configuration, OR-ed: matches articles.search in any language.';

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
           ts_rank(a.search, websearch_to_tsquery(ts_config_for(a.language), search_segmented(query))),
           -- the snippet of the segmented text, separators removed again; neighbouring
           -- highlighted characters of a phrase become one «…»
           replace(replace(
               ts_headline(ts_config_for(a.language), search_segmented(a.text),
                           websearch_to_tsquery(ts_config_for(a.language), search_segmented(query)),
                           'MaxFragments=1, MinWords=12, MaxWords=30, StartSel=«, StopSel=»'),
               E'\x1f', ''), '»«', '')
    FROM articles a
    JOIN sources s ON s.id = a.source_id
    -- (SELECT …) makes the any-language query one value computed once (an InitPlan), for
    -- the index scan and for any recheck; the second test is the exact per-language match.
    WHERE a.search @@ (SELECT search_query(query))
      AND a.search @@ websearch_to_tsquery(ts_config_for(a.language), search_segmented(query))
      AND (since IS NULL OR coalesce(a.published_at, a.fetched_at) >= since)
    ORDER BY 8 DESC, a.published_at DESC NULLS LAST, a.id
    LIMIT max_results;
END;
COMMENT ON FUNCTION search_articles(text, timestamptz, integer) IS
    'Full-text search over articles in their own languages (CJK and Thai as phrases of characters), best matches first, with a «highlighted» snippet.';
