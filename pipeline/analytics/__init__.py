"""Analysis over stored data: rollups, story listings, offline clustering and its scoring.

Owns the materialised-view refresh (`rollup`), the `stories` command's query and rendering
(`listings`), `news-ingest cluster` (`cluster`: JSON-lines articles through the real store
step in a scratch schema) and pairwise scoring for `eval-dedup` (`evaluation`). Reads what
the pipeline stored; writes only to scratch schemas and materialised views.
"""
