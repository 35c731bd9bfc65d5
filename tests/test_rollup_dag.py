"""The news_stories_rollup DAG: imports, is scheduled on the articles asset, refreshes the
view under `dag.test()`. The refresh itself is tested in test_analytics_rollup.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
from analytics_data import ACTUAL_DAILY, EXPECTED_DAILY, add_synthetic_newsroom

from pipeline.analytics.rollup import ROLLUP_VIEWS

DAGS = Path(__file__).resolve().parent.parent / "dags"


@pytest.fixture(scope="module")
def dagbag() -> Any:
    """Both DAG files, loaded as Airflow 3's dag-processor loads a bundle."""
    from airflow.dag_processing.dagbag import BundleDagBag

    return BundleDagBag(dag_folder=str(DAGS), bundle_path=DAGS)


def test_rollup_dag_imports_and_is_scheduled_on_the_articles_asset(dagbag: Any) -> None:
    assert dagbag.import_errors == {}
    dag = dagbag.dags["news_stories_rollup"]
    ingest = dagbag.dags["news_ingest"]
    (produced,) = ingest.get_task("finish_run").outlets
    # Data-aware: the schedule is exactly the asset news_ingest's finish_run task updates.
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
