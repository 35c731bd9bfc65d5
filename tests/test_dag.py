"""The Airflow DAGs: import cleanly, have the shape operators rely on, and run end to end
with `dag.test()` into the test database (Airflow's own metadata in SQLite)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from newssite import SiteMap

from pipeline.urls import canonical_url

DAGS = Path(__file__).resolve().parent.parent / "dags"


@pytest.fixture(scope="module")
def dagbag() -> Any:
    """Loaded the way Airflow 3's dag-processor loads a bundle: with the bundle folder on
    sys.path, so DAG files can import their helper module."""
    from airflow.dag_processing.dagbag import BundleDagBag

    return BundleDagBag(dag_folder=str(DAGS), bundle_path=DAGS)


def test_dags_import_without_errors(dagbag: Any) -> None:
    assert dagbag.import_errors == {}
    assert {"news_ingest"} <= set(dagbag.dag_ids)


TASKS = ["load_feeds", "collect_shard", "store_articles", "retry_feed", "finish_run", "check_feeds"]


def test_news_ingest_shape(dagbag: Any) -> None:
    dag = dagbag.dags["news_ingest"]
    assert dag.max_active_runs == 1
    assert dag.catchup is False
    assert {"news", "ingest"} <= set(dag.tags)
    assert all(task in (dag.doc_md or "") for task in TASKS)
    assert [t.task_id for t in dag.topological_sort()] == TASKS
    collect = dag.get_task("collect_shard")
    assert collect.map_index_template == "{{ task.op_kwargs['shard']['label'] }}"
    assert collect.partial_kwargs["pool"] == "feed_fetch"
    # A shard never waits for retries: failed feeds are retried alone, by retry_feed.
    assert collect.partial_kwargs["retries"] == 0
    retry = dag.get_task("retry_feed")
    assert retry.map_index_template == "{{ task.op_kwargs['feed'] }}"
    assert retry.partial_kwargs["pool"] == "feed_fetch"
    assert retry.partial_kwargs["retries"] >= 2
    assert retry.partial_kwargs["retry_exponential_backoff"] == 2.0
    store = dag.get_task("store_articles")
    assert store.trigger_rule == "all_done"
    assert store.upstream_task_ids == {"collect_shard"}  # not retry_feed: never waits for it
    finish = dag.get_task("finish_run")
    assert finish.trigger_rule == "all_done"
    assert [outlet.name for outlet in finish.outlets] == ["news.articles"]


def _instances(dag_run: Any) -> dict[tuple[str, str | None], Any]:
    return {(ti.task_id, ti.rendered_map_index): ti for ti in dag_run.get_task_instances()}


def test_dag_run_fills_the_tables(
    airflow_db: None,
    dagbag: Any,
    news_db_connection: str,
    seed_site: SiteMap,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from conftest import write_config

    # Two feeds per task: the seed site's three feeds make two shards.
    config = write_config(tmp_path, seed_site.feeds, airflow={"feeds_per_task": 2})
    monkeypatch.setenv("NEWS_INGEST_CONFIG", str(config))
    dag = dagbag.dags["news_ingest"]
    dag_run = dag.test()
    assert dag_run.state == "success"

    tis = _instances(dag_run)
    names = list(seed_site.feeds)  # config order: shards keep it
    shards = sorted(name for task_id, name in tis if task_id == "collect_shard")
    assert shards == [f"shard 1: {names[0]} … {names[1]} (2 feeds)", f"shard 2: {names[2]}"]
    assert tis[("retry_feed", None)].state == "skipped"  # nothing failed: nothing to map
    assert {ti.state for key, ti in tis.items() if key[0] != "retry_feed"} == {"success"}

    with psycopg.connect(news_db_connection) as conn:
        stored = {r[0] for r in conn.execute("SELECT canonical_url FROM news.articles")}
        assert stored == {canonical_url(url) for url in seed_site.served}
        (stats,) = conn.execute(
            "SELECT stats FROM news.runs WHERE id = %s", (dag_run.run_id,)
        ).fetchone()
    assert stats["feeds_failed"] == 0
    assert stats["articles_new"] + stats["articles_copies"] + stats["articles_same_story"] == len(
        stored
    )


def _fast_retries(dag: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """retry_feed as deployed, but with its backoff cut to nothing: dag.test() waits out
    retry delays for real (30 s doubling)."""
    kwargs = dag.get_task("retry_feed").partial_kwargs
    monkeypatch.setitem(kwargs, "retry_delay", timedelta(0))
    monkeypatch.setitem(kwargs, "retry_exponential_backoff", 0)


def test_a_feed_answering_500_is_retried_alone_and_fails_by_name(
    airflow_db: None,
    dagbag: Any,
    news_db_connection: str,
    seed_site: SiteMap,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from conftest import write_config

    server = seed_site.site.server
    server.expect_request("/broken/rss.xml").respond_with_data("down for maintenance", status=500)
    feeds = {**seed_site.feeds, "broken": seed_site.site.url("/broken/rss.xml")}
    monkeypatch.setenv("NEWS_INGEST_CONFIG", str(write_config(tmp_path, feeds)))
    dag = dagbag.dags["news_ingest"]
    _fast_retries(dag, monkeypatch)
    dag_run = dag.test()

    tis = _instances(dag_run)
    (shard,) = [ti for (task_id, _), ti in tis.items() if task_id == "collect_shard"]
    assert shard.state == "success"  # one broken feed does not fail its shard
    assert tis[("store_articles", None)].state == "success"
    assert [name for task_id, name in tis if task_id == "retry_feed"] == ["broken"]
    retry = tis[("retry_feed", "broken")]
    assert retry.state == "failed"
    assert retry.try_number == 1 + dag.get_task("retry_feed").partial_kwargs["retries"]
    assert tis[("finish_run", None)].state == "success"
    assert tis[("check_feeds", None)].state == "failed"
    assert dag_run.state == "failed"
    # The healthy feeds' articles were stored before retry_feed began.
    assert store_ended_before_retry_started(tis)

    with psycopg.connect(news_db_connection) as conn:
        stored = {r[0] for r in conn.execute("SELECT canonical_url FROM news.articles")}
        (stats,) = conn.execute(
            "SELECT stats FROM news.runs WHERE id = %s", (dag_run.run_id,)
        ).fetchone()
        attempts = conn.execute(
            """SELECT f.http_status, f.outcome FROM news.fetches f
               JOIN news.sources s ON s.id = f.source_id
               WHERE s.name = 'broken' AND f.run_id = %s ORDER BY f.id""",
            (dag_run.run_id,),
        ).fetchall()
    assert stored == {canonical_url(url) for url in seed_site.served}
    assert stats["failed_feeds"] == ["broken"]
    # The shard's fetch and each retry_feed attempt, every one recorded.
    assert attempts == [(500, "http_error")] * (1 + retry.try_number)
    # The asset event names the failed feed and says why, for whoever consumes it.
    (extra,) = asset_event_extras(dag_run.run_id)
    assert extra["failed_feeds"] == ["broken"]
    assert "500" in extra["feed_errors"]["broken"]


def asset_event_extras(run_id: str) -> list[dict[str, Any]]:
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session

    with create_session() as session:
        events = session.query(AssetEvent).filter(AssetEvent.source_run_id == run_id).all()
        return [dict(event.extra) for event in events if event.source_task_id == "finish_run"]


def store_ended_before_retry_started(tis: dict[tuple[str, str | None], Any]) -> bool:
    store, retry = tis[("store_articles", None)], tis[("retry_feed", "broken")]
    return bool(store.end_date and retry.start_date and store.end_date <= retry.start_date)


def test_a_permanently_broken_feed_fails_its_retry_once_and_the_run_but_not_the_store(
    airflow_db: None,
    dagbag: Any,
    news_db_connection: str,
    seed_site: SiteMap,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from conftest import write_config

    feeds = {**seed_site.feeds, "gone": seed_site.site.url("/gone/rss.xml")}  # answers 404
    monkeypatch.setenv("NEWS_INGEST_CONFIG", str(write_config(tmp_path, feeds)))
    dag_run = dagbag.dags["news_ingest"].test()

    tis = _instances(dag_run)
    gone = tis[("retry_feed", "gone")]
    assert gone.state == "failed"
    assert gone.try_number == 1  # a 404 is not retried again: it would not go away
    assert tis[("store_articles", None)].state == "success"
    assert tis[("check_feeds", None)].state == "failed"
    assert dag_run.state == "failed"
    with psycopg.connect(news_db_connection) as conn:
        stored = {r[0] for r in conn.execute("SELECT canonical_url FROM news.articles")}
        (stats,) = conn.execute(
            "SELECT stats FROM news.runs WHERE id = %s", (dag_run.run_id,)
        ).fetchone()
    assert stored == {canonical_url(url) for url in seed_site.served}
    assert stats["failed_feeds"] == ["gone"]


def test_workers_skip_the_config_when_they_parse_the_dag_to_run_a_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dag-processor reads the schedule from the config; a worker parsing the file to
    run one task (Airflow sets the parsing context) must not read 10,000 feeds for it."""
    from conftest import write_config

    from pipeline.ingest import DEFAULT_SCHEDULE

    monkeypatch.syspath_prepend(str(DAGS))
    import news_airflow

    config = write_config(tmp_path, {"a": "http://127.0.0.1:1/a.xml"}, schedule="7 * * * *")
    monkeypatch.setenv("NEWS_INGEST_CONFIG", str(config))
    assert news_airflow.schedule_from_config() == "7 * * * *"
    monkeypatch.setenv("_AIRFLOW_PARSING_CONTEXT_DAG_ID", "news_ingest")
    # Not the config's "7 * * * *": the file was not read (the schedule plays no part in
    # running a task).
    assert news_airflow.schedule_from_config() == DEFAULT_SCHEDULE
