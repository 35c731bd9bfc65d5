-- Core tables of news-ingest.
-- Names are unqualified on purpose: the migrator sets search_path to the target schema
-- ("news" in production, a scratch schema for `news-ingest cluster`).

-- One row per configured feed; synced from config/feeds.yaml at the start of every run.
CREATE TABLE sources (
    id              integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name            text NOT NULL UNIQUE,
    url             text NOT NULL,
    language        text,
    enabled         boolean NOT NULL DEFAULT true,
    -- conditional GET state: sent back as If-None-Match / If-Modified-Since
    etag            text,
    last_modified   text,
    last_fetched_at timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE sources IS 'One row per configured feed (config/feeds.yaml), with its conditional-GET state.';

-- One row per ingest cycle (a CLI `run` or an Airflow DAG run).
CREATE TABLE runs (
    id          text PRIMARY KEY,
    trigger     text NOT NULL CHECK (trigger IN ('cli', 'airflow', 'cluster')),
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    stats       jsonb NOT NULL DEFAULT '{}'::jsonb
);
COMMENT ON TABLE runs IS 'Ingest cycles; stats holds the counts shown in the run summary.';

-- Every HTTP fetch attempt, successful or not: feeds, articles and robots.txt.
CREATE TABLE fetches (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id        text REFERENCES runs(id) ON DELETE SET NULL,
    source_id     integer REFERENCES sources(id) ON DELETE SET NULL,
    kind          text NOT NULL CHECK (kind IN ('feed', 'article')),
    url           text NOT NULL,
    final_url     text,
    fetched_at    timestamptz NOT NULL DEFAULT now(),
    duration_ms   integer,
    http_status   integer,
    bytes         bigint,
    etag          text,
    last_modified text,
    outcome       text NOT NULL,
    error         text,
    warnings      text,
    entries       integer
);
COMMENT ON TABLE fetches IS 'Every fetch attempt: outcome is ok, not_modified, or the failure class; error says why.';
COMMENT ON COLUMN fetches.outcome IS 'ok | not_modified | http_error | network_error | timeout | too_large | refused | robots_disallowed | redirect_error | parse_error | extract_error';
COMMENT ON COLUMN fetches.warnings IS 'Problems that did not stop the fetch: malformed XML whose entries were kept, skipped entries.';
COMMENT ON COLUMN fetches.entries IS 'Feed fetches: entries parsed from the document.';
CREATE INDEX fetches_source_time_idx ON fetches (source_id, fetched_at DESC);
CREATE INDEX fetches_run_idx ON fetches (run_id);

CREATE TABLE stories (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title         text,
    first_seen    timestamptz NOT NULL,
    last_seen     timestamptz NOT NULL,
    article_count integer NOT NULL DEFAULT 0 CHECK (article_count >= 0),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE stories IS 'A story: every copy and every report of one event. Times are article times (published, else fetched).';
CREATE INDEX stories_last_seen_idx ON stories (last_seen DESC);

CREATE TABLE articles (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_id     integer NOT NULL REFERENCES sources(id),
    url           text NOT NULL,
    canonical_url text NOT NULL UNIQUE,
    declared_url  text,
    guid          text,
    title         text,
    author        text,
    sitename      text,
    description   text,
    published_at  timestamptz,
    fetched_at    timestamptz NOT NULL,
    language      text,
    text          text NOT NULL,
    text_hash     text NOT NULL,
    word_count    integer NOT NULL,
    story_id      bigint NOT NULL REFERENCES stories(id),
    run_id        text,
    inserted_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE articles IS 'One row per article URL (canonical_url: normalised, tracking parameters stripped).';
COMMENT ON COLUMN articles.declared_url IS 'The page''s own rel=canonical / og:url, when it names one.';
COMMENT ON COLUMN articles.text_hash IS 'sha256 of the normalised text: equal hashes are exact copies.';
CREATE INDEX articles_story_idx ON articles (story_id);
CREATE INDEX articles_text_hash_idx ON articles (text_hash);
CREATE INDEX articles_source_published_idx ON articles (source_id, published_at DESC);
CREATE INDEX articles_source_guid_idx ON articles (source_id, guid);
CREATE INDEX articles_declared_url_idx ON articles (declared_url) WHERE declared_url IS NOT NULL;

-- Why two articles share a story.
CREATE TABLE article_links (
    article_id         bigint NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    matched_article_id bigint NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    layer              text NOT NULL CHECK (layer IN ('url', 'exact', 'near_copy', 'same_story')),
    score              real NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (article_id, matched_article_id)
);
COMMENT ON TABLE article_links IS 'Evidence: article joined its story because it matched matched_article_id on this layer.';
CREATE INDEX article_links_matched_idx ON article_links (matched_article_id);

-- Extracted articles waiting for the store step (dedup + insert). A crash between
-- extract and store loses nothing: the next store step picks these up.
CREATE TABLE staged_articles (
    canonical_url text PRIMARY KEY,
    source_id     integer NOT NULL REFERENCES sources(id),
    url           text NOT NULL,
    declared_url  text,
    guid          text,
    title         text,
    author        text,
    sitename      text,
    description   text,
    published_at  timestamptz,
    fetched_at    timestamptz NOT NULL,
    language      text,
    text          text NOT NULL,
    run_id        text,
    staged_at     timestamptz NOT NULL DEFAULT now()
);

-- Articles that could not be fetched or extracted; later runs retry the retryable ones.
CREATE TABLE failed_items (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_id       integer REFERENCES sources(id) ON DELETE SET NULL,
    url             text NOT NULL,
    canonical_url   text NOT NULL UNIQUE,
    stage           text NOT NULL CHECK (stage IN ('fetch', 'extract')),
    error           text NOT NULL,
    attempts        integer NOT NULL DEFAULT 1,
    retryable       boolean NOT NULL DEFAULT true,
    entry           jsonb NOT NULL DEFAULT '{}'::jsonb,
    first_failed_at timestamptz NOT NULL DEFAULT now(),
    last_failed_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE failed_items IS 'Articles that failed; retried by later runs while retryable and attempts are below fetch.max_article_attempts.';
COMMENT ON COLUMN failed_items.entry IS 'The feed entry (guid, title, published, summary) so a retry does not need the feed.';
CREATE INDEX failed_items_source_idx ON failed_items (source_id) WHERE retryable;
