"""The analysts' rollup: pipeline/analytics/rollup.py on a real database, and the
news_stories_rollup DAG (imports, is scheduled on the articles asset, refreshes the view
under `dag.test()`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
from analytics_data import add_synthetic_newsroom

from pipeline.analytics.rollup import ROLLUP_VIEWS, RollupMissingError, refresh_rollups

DAGS = Path(__file__).resolve().parent.parent / "dags"

# What v_daily_stories must hold, computed independently from the tables.
EXPECTED_DAILY = """
    SELECT (coalesce(a.published_at, a.fetched_at) AT TIME ZONE 'UTC')::date AS day,
           a.source_id, count(*) AS articles, count(DISTINCT a.story_id) AS stories
    FROM articles a GROUP BY 1, 2 ORDER BY 1, 2"""
ACTUAL_DAILY = "SELECT day, source_id, articles, stories FROM v_daily_stories ORDER BY 1, 2"


def populated(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute(
        "SELECT ispopulated FROM pg_matviews WHERE matviewname = 'v_daily_stories'"
    ).fetchone()
    assert row is not None
    return bool(row[0])


def test_refresh_fills_an_unpopulated_view_then_refreshes_concurrently(
    conn: psycopg.Connection[Any],
) -> None:
    add_synthetic_newsroom(conn, stories=80)
    conn.execute("REFRESH MATERIALIZED VIEW v_daily_stories WITH NO DATA")
    assert not populated(conn)

    (first,) = refresh_rollups(conn)
    assert (first.view, first.concurrently) == ("v_daily_stories", False)
    expected = conn.execute(EXPECTED_DAILY).fetchall()
    assert conn.execute(ACTUAL_DAILY).fetchall() == expected
    assert first.rows == len(expected) > 0

    (again,) = refresh_rollups(conn)
    assert again.concurrently
    assert again.rows == first.rows
    assert conn.execute(ACTUAL_DAILY).fetchall() == expected


def test_refresh_sees_articles_stored_since(conn: psycopg.Connection[Any]) -> None:
    (empty,) = refresh_rollups(conn)
    assert empty.rows == 0
    add_synthetic_newsroom(conn, stories=30)
    (after,) = refresh_rollups(conn)
    assert after.concurrently
    assert after.rows > 0
    assert conn.execute(ACTUAL_DAILY).fetchall() == conn.execute(EXPECTED_DAILY).fetchall()


def test_a_missing_view_says_to_migrate(conn: psycopg.Connection[Any]) -> None:
    with pytest.raises(RollupMissingError, match="news-ingest migrate"):
        refresh_rollups(conn, ("v_not_there",))


@pytest.fixture(scope="module")
def dagbag() -> Any:
    """Both DAG files, loaded as Airflow 3's dag-processor loads a bundle."""
    from airflow.dag_processing.dagbag import BundleDagBag

    return BundleDagBag(dag_folder=str(DAGS), bundle_path=DAGS)


def test_rollup_dag_imports_and_is_scheduled_on_the_articles_asset(dagbag: Any) -> None:
    assert dagbag.import_errors == {}
    dag = dagbag.dags["news_stories_rollup"]
    ingest = dagbag.dags["news_ingest"]
    (produced,) = ingest.get_task("store_articles").outlets
    # Data-aware: the schedule is exactly the asset news_ingest's store step updates.
    assert dag.timetable.asset_condition.objects == (produced,)
    assert produced.name == "news.articles"
    assert dag.max_active_runs == 1
    assert dag.catchup is False
    assert {"news", "analytics"} <= set(dag.tags)
    assert "v_daily_stories" in (dag.doc_md or "")
    (refresh,) = dag.tasks
    assert refresh.task_id == "refresh_rollups"
    assert refresh.retries >= 2


def test_dag_run_refreshes_the_view(
    airflow_db: None,
    dagbag: Any,
    news_db_connection: str,
    conn: psycopg.Connection[Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    add_synthetic_newsroom(conn, stories=60)
    assert conn.execute("SELECT count(*) FROM v_daily_stories").fetchone() == (0,)

    dag_run = dagbag.dags["news_stories_rollup"].test()

    assert dag_run.state == "success"
    expected = conn.execute(EXPECTED_DAILY).fetchall()
    assert expected
    assert conn.execute(ACTUAL_DAILY).fetchall() == expected
    assert ROLLUP_VIEWS == ("v_daily_stories",)
    # operators read in the task log what was refreshed and how big it is
    assert f"refreshed news.v_daily_stories (concurrently): {len(expected)} rows" in caplog.text
