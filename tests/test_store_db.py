"""pipeline.store.db: where a URL points, sessions on the pipeline's schema with bounded lock
waits, and a failure to connect as one sentence naming the place and the fix; against a real
PostgreSQL (and a port where none listens)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from hostile_http import closed_port
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from pipeline.store import db


def with_params(url: str, **params: str) -> str:
    return make_conninfo(**{**conninfo_to_dict(url), **params})


def test_a_target_names_host_port_database_and_user_never_the_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = "postgresql://ann:s3cret@db.example:6543/news"
    monkeypatch.setenv(db.DATABASE_URL_ENV, url)
    target = db.target_of(url)
    assert (target.host, target.port, target.dbname, target.user) == (
        "db.example",
        "6543",
        "news",
        "ann",
    )
    assert str(target) == "db.example:6543, database news, user ann (from $DATABASE_URL)"
    assert "s3cret" not in str(target)


def test_libpq_defaults_fill_what_the_url_leaves_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGUSER", "bob")
    monkeypatch.setenv("PGPORT", "5499")
    target = db.target_of("postgresql:///?host=/var/run/postgresql")
    assert (target.host, target.port, target.dbname, target.user) == (
        "socket /var/run/postgresql",
        "5499",
        "bob",  # libpq's default database is the user's name
        "bob",
    )


@pytest.mark.parametrize("url", ["not a url", "host=a port", "postgresql://[::1"])
def test_a_malformed_url_is_one_sentence_with_the_expected_form(url: str) -> None:
    expected = r"is not a valid PostgreSQL URL \(.*\); expected postgresql://USER:PASSWORD@"
    with pytest.raises(db.DatabaseUrlError, match=expected):
        db.target_of(url)


def test_sessions_use_the_schema_and_bounded_lock_waits(db_url: str) -> None:
    with db.connection(db_url, schema="news") as conn:
        assert conn.execute("SHOW search_path").fetchone() == ("news",)
        assert conn.execute("SHOW lock_timeout").fetchone() == ("1min",)
        assert conn.execute("SHOW application_name").fetchone() == ("news-ingest",)
        assert not conn.autocommit
    assert db.last_target() == db.target_of(db_url)


def test_a_pool_hands_out_autocommit_sessions_on_the_schema(db_url: str) -> None:
    with db.pool(db_url, schema="news", max_size=2) as pool, pool.connection() as conn:
        assert conn.autocommit
        assert conn.execute("SHOW search_path").fetchone() == ("news",)


@pytest.mark.parametrize("schema", ["News", "1news", "news; DROP TABLE x", "n" * 64, ""])
def test_schema_names_are_plain_identifiers(schema: str) -> None:
    with pytest.raises(ValueError, match="invalid schema name"):
        db.session_options(schema)
    assert db.validate_schema_name("news_scratch_1") == "news_scratch_1"


def test_a_refused_connection_says_where_and_what_to_do() -> None:
    port = closed_port()
    with pytest.raises(db.DatabaseUnavailable) as caught:
        db.connect(f"postgresql://postgres@127.0.0.1:{port}/news")
    assert caught.value.reason == "connection refused"
    assert str(caught.value).startswith(
        f"cannot connect to PostgreSQL at 127.0.0.1:{port}, database news, user postgres"
    )
    assert str(caught.value).endswith("; is PostgreSQL running there?")
    assert isinstance(caught.value, psycopg.OperationalError)  # retried where those are


@pytest.mark.parametrize(
    ("param", "value", "reason", "hint"),
    [
        (
            "dbname",
            "news_ingest_no_such_db",
            "database 'news_ingest_no_such_db' does not exist",
            "create it with `news-ingest db create` (or createdb), or fix the URL",
        ),
        (
            "user",
            "news_ingest_no_such_role",
            "role 'news_ingest_no_such_role' does not exist",
            "check the user in the URL, or create the role "
            "(CREATE ROLE news_ingest_no_such_role LOGIN)",
        ),
    ],
)
def test_a_missing_database_or_role_is_named_with_the_fix(
    db_url: str, param: str, value: str, reason: str, hint: str
) -> None:
    with pytest.raises(db.DatabaseUnavailable) as caught:
        db.connect(with_params(db_url, **{param: value}))
    assert (caught.value.reason, caught.value.hint) == (reason, hint)


@pytest.fixture
def lock_holder(db_url: str) -> Iterator[psycopg.Connection[Any]]:
    """Another session, in a transaction holding a lock on news.sources."""
    with psycopg.connect(db_url, application_name="analyst-notebook") as other:
        other.execute("LOCK TABLE news.sources IN SHARE MODE")
        yield other
        other.rollback()


def test_a_lock_wait_error_names_the_sessions_holding_locks(
    conn: psycopg.Connection[Any], lock_holder: psycopg.Connection[Any]
) -> None:
    holders = db.lock_holders(conn, "news")
    assert len(holders) == 1
    assert holders[0].startswith(f"pid {lock_holder.info.backend_pid} (user ")
    assert "application analyst-notebook, idle in transaction since " in holders[0]
    assert holders[0].endswith("): LOCK TABLE news.sources IN SHARE MODE")
    error = db.lock_wait_error(conn, "news", "the store lock", 5)
    assert re.match(
        r"gave up after 5 s waiting for the store lock in schema news; sessions holding locks "
        rf"there: pid {lock_holder.info.backend_pid} ",
        str(error),
    )


def test_a_lock_wait_error_without_holders_says_the_lock_was_released(
    conn: psycopg.Connection[Any],
) -> None:
    error = db.lock_wait_error(conn, "news", "the store lock", 5)
    assert str(error).endswith("none any more (the lock was released meanwhile)")


def test_a_scratch_schema_is_dropped_with_everything_in_it(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    conn.execute("CREATE SCHEMA news_scratch_t")
    conn.execute("CREATE TABLE news_scratch_t.t (x int)")
    db.drop_schema(db_url, "news_scratch_t")
    db.drop_schema(db_url, "news_scratch_t")  # already gone: fine
    assert conn.execute(
        "SELECT count(*) FROM pg_namespace WHERE nspname = 'news_scratch_t'"
    ).fetchone() == (0,)


def test_database_url_prefers_the_environment(monkeypatch: pytest.MonkeyPatch, db_url: str) -> None:
    monkeypatch.setenv(db.DATABASE_URL_ENV, db_url)
    assert db.database_url() == db_url
