"""
### news_ingest

Polls every enabled feed in `config/feeds.yaml`, downloads and extracts each new
article, folds copies and same-story reports into stories, and stores everything in
the `news` schema of the `news_db` connection.

- **load_feeds** migrates the schema, syncs `news.sources` from the config and splits the
  enabled feeds into shards of `airflow.feeds_per_task` (default 200; feeds of one host in
  one shard, so per-host politeness holds).
- **collect_shard** is one mapped task per shard, named `shard N: first … last` (pool
  `feed_fetch`): conditional GETs of its feeds, concurrently, then fetch + extract of their
  new articles, staged in Postgres. A broken feed does not fail the shard: the shard's log
  has a table with one line per feed (status, HTTP status, counts, reason).
- **store_articles** runs as soon as every shard is done: assigns stories and stores
  every staged article, and returns the feeds that failed, by name.
- **retry_feed** is one mapped task per failed feed, **named after the feed**: it fetches
  that feed again (retried with exponential backoff when the failure is transient), stores
  its articles, and fails with the feed's name and reason when it cannot. Healthy feeds'
  articles are stored before any retry starts.
- **finish_run** logs the run summary (one line per feed) and publishes it, with every
  failed feed's name and reason, as the `extra` of the `news.articles` asset event.
- **check_feeds** fails the run when a feed is still failing, naming them.

Article bodies never travel through XCom: tasks hand on feed names and counts. Every
fetch attempt is in `news.fetches` (`news.feed_health` sums them up per feed); failed
articles are in `news.failed_items` and retried by later runs. Re-running a task or the
whole run inserts nothing twice.
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
    feeds_to_retry,
    load_news_config,
    log_outcomes,
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
    def load_feeds() -> list[dict[str, Any]]:
        """Migrate, sync sources, record the run; return the enabled feeds in shards."""
        from pipeline.ingest import begin_run, plan_shards

        config = load_news_config()
        feeds = begin_run(
            config, run_id=get_current_context()["run_id"], trigger="airflow", url=database_url()
        )
        shards = plan_shards(feeds, config.airflow.feeds_per_task)
        log.info("%d enabled feeds in %d shards", len(feeds), len(shards))
        for shard in shards:
            log.info("%s: %s", shard.label, ", ".join(shard.feeds))
        return [shard.as_dict(config) for shard in shards]

    # No task retries: a failed feed is retried alone by retry_feed, and a shard retry
    # would refetch its healthy feeds and hold up store_articles meanwhile.
    @task(
        map_index_template="{{ task.op_kwargs['shard']['label'] }}",
        pool=FEED_POOL,
        retries=0,
        execution_timeout=timedelta(minutes=20),
    )
    def collect_shard(shard: dict[str, Any]) -> list[str]:
        """Collect the shard's feeds concurrently; never fail for a feed: log a per-feed
        table and return the failed feeds' names."""
        from pipeline.ingest import collect_feeds, shard_config

        reports = collect_feeds(
            shard_config(shard),  # the run's config, cut down to the shard's feeds
            shard["feeds"],
            run_id=get_current_context()["run_id"],
            url=database_url(),
        )
        return log_outcomes(shard["label"], reports)

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def store_articles() -> list[str]:
        """Store everything staged; return the feeds that failed in this run (from
        news.fetches, so a shard that died still has its feeds listed) for retry_feed."""
        from pipeline.ingest import failed_feeds, store_articles

        run_id, url = get_current_context()["run_id"], database_url()
        stored = store_articles(load_news_config(), run_id=run_id, url=url)
        log.info("stored: %s", dict(stored.totals()) or "nothing new")
        return feeds_to_retry(failed_feeds(run_id=run_id, url=url))

    @task(
        map_index_template="{{ task.op_kwargs['feed'] }}",
        pool=FEED_POOL,
        retries=3,
        execution_timeout=timedelta(minutes=20),
    )
    def retry_feed(feed: str) -> dict[str, Any]:
        """Fetch one failed feed again and store its articles. A transient failure (network,
        5xx, 429) fails the task for a retry with backoff; a permanent one (404, not a
        feed) fails it at once."""
        from pipeline.ingest import collect_feeds, store_articles

        run_id, config, url = get_current_context()["run_id"], load_news_config(), database_url()
        (report,) = collect_feeds(config, [feed], run_id=run_id, url=url)
        log_outcomes(feed, [report])
        if report.status == "failed":
            message = f"feed {report.feed} failed: {report.error}"
            if not report.transient:
                raise AirflowFailException(f"{message} (permanent: not retried)")
            raise RuntimeError(message)
        stored = store_articles(config, run_id=run_id, url=url)
        log.info("stored: %s", dict(stored.totals()) or "nothing new")
        return {**report.as_dict(), "staged": len(report.staged)}

    @task(trigger_rule=TriggerRule.ALL_DONE, outlets=[ARTICLES_ASSET])
    def finish_run(*, outlet_events: Any = None) -> dict[str, Any]:
        """Record the run's summary; publish it, failed feeds with their reasons, as the
        news.articles asset event."""
        from pipeline.ingest import finish_run

        context = get_current_context()
        started = context["dag_run"].start_date or datetime.now(UTC)
        run = finish_run(
            load_news_config(),
            run_id=context["run_id"],
            url=database_url(),
            seconds=(datetime.now(UTC) - started).total_seconds(),
        )
        log_run_summary(run)
        stats = run.stats()
        errors = {s.feed: s.error or "failed" for s in run.feeds if s.status == "failed"}
        outlet_events[ARTICLES_ASSET].extra = {
            "run_id": context["run_id"],
            **stats,
            "feed_errors": errors,
        }
        return stats

    @task
    def check_feeds(stats: dict[str, Any]) -> None:
        """Fail the run when a feed is still failing after its retries: the run's state is
        what alerting watches, and finish_run (which ran regardless) cannot say it."""
        failed = stats.get("failed_feeds") or []
        if failed:
            raise AirflowFailException(
                f"{len(failed)} of {stats['feeds']} feeds failed: {', '.join(failed)} "
                "(see their retry_feed logs; articles of the other feeds are stored)"
            )
        log.info("all %d feeds ok or not modified", stats["feeds"])

    collected = collect_shard.expand(shard=load_feeds())
    failed = store_articles()
    collected >> failed
    retried = retry_feed.expand(feed=failed)
    stats = finish_run()
    retried >> stats
    check_feeds(stats)


news_ingest()
