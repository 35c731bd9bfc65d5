-- State of the near-copy layer (MinHash LSH), kept in PostgreSQL so every worker shares it.
-- depends: 0001_core

CREATE TABLE near_copy_signatures (
    article_id bigint PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
    minhash    bytea NOT NULL,
    shingles   integer NOT NULL
);
COMMENT ON TABLE near_copy_signatures IS 'MinHash signature (uint32 little-endian per permutation) and shingle count per article.';

-- One row per LSH band of an article; articles sharing a bucket are near-copy candidates.
CREATE TABLE near_copy_buckets (
    bucket     bigint NOT NULL,
    article_id bigint NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    PRIMARY KEY (bucket, article_id)
);
CREATE INDEX near_copy_buckets_article_idx ON near_copy_buckets (article_id);

-- Features computed where the article was extracted (see pipeline/stories/engine.py).
ALTER TABLE staged_articles ADD COLUMN features jsonb;
-- Arrival order: the store step (and `news-ingest cluster`) process staged rows in it.
ALTER TABLE staged_articles ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY;
CREATE INDEX staged_articles_seq_idx ON staged_articles (seq);
