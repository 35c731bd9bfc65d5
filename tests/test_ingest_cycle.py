"""pipeline.ingest: the cycle API as the DAG calls it, one step per call (as tasks do)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
from conftest import write_config
from newssite import SiteMap

from pipeline.ingest import (
    begin_run,
    collect_feeds,
    finish_run,
    load_config,
    run_cycle,
    store_articles,
)


def count(conn: psycopg.Connection[Any], table: str) -> int:
    (n,) = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608 - test literal
    return int(n)


def test_the_steps_one_call_each_add_up_to_a_run(
    db_url: str, seed_site: SiteMap, seed_config: Path, conn: psycopg.Connection[Any]
) -> None:
    config = load_config(seed_config)
    feeds = begin_run(config, run_id="dag-1", trigger="airflow", url=db_url)
    assert [feed.name for feed in feeds] == list(seed_site.feeds)
    assert conn.execute("SELECT trigger FROM runs WHERE id = 'dag-1'").fetchone() == ("airflow",)

    first, *rest = (feed.name for feed in feeds)
    (report,) = collect_feeds(config, [first], run_id="dag-1", url=db_url)
    assert (report.feed, report.status, report.failed) == (first, "ok", 0)
    assert report.fetched == len(report.staged) > 0
    assert count(conn, "staged_articles") == report.fetched
    assert count(conn, "articles") == 0  # collecting never stores: the store step does

    reports = collect_feeds(config, rest, run_id="dag-1", url=db_url)
    assert [r.feed for r in reports] == rest
    staged = count(conn, "staged_articles")
    assert staged == len(seed_site.served)

    stored = store_articles(config, run_id="dag-1", url=db_url)
    assert sum(stored.totals().values()) == staged
    assert count(conn, "staged_articles") == 0

    run = finish_run(config, run_id="dag-1", url=db_url, seconds=1.5)
    stats = run.stats()
    assert stats["feeds"] == len(feeds)
    assert stats["articles_fetched"] == staged
    assert stats["articles_new"] + stats["articles_copies"] + stats["articles_same_story"] == staged
    (saved,) = conn.execute("SELECT stats FROM runs WHERE id = 'dag-1'").fetchone()
    assert saved == stats


def test_a_retried_step_stores_nothing_twice(
    db_url: str, seed_site: SiteMap, seed_config: Path, conn: psycopg.Connection[Any]
) -> None:
    config = load_config(seed_config)
    names = [feed.name for feed in begin_run(config, run_id="r", trigger="airflow", url=db_url)]
    begin_run(config, run_id="r", trigger="airflow", url=db_url)  # a cleared load_feeds
    collect_feeds(config, names, run_id="r", url=db_url)
    store_articles(config, run_id="r", url=db_url)
    again = collect_feeds(config, names, run_id="r", url=db_url)  # a cleared collect task
    store_articles(config, run_id="r", url=db_url)

    assert all(report.status == "not_modified" for report in again)
    assert count(conn, "articles") == len(seed_site.served)
    assert count(conn, "runs") == 1


def test_a_feed_that_crashes_is_reported_and_the_others_are_collected(
    db_url: str, seed_site: SiteMap, tmp_path: Path, conn: psycopg.Connection[Any]
) -> None:
    config = load_config(write_config(tmp_path, seed_site.feeds))
    names = [feed.name for feed in begin_run(config, run_id="c", trigger="cli", url=db_url)]
    # The source row vanishes under a running cycle (an operator's manual DELETE): the feed
    # cannot even be looked up, a bug-like failure rather than anything the web did.
    conn.execute("UPDATE sources SET name = 'renamed' WHERE name = %s", (names[0],))
    reports = collect_feeds(config, names, run_id="c", url=db_url)
    crashed, *fine = reports
    assert (crashed.status, crashed.crashed) == ("failed", True)
    assert "LookupError" in (crashed.error or "")
    assert all(report.status == "ok" and report.fetched for report in fine)


def test_run_cycle_is_the_four_steps(
    db_url: str, seed_site: SiteMap, seed_config: Path, conn: psycopg.Connection[Any]
) -> None:
    run = run_cycle(load_config(seed_config), url=db_url, run_id="cli-1")
    assert run.run_id == "cli-1"
    assert {summary.feed for summary in run.feeds} == set(seed_site.feeds)
    assert count(conn, "articles") == len(seed_site.served)
    (finished,) = conn.execute("SELECT finished_at FROM runs WHERE id = 'cli-1'").fetchone()
    assert finished is not None


def test_run_cycle_stores_earliest_published_first_while_it_collects(
    db_url: str, seed_site: SiteMap, seed_config: Path, conn: psycopg.Connection[Any]
) -> None:
    """Storing starts while feeds are still collected, yet in the order one store step after
    collection would use: article ids (insertion order) follow publication time, so an
    original opens its story and its copies join it, whichever feed delivered first."""
    run_cycle(load_config(seed_config), url=db_url, run_id="cli-order")
    times = [
        t
        for (t,) in conn.execute(
            "SELECT coalesce(published_at, fetched_at) FROM articles ORDER BY id"
        ).fetchall()
    ]
    assert len(times) == len(seed_site.served)
    assert times == sorted(times)
    assert count(conn, "staged_articles") == 0
