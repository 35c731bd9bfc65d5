-- State of the same-story layer (see pipeline/stories/): per-article profiles, an inverted
-- index of candidate keys, and incremental term document frequencies. All of it lives
-- here so any number of workers share it and a restart loses nothing.
-- depends: 0002_near_copy_index

-- What a later article is compared with. story_id never changes once assigned.
CREATE TABLE story_profiles (
    article_id bigint PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
    story_id   bigint NOT NULL REFERENCES stories(id),
    language   text,
    published  date,
    -- tf-idf vector of the article's stems: sorted 64-bit stem hashes (int64 little-endian)
    -- and their weights (float32), so a candidate's term cosine is one vectorised merge
    term_hashes  bytea NOT NULL,
    term_weights bytea NOT NULL,
    entities   text[] NOT NULL DEFAULT '{}',
    embedding  bytea
);
COMMENT ON TABLE story_profiles IS 'Story-engine profile per article: tf-idf stem vector (hashes + weights), entity candidates, USE embedding (float16).';
-- A story's most recent members, for scoring an article against the story.
CREATE INDEX story_profiles_story_idx ON story_profiles (story_id, article_id DESC);

-- Inverted index: an article is posted under its candidate keys (top stems, rare entities,
-- embedding LSH bands, each hashed to 64 bits); a new article's candidates are the articles
-- sharing a key within the time window. No foreign key: this is an index, rows of deleted
-- articles simply find no profile.
CREATE TABLE story_postings (
    key        bigint NOT NULL,
    published  date,
    article_id bigint NOT NULL
);
CREATE INDEX story_postings_key_idx ON story_postings (key, published) INCLUDE (article_id);

-- Document frequency of each stored stem, and the number of documents counted.
CREATE TABLE story_terms (
    term text PRIMARY KEY,
    df   integer NOT NULL CHECK (df > 0)
);
CREATE TABLE story_corpus (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    doc_count bigint NOT NULL DEFAULT 0
);
INSERT INTO story_corpus (singleton, doc_count) VALUES (true, 0);
