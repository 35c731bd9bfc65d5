"""Shared fixtures: a real PostgreSQL database per test, Airflow isolated in a temp home.

PostgreSQL: $TEST_DATABASE_URL (an admin URL), else the local server on 127.0.0.1:5432,
else an embedded server (pgserver) so the suite runs on a machine without PostgreSQL.
A migrated template database is built once per session; each test that asks for `db_url`
gets a fresh copy of it and loses it afterwards.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest
from psycopg import sql
from pytest_httpserver import HTTPServer

if TYPE_CHECKING:
    from newssite import NewsSite

    from pipeline.http import Fetcher

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

# Airflow reads its configuration when first imported: set it before any test module can.
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="news-ingest-airflow-"))
os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_AIRFLOW_HOME}/airflow.db"
os.environ.setdefault("NO_COLOR", "1")
# Tests choose their database explicitly; never the developer's.
os.environ.pop("DATABASE_URL", None)
os.environ.pop("AIRFLOW_CONN_NEWS_DB", None)

LOCAL_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def _reachable(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


@pytest.fixture(scope="session")
def pg_admin_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A superuser URL to create and drop test databases."""
    explicit = os.environ.get("TEST_DATABASE_URL")
    if explicit:
        return explicit
    if _reachable(LOCAL_SERVER):
        return LOCAL_SERVER
    from pipeline.store.db import embedded_database_url

    return embedded_database_url(tmp_path_factory.mktemp("pgserver"))


def _with_dbname(admin_url: str, dbname: str) -> str:
    params = psycopg.conninfo.conninfo_to_dict(admin_url)
    params["dbname"] = dbname
    return psycopg.conninfo.make_conninfo(**{k: v for k, v in params.items() if v is not None})


def _create_database(admin_url: str, name: str, template: str | None = None) -> str:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        conn.execute(statement)
    return _with_dbname(admin_url, name)


def _drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture(scope="session")
def template_db(pg_admin_url: str) -> Iterator[str]:
    """Name of a database with every migration applied, cloned by `db_url`."""
    from pipeline.store import migrations

    name = f"news_ingest_tpl_{secrets.token_hex(4)}"
    url = _create_database(pg_admin_url, name)
    migrations.migrate(url)
    yield name
    _drop_database(pg_admin_url, name)


@pytest.fixture
def db_url(pg_admin_url: str, template_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh, migrated database of this test's own; also exported as DATABASE_URL."""
    name = f"news_ingest_test_{secrets.token_hex(4)}"
    url = _create_database(pg_admin_url, name, template=template_db)
    monkeypatch.setenv("DATABASE_URL", url)
    yield url
    _drop_database(pg_admin_url, name)


@pytest.fixture
def empty_db_url(pg_admin_url: str) -> Iterator[str]:
    """A fresh database with no schema at all, for migration tests."""
    name = f"news_ingest_empty_{secrets.token_hex(4)}"
    url = _create_database(pg_admin_url, name)
    yield url
    _drop_database(pg_admin_url, name)


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection]:
    """An autocommit connection on schema news of this test's database."""
    from pipeline.store import db

    with db.connection(db_url, autocommit=True) as connection:
        yield connection


TEST_FETCH_SETTINGS = {
    "connect_timeout": 2,
    "read_timeout": 2,
    "total_timeout": 5,
    "max_retries": 1,
    "backoff_seconds": 0.01,
    "max_retry_after": 1,
    "concurrency": 4,
}


def write_config(
    directory: Path, feeds: dict[str, str], *, fetch: dict[str, object] | None = None, **top: object
) -> Path:
    """A feeds.yaml for the given name → URL feeds, allowed to fetch from 127.0.0.1, with
    small timeouts so hostile servers cost seconds, not minutes."""
    import yaml

    config = {
        "allow_private_networks": True,
        "fetch": {**TEST_FETCH_SETTINGS, **(fetch or {})},
        "feeds": [{"name": name, "url": url} for name, url in feeds.items()],
        **top,
    }
    path = directory / "feeds.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def threaded_server() -> Iterator[HTTPServer]:
    """A threaded local HTTP server, so slow handlers and concurrent requests do not queue.

    Shared by a test module because stopping one takes half a second (werkzeug's poll
    interval).
    """
    httpserver = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    httpserver.start()
    yield httpserver
    httpserver.stop()


@pytest.fixture
def server(threaded_server: HTTPServer) -> Iterator[HTTPServer]:
    """The module's threaded server with no handlers and an empty log."""
    threaded_server.clear()
    yield threaded_server
    threaded_server.clear()


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    """A fetcher with the strict settings of tests/fetching.py, allowed to reach 127.0.0.1."""
    from fetching import local_fetcher

    with local_fetcher() as instance:
        yield instance


@pytest.fixture
def site(httpserver_ipv4: HTTPServer) -> NewsSite:
    """An empty site (tests/newssite.py) on the IPv4 test server: add pages and feeds."""
    from newssite import NewsSite

    return NewsSite(httpserver_ipv4)


@pytest.fixture
def seed_site(httpserver_ipv4: object) -> object:
    """The scenario of tests/newssite.py: two outlets with the seeds, a syndicated copy."""
    from newssite import build_seed_site

    return build_seed_site(httpserver_ipv4)  # type: ignore[arg-type]


@pytest.fixture
def seed_config(tmp_path: Path, seed_site: object) -> Path:
    return write_config(tmp_path, seed_site.feeds)  # type: ignore[attr-defined]


def airflow_connection(url: str) -> str:
    """A libpq URL as an Airflow connection in JSON form (for AIRFLOW_CONN_NEWS_DB)."""
    import json

    params = psycopg.conninfo.conninfo_to_dict(url)
    return json.dumps(
        {
            "conn_type": "postgres",
            "host": params.get("host"),
            "port": int(params.get("port") or 5432),
            "login": params.get("user"),
            "password": params.get("password"),
            "schema": params.get("dbname"),
        }
    )


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """Airflow's metadata database (SQLite in the temporary AIRFLOW_HOME set above)."""
    from airflow.utils.db import resetdb

    resetdb()


@pytest.fixture
def news_db_connection(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The Airflow connection news_db pointing at this test's database; DATABASE_URL is
    unset, so a DAG that works proves it read the connection."""
    monkeypatch.setenv("AIRFLOW_CONN_NEWS_DB", airflow_connection(db_url))
    monkeypatch.delenv("DATABASE_URL")
    return db_url


def cli_command(*args: str) -> list[str]:
    """`news-ingest ARGS` as a command line (the console script's code, this interpreter)."""
    return [sys.executable, "-m", "pipeline", *args]


def run_cli(
    *args: str,
    env: dict[str, str | None] | None = None,
    stdin: str | None = None,
    check: bool = True,
    timeout: float = 300,
    cwd: Path = REPO,
) -> subprocess.CompletedProcess[str]:
    """Run `news-ingest ARGS` in a separate process, as users run it (from `cwd`, the
    repository by default). `env` adds to (or, with None values, removes from) this
    process's environment."""
    environment = {**os.environ, "COLUMNS": "200"}
    for key, value in (env or {}).items():
        if value is None:
            environment.pop(key, None)
        else:
            environment[key] = value
    result = subprocess.run(
        cli_command(*args),
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environment,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"news-ingest {' '.join(args)} exited {result.returncode}:\n"
            f"{result.stdout}\n{result.stderr[-5000:]}"
        )
    return result
