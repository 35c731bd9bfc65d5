"""Fixtures of the reliability suite: a database per module, the real CLI as a subprocess,
configs with the SSRF guard on."""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from conftest import run_cli
from psycopg import sql
from pytest_httpserver import HTTPServer

REPO = Path(__file__).resolve().parents[2]


def with_dbname(admin_url: str, dbname: str) -> str:
    params = psycopg.conninfo.conninfo_to_dict(admin_url)
    params["dbname"] = dbname
    return psycopg.conninfo.make_conninfo(**{k: v for k, v in params.items() if v is not None})


@pytest.fixture(scope="module")
def module_db(pg_admin_url: str, template_db: str) -> Iterator[str]:
    """A migrated database shared by one module's tests (the hostile run is module-wide)."""
    name = f"news_ingest_rel_{secrets.token_hex(4)}"
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template_db)
            )
        )
    yield with_dbname(pg_admin_url, name)
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def news_ingest(
    *args: str, db_url: str, check: bool = True, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """`news-ingest ARGS` as users run it, against `db_url`."""
    return run_cli(
        *args, env={"DATABASE_URL": db_url, "NO_COLOR": "1"}, check=check, timeout=timeout
    )


def cli_env(db_url: str) -> dict[str, str]:
    """The whole environment of a CLI process started with Popen (see test_faults)."""
    return {**os.environ, "DATABASE_URL": db_url, "COLUMNS": "200", "NO_COLOR": "1"}


# The copy layers only: what this suite checks. (Without an encoder the same-story layer
# is a learned tf-idf model, which rightly joins this suite's pages: they are written from
# one small template vocabulary, each naming the same place in every sentence.)
NO_ENCODER = {"embeddings": False, "layers": ["url", "exact", "near_copy"]}


def write_guarded_config(
    path: Path,
    feeds: dict[str, str],
    *,
    allowed_hosts: list[str],
    fetch: dict[str, Any],
    feed_options: dict[str, dict[str, Any]] | None = None,
) -> Path:
    """A config with the SSRF guard ON: only `allowed_hosts` (the test servers) are exempt.

    The sentence encoder and the same-story layer are off (`dedup.embeddings: false`,
    `dedup.layers` without same_story): the encoder costs ~0.4 s of CPU per article here,
    and nothing this suite checks (isolation, exactly-once, retries, copies folding by the
    url/exact/near-copy layers) depends on them.
    """
    config = {
        "allow_private_networks": False,
        "allow_private_hosts": allowed_hosts,
        "fetch": fetch,
        "dedup": NO_ENCODER,
        "feeds": [
            {"name": name, "url": url, **(feed_options or {}).get(name, {})}
            for name, url in feeds.items()
        ],
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def rows(conn: psycopg.Connection[Any], query: str, *params: Any) -> list[tuple[Any, ...]]:
    return conn.execute(query, params).fetchall()


def story_inconsistencies(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    """Stories whose article_count differs from their members (or that have none)."""
    return rows(
        conn,
        """SELECT s.id, s.article_count, count(a.id) FROM stories s
           LEFT JOIN articles a ON a.story_id = s.id
           GROUP BY s.id HAVING s.article_count <> count(a.id) OR count(a.id) = 0""",
    )


@pytest.fixture
def server() -> Iterator[HTTPServer]:
    """A threaded local HTTP server of the test's own (slow pages must not block others)."""
    httpserver = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    httpserver.start()
    try:
        yield httpserver
    finally:
        httpserver.clear()
        httpserver.stop()
