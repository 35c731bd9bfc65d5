-- depends: 0006_bounded_inputs
-- Readers cannot stall writers (issue 12). The store step used to serialise its batches with
-- pg_advisory_xact_lock(hashtext('news-ingest:assign:<schema>')): a key any role can take,
-- so a read-only analyst holding it stopped ingestion. It now locks this table's one row
-- (SELECT ... FOR UPDATE), which needs UPDATE privilege: news_reader only has SELECT, and
-- the ACCESS SHARE table lock a reader can take does not conflict with row locks.

CREATE TABLE store_lock (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton)
);
INSERT INTO store_lock (singleton) VALUES (true);
COMMENT ON TABLE store_lock IS
    'One row, locked FOR UPDATE by each store-step batch: serialises story assignment. Readers cannot take it.';
