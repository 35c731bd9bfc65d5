"""Migrations: applied once, recorded, idempotent, safe when two processes start together."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import psycopg

from pipeline.store import db


def tables(url: str, schema: str = "news") -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        )
        return {row[0] for row in rows}


def test_migrate_twice_applies_once(empty_db_url: str) -> None:
    first = db.migrate(empty_db_url)
    assert first[0] == "0001_core"
    assert first == sorted(first)
    assert db.migrate(empty_db_url) == []
    assert db.applied_migrations(empty_db_url) == first
    assert {"sources", "fetches", "articles", "stories", "failed_items", "article_links"} <= (
        tables(empty_db_url)
    )


def test_concurrent_migrators_do_not_collide(empty_db_url: str) -> None:
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda _: db.migrate(empty_db_url), range(3)))
    applied = [r for r in results if r]
    assert len(applied) == 1, results
    assert db.applied_migrations(empty_db_url) == applied[0]


def test_scratch_schema_is_independent(empty_db_url: str) -> None:
    db.migrate(empty_db_url, schema="scratch_a")
    assert "articles" in tables(empty_db_url, "scratch_a")
    assert tables(empty_db_url, "news") == set()
    db.drop_schema(empty_db_url, "scratch_a")
    assert tables(empty_db_url, "scratch_a") == set()
