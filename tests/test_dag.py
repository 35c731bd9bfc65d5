"""The Airflow DAGs: import cleanly, have the shape operators rely on, and run end to end
with `dag.test()` into the test database (Airflow's own metadata in SQLite)."""

from __future__ import annotations

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


def test_news_ingest_shape(dagbag: Any) -> None:
    dag = dagbag.dags["news_ingest"]
    assert dag.max_active_runs == 1
    assert dag.catchup is False
    assert {"news", "ingest"} <= set(dag.tags)
    assert "collect_feed" in (dag.doc_md or "")
    assert [t.task_id for t in dag.topological_sort()] == [
        "load_feeds",
        "collect_feed",
        "store_articles",
        "check_feeds",
    ]
    collect = dag.get_task("collect_feed")
    assert collect.map_index_template == "{{ feed_name }}"
    assert collect.partial_kwargs["pool"] == "feed_fetch"
    assert collect.partial_kwargs["retries"] >= 2
    assert collect.partial_kwargs["retry_exponential_backoff"] == 2.0
    store = dag.get_task("store_articles")
    assert store.trigger_rule == "all_done"
    assert [outlet.name for outlet in store.outlets] == ["news.articles"]


def test_dag_run_fills_the_tables(
    airflow_db: None,
    dagbag: Any,
    news_db_connection: str,
    seed_site: SiteMap,
    seed_config: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NEWS_INGEST_CONFIG", str(seed_config))
    dag = dagbag.dags["news_ingest"]
    dag_run = dag.test()
    assert dag_run.state == "success"

    tis = {(ti.task_id, ti.map_index): ti for ti in dag_run.get_task_instances()}
    collect = [ti for (task_id, _), ti in tis.items() if task_id == "collect_feed"]
    assert sorted(ti.rendered_map_index for ti in collect) == sorted(seed_site.feeds)
    assert all(ti.state == "success" for ti in tis.values())

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


def test_broken_feed_fails_its_task_once_and_the_run_but_not_the_store(
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

    tis = {(ti.task_id, ti.rendered_map_index): ti for ti in dag_run.get_task_instances()}
    gone = tis[("collect_feed", "gone")]
    assert gone.state == "failed"
    assert gone.try_number == 1  # a 404 is not retried: it would only delay the store step
    for name in seed_site.feeds:
        assert tis[("collect_feed", name)].state == "success"
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
