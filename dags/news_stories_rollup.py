"""
### news_stories_rollup

Refreshes the analysts' materialised rollups in the `news` schema of the `news_db`
connection (today `news.v_daily_stories`: articles and stories per UTC day and outlet).

- **Scheduled on data**, not on time: it runs each time `news_ingest`'s `finish_run`
  task updates the `news.articles` asset, so the rollup is at most one ingest run behind.
  Several asset events arriving while a refresh runs are handled by one next run.
- **refresh_rollups** runs `REFRESH MATERIALIZED VIEW CONCURRENTLY` (analysts keep reading
  the previous rows meanwhile) and logs each view with its row count and duration. A
  refresh recomputes the view from the tables: re-running it is always safe.

The live views (`news.v_stories`, `news.v_articles`) need no refresh. See docs/QUERIES.md.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import dag, task
from news_airflow import ARTICLES_ASSET, DEFAULT_ARGS, database_url

log = logging.getLogger(__name__)


@dag(
    dag_id="news_stories_rollup",
    schedule=[ARTICLES_ASSET],
    start_date=datetime(2024, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
    tags=["news", "analytics"],
)
def news_stories_rollup() -> None:
    @task(execution_timeout=timedelta(minutes=30))
    def refresh_rollups() -> dict[str, Any]:
        """Refresh every rollup view; return view → row count."""
        from pipeline.ingest import refresh_rollups as refresh

        refreshed = refresh(url=database_url())
        for view in refreshed:
            log.info(
                "refreshed news.%s (%s): %d rows in %.2f s",
                view.view,
                "concurrently" if view.concurrently else "first fill",
                view.rows,
                view.seconds,
            )
        return {view.view: view.rows for view in refreshed}

    refresh_rollups()


news_stories_rollup()
