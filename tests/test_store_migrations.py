"""Migrations: applied once, recorded, idempotent, safe when two processes start together."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import psycopg

from pipeline.store import db, migrations


def tables(url: str, schema: str = "news") -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        )
        return {row[0] for row in rows}


def test_migrate_twice_applies_once(empty_db_url: str) -> None:
    first = migrations.migrate(empty_db_url)
    assert first[0] == "0001_core"
    assert first == sorted(first)
    assert migrations.migrate(empty_db_url) == []
    assert migrations.applied_migrations(empty_db_url) == first
    assert {"sources", "fetches", "articles", "stories", "failed_items", "article_links"} <= (
        tables(empty_db_url)
    )


def test_concurrent_migrators_do_not_collide(empty_db_url: str) -> None:
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda _: migrations.migrate(empty_db_url), range(3)))
    applied = [r for r in results if r]
    assert len(applied) == 1, results
    assert migrations.applied_migrations(empty_db_url) == applied[0]


def test_scratch_schema_is_independent(empty_db_url: str) -> None:
    migrations.migrate(empty_db_url, schema="scratch_a")
    assert "articles" in tables(empty_db_url, "scratch_a")
    assert tables(empty_db_url, "news") == set()
    db.drop_schema(empty_db_url, "scratch_a")
    assert tables(empty_db_url, "scratch_a") == set()


# Every btree index over a text column, with what bounds its input (sql/0006 lists them).
AUDITED_TEXT_INDEXES = {
    ("articles", "canonical_url"): "urls.MAX_URL_BYTES",
    ("staged_articles", "canonical_url"): "urls.MAX_URL_BYTES",
    ("failed_items", "canonical_url"): "textnorm.bounded_key",
    ("articles", "guid"): "feed_parser.MAX_GUID_BYTES",
    ("articles", "declared_url"): "urls.canonical_or_none",
    ("articles", "text_hash"): "sha256 hex",
    ("story_terms", "term"): "profile.STEM_CHARS",
    ("sources", "name"): "config.FEED_NAME_RE",
    ("runs", "id"): "runs.new_run_id / Airflow run id",
    ("fetches", "run_id"): "runs.id",
    ("story_vectors", "encoder"): "CHECK length <= 16 (stories.encoders tags)",
}


def test_every_text_index_is_audited(conn: psycopg.Connection) -> None:
    """A new index on a text column must say what bounds what it indexes: PostgreSQL
    refuses btree rows over 2,704 bytes, and one refused row used to stop all ingestion."""
    rows = conn.execute(
        """SELECT t.relname, a.attname
           FROM pg_index i
           JOIN pg_class t ON t.oid = i.indrelid
           JOIN pg_class ix ON ix.oid = i.indexrelid
           JOIN pg_am am ON am.oid = ix.relam
           JOIN pg_namespace n ON n.oid = t.relnamespace
           JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY(i.indkey)
           WHERE n.nspname = 'news' AND am.amname = 'btree'
             AND a.atttypid IN ('text'::regtype, 'varchar'::regtype)
             AND t.relname NOT LIKE '\\_yoyo%'"""
    ).fetchall()
    assert set(rows) == set(AUDITED_TEXT_INDEXES)
