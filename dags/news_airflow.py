"""Airflow glue shared by the news DAGs: where the database and the config are.

Kept out of `pipeline/`, which must stay importable without Airflow.
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import Asset

log = logging.getLogger(__name__)

NEWS_DB_CONN_ID = "news_db"
FEED_POOL = "feed_fetch"
DEFAULT_SCHEDULE = "*/15 * * * *"

# Updated by news_ingest's store step; news_stories_rollup is scheduled on it.
ARTICLES_ASSET = Asset(name="news.articles", uri="news-ingest://news/articles")

DEFAULT_ARGS: dict[str, Any] = {
    "owner": "news-ingest",
    "retries": 2,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=10),
}


def config_path() -> Path:
    """$NEWS_INGEST_CONFIG, else config/feeds.yaml of the repository the DAGs live in."""
    explicit = os.environ.get("NEWS_INGEST_CONFIG")
    if explicit:
        return Path(explicit)
    return Path(__file__).resolve().parent.parent / "config" / "feeds.yaml"


def schedule_from_config() -> str | None:
    """The config's schedule; the default when the config cannot be read, so a broken
    config shows up as a failed load_feeds task with its errors, not as a missing DAG."""
    from pipeline.config import ConfigError, load_config

    try:
        return load_config(config_path()).schedule
    except ConfigError as exc:
        log.warning("news_ingest: config unusable at parse time, default schedule: %s", exc)
        return DEFAULT_SCHEDULE


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
