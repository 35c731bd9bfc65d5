-- Sentence-encoder vectors of stored articles, keyed by the encoder that made them
-- (dedup.encoder: 'use', 'e5'): vectors of two spaces are never compared. An article may
-- have vectors of several encoders; the same-story layer embeds a stored article on demand
-- (from its stored text) when it needs a vector of an encoder the article lacks - the e5
-- cascade does so for the few stories it rescores, and after switching `dedup.encoder`.
-- depends: 0009_articles_fetched_index

CREATE TABLE story_vectors (
    article_id bigint NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    encoder    text NOT NULL CHECK (length(encoder) <= 16),  -- a dedup.encoder name
    vector     bytea NOT NULL,  -- float16 little-endian, L2-normalised
    PRIMARY KEY (article_id, encoder)
);
COMMENT ON TABLE story_vectors IS 'Story-engine sentence vectors per article and encoder (float16).';

INSERT INTO story_vectors (article_id, encoder, vector)
SELECT article_id, 'use', embedding FROM story_profiles WHERE embedding IS NOT NULL;
ALTER TABLE story_profiles DROP COLUMN embedding;
COMMENT ON TABLE story_profiles IS 'Story-engine profile per article: tf-idf stem vector (hashes + weights), entity candidates; vectors in story_vectors.';
