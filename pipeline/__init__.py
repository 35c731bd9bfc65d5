"""news-ingest: news feeds → articles → stories in PostgreSQL.

The flow, one package per stage:

    config ─► http ─► feeds ─► extract ─► ingest (stage) ─► store (+ stories) ─► PostgreSQL

- `config`    the editors' feeds.yaml, validated (imports no other package)
- `http`      guarded, polite, bounded GETs (no database, no feed format)
- `feeds`     feed documents to entries; discovery (no database)
- `extract`   pages to clean text and metadata (no network, no database)
- `stories`   the story engine: which story an article belongs to
- `store`     database connection, migrations, the serialised store step
- `ingest`    the cycle that CLI and Airflow both run, and its bookkeeping
- `analytics` rollups, listings, offline clustering and its evaluation
- `cli`       the `news-ingest` command

Shared leaf modules: `textnorm` (text hygiene, word units), `urls` (canonical URLs).
The package never imports Airflow; `dags/` imports the ingest cycle API only.
See docs/ARCHITECTURE.md.
"""
