"""
### news_ingest

Polls every enabled feed in `config/feeds.yaml`, downloads and extracts each new
article, folds copies and same-story reports into stories, and stores everything in
the `news` schema of the `news_db` connection.

- **load_feeds** migrates the schema, syncs `news.sources` from the config and returns the
  enabled feeds.
- **collect_feed** is one mapped task per feed, named after it (pool `feed_fetch`):
  conditional GET of the feed, then fetch + extract of its new articles, staged in
  Postgres. A broken feed fails only its own task, with the feed and the reason in the
  log, and is retried with exponential backoff.
- **store_articles** runs once every feed is done, failed or not: it assigns stories and
  inserts articles in serialised batches, logs the run summary and publishes it as the
  `extra` of the `news.articles` asset event (and as its XCom).
- **check_feeds** fails the run when any feed failed, naming them, so the run's state
  says what alerting needs to know; the other feeds' articles are stored all the same.

Article bodies never travel through XCom: mapped tasks hand on counts and staging keys.
Every fetch attempt is in `news.fetches`; failed articles are in `news.failed_items`
and retried by later runs. Re-running a task or the whole run inserts nothing twice.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import TriggerRule, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException
from news_airflow import (
    ARTICLES_ASSET,
    DEFAULT_ARGS,
    FEED_POOL,
    database_url,
    load_news_config,
    log_run_summary,
    schedule_from_config,
)

log = logging.getLogger(__name__)


@dag(
    dag_id="news_ingest",
    schedule=schedule_from_config(),
    start_date=datetime(2024, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
    tags=["news", "ingest"],
)
def news_ingest() -> None:
    @task
    def load_feeds() -> list[str]:
        """Migrate, sync sources from the config, record the run; return the enabled feeds."""
        from pipeline.ingest import begin_run

        context = get_current_context()
        feeds = begin_run(
            load_news_config(), run_id=context["run_id"], trigger="airflow", url=database_url()
        )
        log.info("%d enabled feeds: %s", len(feeds), ", ".join(feed.name for feed in feeds))
        return [feed.name for feed in feeds]

    @task(
        map_index_template="{{ feed_name }}",
        pool=FEED_POOL,
        retries=3,
        execution_timeout=timedelta(minutes=20),
        multiple_outputs=False,
    )
    def collect_feed(feed: str) -> dict[str, Any]:
        """Fetch one feed and stage its new articles. A transient failure (network, 5xx,
        429) fails the task for a retry; a permanent one (404, not a feed) fails it at
        once: retrying would only hold up every other feed's store step."""
        context = get_current_context()
        context["feed_name"] = feed  # type: ignore[typeddict-unknown-key]  # names the mapped task
        from pipeline.ingest import collect_feeds

        (report,) = collect_feeds(
            load_news_config(), [feed], run_id=context["run_id"], url=database_url()
        )
        log.info(
            "feed %s: %s (HTTP %s), %d entries, %d articles staged, %d failed",
            report.feed,
            report.status,
            report.http_status,
            report.entries,
            report.fetched,
            report.failed,
        )
        if report.status == "failed":
            message = f"feed {report.feed} failed: {report.error}"
            if not report.transient:
                raise AirflowFailException(f"{message} (permanent: not retried)")
            raise RuntimeError(message)
        return {**report.as_dict(), "staged": len(report.staged)}

    @task(trigger_rule=TriggerRule.ALL_DONE, outlets=[ARTICLES_ASSET], multiple_outputs=False)
    def store_articles(*, outlet_events: Any = None) -> dict[str, Any]:
        """Assign stories and store every staged article; publish the run's counts."""
        from pipeline.ingest import finish_run, store_articles

        context = get_current_context()
        run_id, config, url = context["run_id"], load_news_config(), database_url()
        store_articles(config, run_id=run_id, url=url)
        started = context["dag_run"].start_date or datetime.now(UTC)
        run = finish_run(
            config, run_id=run_id, url=url, seconds=(datetime.now(UTC) - started).total_seconds()
        )
        log_run_summary(run)
        stats = run.stats()
        outlet_events[ARTICLES_ASSET].extra = {"run_id": run_id, **stats}
        return stats

    @task
    def check_feeds(stats: dict[str, Any]) -> None:
        """Fail the run when a feed failed: the run's state is what alerting watches, and
        store_articles (which ran regardless) cannot say it."""
        failed = stats.get("failed_feeds") or []
        if failed:
            raise AirflowFailException(
                f"{len(failed)} of {stats['feeds']} feeds failed: {', '.join(failed)} "
                "(see their collect_feed logs; articles of the other feeds are stored)"
            )
        log.info("all %d feeds ok or not modified", stats["feeds"])

    collected = collect_feed.expand(feed=load_feeds())
    stats = store_articles()
    collected >> stats
    check_feeds(stats)


news_ingest()
