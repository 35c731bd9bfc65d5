-- depends: 0008_unspaced_search
-- `news-ingest stories --since 1h` lists what was just ingested: stories with an article
-- fetched in the window, not only published in it (a feed often carries yesterday's
-- articles). This index finds those articles without reading the whole table.

CREATE INDEX articles_fetched_idx ON articles (fetched_at DESC);
