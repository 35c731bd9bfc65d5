"""The Airflow DAG under hostile feeds, and a DAG run re-run after its tasks were cleared.

`dag.test(logical_date=X)` clears the task instances of the run for X before running it, as
the UI's "Clear" does; calling it twice re-runs the same DAG run (same run id).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import airflow_connection
from newssite import NewsSite, build_seed_site
from pytest_httpserver import HTTPServer

from pipeline.store import db
from pipeline.urls import canonical_url

from .cases import RUN_FETCH
from .conftest import rows, story_inconsistencies, write_guarded_config

pytestmark = pytest.mark.slow  # seconds each: real CLI processes, servers, Airflow

DAGS = Path(__file__).resolve().parents[2] / "dags"
LOGICAL_DATE = datetime(2026, 1, 5, 6, 15, tzinfo=UTC)


@pytest.fixture
def news_ingest_dag() -> Any:
    """The DAG as the dag-processor loads it, with one change: retry_feed retries a failed
    feed once at once instead of three times after 30 s and more (dag.test() waits out the
    delay)."""
    from airflow.dag_processing.dagbag import BundleDagBag

    bag = BundleDagBag(dag_folder=str(DAGS), bundle_path=DAGS)
    assert bag.import_errors == {}
    dag = bag.dags["news_ingest"]
    retry = dag.get_task("retry_feed")
    retry.partial_kwargs["retries"] = 1
    retry.partial_kwargs["retry_delay"] = timedelta(0)
    return dag


def test_dag_hostile_feeds_and_cleared_rerun(
    airflow_db: None,
    news_ingest_dag: Any,
    server: HTTPServer,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    site = NewsSite(server)
    seed = build_seed_site(site)
    site.add_page("/hostile/not-xml.xml", '{"not": "a feed"}', headers={"Content-Type": "text/xml"})
    site.add_page("/hostile/busy.xml", "busy", status=503, etag=False, last_modified=False)
    hostile = {
        "not-xml": site.url("/hostile/not-xml.xml"),  # permanent: not a feed
        "gone": site.url("/hostile/missing.xml"),  # permanent: 404
        "busy": site.url("/hostile/busy.xml"),  # transient: 503 on every try
    }
    config = write_guarded_config(
        tmp_path / "feeds.yaml",
        {**seed.feeds, **hostile},
        allowed_hosts=[f"127.0.0.1:{server.port}"],
        fetch=RUN_FETCH,
    )
    monkeypatch.setenv("AIRFLOW_CONN_NEWS_DB", airflow_connection(db_url))
    monkeypatch.delenv("DATABASE_URL")
    monkeypatch.setenv("NEWS_INGEST_CONFIG", str(config))

    first = news_ingest_dag.test(logical_date=LOGICAL_DATE, run_after=LOGICAL_DATE)

    states = task_states(first)
    shards = [key for key in states if key[0] == "collect_shard"]
    assert len(shards) == 1  # six feeds of one host: one shard, which a bad feed never fails
    assert states[shards[0]] == "success", states
    assert {name for task, name in states if task == "retry_feed"} == set(hostile)
    for name in hostile:
        assert states[("retry_feed", name)] == "failed", states
    assert states[("store_articles", None)] == "success", states
    assert states[("check_feeds", None)] == "failed", states  # the run says feeds failed
    assert first.state == "failed"
    tries = {
        ti.rendered_map_index: ti.try_number
        for ti in first.get_task_instances()
        if ti.task_id == "retry_feed"
    }
    assert tries["not-xml"] == tries["gone"] == 1  # permanent: failed at once, not retried
    assert tries["busy"] == 2  # transient: failed, retried, failed again

    expected = {canonical_url(url) for url in seed.served}
    with db.connection(db_url, autocommit=True) as conn:
        before = dict(rows(conn, "SELECT canonical_url, id FROM articles"))
        assert set(before) == expected
        outcomes = rows(
            conn,
            """SELECT s.name, f.outcome, f.error FROM fetches f JOIN sources s ON s.id = f.source_id
               WHERE f.kind = 'feed' AND s.name = ANY(%s) ORDER BY f.id""",
            list(hostile),
        )
        assert {(name, outcome) for name, outcome, _ in outcomes} == {
            ("not-xml", "parse_error"),
            ("gone", "http_error"),
            ("busy", "http_error"),
        }
        # One fetch in the shard, then one per retry_feed try: (1 + 1) * 2 + (1 + 2).
        assert len(outcomes) == 7
        stories_before = rows(conn, "SELECT id, article_count FROM stories ORDER BY id")
        assert story_inconsistencies(conn) == []

    # The UI's "Clear" on the run, then the scheduler runs its tasks again.
    second = news_ingest_dag.test(logical_date=LOGICAL_DATE, run_after=LOGICAL_DATE)

    assert second.run_id == first.run_id
    states = task_states(second)
    assert states[("store_articles", None)] == "success", states
    with db.connection(db_url, autocommit=True) as conn:
        assert dict(rows(conn, "SELECT canonical_url, id FROM articles")) == before
        assert rows(conn, "SELECT id, article_count FROM stories ORDER BY id") == stories_before
        assert story_inconsistencies(conn) == []
        assert rows(conn, "SELECT count(*) FROM staged_articles")[0][0] == 0
        assert rows(conn, "SELECT count(*) FROM runs WHERE id = %s", first.run_id)[0][0] == 1
        # The cleared tasks did run again: the good feeds were polled a second time (304).
        polls = rows(
            conn,
            """SELECT s.name, count(*) FROM fetches f JOIN sources s ON s.id = f.source_id
               WHERE f.kind = 'feed' AND f.run_id = %s GROUP BY s.name""",
            first.run_id,
        )
        for name, count in polls:
            if name in seed.feeds:
                assert count == 2, (name, count)


def task_states(dag_run: Any) -> dict[tuple[str, str | None], str]:
    return {
        (ti.task_id, ti.rendered_map_index if ti.map_index >= 0 else None): str(ti.state)
        for ti in dag_run.get_task_instances()
    }
