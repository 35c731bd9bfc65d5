"""Airflow glue shared by the news DAGs: where the database and the config are.

Kept out of `pipeline/`, which must stay importable without Airflow.
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import Asset

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pipeline.ingest import Config, FeedReport, RunReport

log = logging.getLogger(__name__)

NEWS_DB_CONN_ID = "news_db"
FEED_POOL = "feed_fetch"

# retry_feed instances per run at most: more failed feeds than this is the network or the
# database failing, not the feeds, and a task each would only queue behind one another.
MAX_FEED_RETRY_TASKS = 100

# Updated by news_ingest's finish_run task; news_stories_rollup is scheduled on it.
ARTICLES_ASSET = Asset(name="news.articles", uri="news-ingest://news/articles")

DEFAULT_ARGS: dict[str, Any] = {
    "owner": "news-ingest",
    "retries": 2,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=10),
}


def config_path() -> Path:
    """$NEWS_INGEST_CONFIG, else config/feeds.yaml of the checkout the DAGs live in."""
    from pipeline.ingest import resolve_config_path

    return resolve_config_path(project_dir=Path(__file__).resolve().parent.parent)


def load_news_config() -> Config:
    """The validated config; a broken one fails the task with every problem listed."""
    from pipeline.ingest import load_config

    return load_config(config_path())


def schedule_from_config() -> str | None:
    """The config's schedule; the default when the config cannot be read, so a broken
    config shows up as a failed load_feeds task with its errors, not as a missing DAG.
    Only the dag-processor reads it (about 0.35 s per 1,000 feeds, each time it parses)."""
    from airflow.sdk import get_parsing_context

    from pipeline.ingest import DEFAULT_SCHEDULE, ConfigError

    if get_parsing_context().dag_id is not None:
        # A worker parsing this file to run one task: the schedule plays no part there, and
        # reading and validating 10,000 feeds for it would cost every task seconds.
        return DEFAULT_SCHEDULE
    try:
        return load_news_config().schedule
    except ConfigError as exc:
        log.warning("news_ingest: config unusable at parse time, default schedule: %s", exc)
        return DEFAULT_SCHEDULE


def log_outcomes(label: str, reports: Sequence[FeedReport]) -> list[str]:
    """A collect task's per-feed table in its log; returns the names of the failed feeds."""
    from pipeline.ingest import outcome_table

    for line in outcome_table(reports):
        log.info("%s", line)
    failed = [report.feed for report in reports if report.status == "failed"]
    for report in reports:
        if report.status == "failed":
            log.warning("feed %s failed: %s", report.feed, report.error)
    log.info(
        "%s: %d feeds, %d ok, %d not modified, %d failed%s",
        label,
        len(reports),
        sum(report.status == "ok" for report in reports),
        sum(report.status == "not_modified" for report in reports),
        len(failed),
        f" ({', '.join(failed)}: retried alone by retry_feed)" if failed else "",
    )
    return failed


def feeds_to_retry(failed: dict[str, str]) -> list[str]:
    """The failed feeds retry_feed maps over, each logged with its reason; capped at
    MAX_FEED_RETRY_TASKS (the rest wait for the next run, and say so)."""
    for name, reason in sorted(failed.items()):
        log.warning("feed %s failed: %s", name, reason)
    if len(failed) > MAX_FEED_RETRY_TASKS:
        log.warning(
            "%d feeds failed: only the first %d are retried in this run (so many failures "
            "point at the network or the database, not at the feeds)",
            len(failed),
            MAX_FEED_RETRY_TASKS,
        )
    return sorted(failed)[:MAX_FEED_RETRY_TASKS]


def log_run_summary(run: RunReport) -> None:
    """The run's per-feed table in the task log: what operators read first."""
    header = ("feed", "status", "entries", "fetched", "new", "duplicate", "same story", "failed")
    log.info("%-24s %-13s %7s %7s %5s %9s %10s %6s", *header)
    for s in run.feeds:
        log.info(
            "%-24s %-13s %7d %7d %5d %9d %10d %6d",
            s.feed,
            s.status,
            s.entries,
            s.fetched,
            s.new,
            s.duplicate,
            s.same_story,
            s.failed,
        )
        if s.error:
            log.warning("feed %s: %s", s.feed, s.error)
    log.info("run %s: %s", run.run_id, run.stats())


def database_url() -> str:
    """The Airflow connection `news_db` (AIRFLOW_CONN_NEWS_DB), else $DATABASE_URL."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException
    from psycopg.conninfo import make_conninfo

    try:
        conn = Connection.get(NEWS_DB_CONN_ID)
    except AirflowNotFoundException:
        url = os.environ.get("DATABASE_URL")
        if not url:
            raise RuntimeError(
                f"no database: define the Airflow connection {NEWS_DB_CONN_ID!r} "
                "(AIRFLOW_CONN_NEWS_DB) or set DATABASE_URL"
            ) from None
        return url
    params: dict[str, Any] = {
        "host": conn.host,
        "port": conn.port,
        "user": conn.login,
        "password": conn.password,
        "dbname": conn.schema,
    }
    extra = conn.extra_dejson or {}
    for key in ("sslmode", "sslrootcert", "connect_timeout"):
        if key in extra:
            params[key] = extra[key]
    return make_conninfo(**{k: v for k, v in params.items() if v not in (None, "")})
