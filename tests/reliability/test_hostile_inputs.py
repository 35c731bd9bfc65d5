"""Hostile feeds, pages and servers beside good feeds, through the real `news-ingest run`.

One module-wide setup: a hostile web serving every case of cases.HOSTILE_RUN (see
hostile_site.py), one config listing the good feeds plus one feed per case, and two runs of
the CLI. The runs' database state is captured after each; every case then asserts its own
row of the table on those snapshots. The SSRF guard is on throughout: only the two test
servers are exempt (`allow_private_hosts`), so links elsewhere must be refused.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from hostile_http import RawServer
from psycopg.rows import dict_row
from pytest_httpserver import HTTPServer

from pipeline.config import Config, Feed, FetchSettings
from pipeline.http.fetcher import Fetcher
from pipeline.ingest import Cycle, begin_run
from pipeline.store import db
from pipeline.urls import canonical_url

from .cases import HOSTILE_RUN, RUN_FETCH, Case
from .conftest import news_ingest, story_inconsistencies, write_guarded_config
from .hostile_site import (
    FAULT_PATH,
    INSTALLERS,
    STORE_FAULT_PATH,
    HostileWeb,
    install_all,
    item,
    raw_dispatch,
)

pytestmark = pytest.mark.slow  # seconds each: real CLI processes, servers, Airflow

OK_OUTCOMES = ("ok", "not_modified")


@pytest.fixture(scope="module")
def web() -> Iterator[HostileWeb]:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    try:
        with RawServer(raw_dispatch) as raw:
            hostile = HostileWeb(server, raw)
            try:
                install_all(hostile)
                yield hostile
            finally:
                hostile.close_origins()
    finally:
        server.clear()
        server.stop()


@dataclass
class Snapshot:
    """What one run left in the database (read right after it), and its JSON report."""

    report: dict[str, Any]
    seconds: float
    fetches: list[dict[str, Any]] = field(default_factory=list)
    failed: dict[str, dict[str, Any]] = field(default_factory=dict)  # by canonical_url
    articles: list[dict[str, Any]] = field(default_factory=list)
    layers: dict[int, str] = field(default_factory=dict)  # article id → its link's layer

    def feed_fetches(self, source: str, run_id: str | None = None) -> list[dict[str, Any]]:
        return [
            f
            for f in self.fetches
            if f["kind"] == "feed"
            and f["source"] == source
            and (run_id is None or f["run_id"] == run_id)
        ]

    def article_fetches(self, url: str, run_id: str | None = None) -> list[dict[str, Any]]:
        return [
            f
            for f in self.fetches
            if f["kind"] == "article"
            and f["url"] == url
            and (run_id is None or f["run_id"] == run_id)
        ]

    def articles_of(self, source: str) -> list[dict[str, Any]]:
        return [a for a in self.articles if a["source"] == source]

    @property
    def run_id(self) -> str:
        return str(self.report["run_id"])


def snapshot(db_url: str, report: dict[str, Any], seconds: float) -> Snapshot:
    with db.connection(db_url, autocommit=True) as conn, conn.cursor(row_factory=dict_row) as cur:
        fetches = cur.execute(
            """SELECT f.*, s.name AS source FROM fetches f LEFT JOIN sources s ON s.id = f.source_id
               ORDER BY f.id"""
        ).fetchall()
        failed = cur.execute("SELECT * FROM failed_items").fetchall()
        articles = cur.execute(
            """SELECT a.*, s.name AS source FROM articles a JOIN sources s ON s.id = a.source_id
               ORDER BY a.id"""
        ).fetchall()
        links = cur.execute("SELECT article_id, layer FROM article_links").fetchall()
    return Snapshot(
        report=report,
        seconds=seconds,
        fetches=fetches,
        failed={row["canonical_url"]: row for row in failed},
        articles=articles,
        layers={row["article_id"]: row["layer"] for row in links},
    )


# Fault injection for cases fault-db-error-one-feed and fault-store-error-one-article: staging
# an article under FAULT_PATH (storing one under STORE_FAULT_PATH) fails
# in the database, as a full disk or a broken constraint would, in run 1 only.
INJECT_FAULT = f"""
CREATE FUNCTION reliability_fault() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.url LIKE '%{FAULT_PATH}%' THEN
        RAISE EXCEPTION 'injected fault: cannot stage %', NEW.url;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER reliability_fault BEFORE INSERT ON staged_articles
    FOR EACH ROW EXECUTE FUNCTION reliability_fault();
CREATE FUNCTION reliability_store_fault() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.url LIKE '%{STORE_FAULT_PATH}%' THEN
        RAISE EXCEPTION 'injected fault: cannot store %', NEW.url;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER reliability_store_fault BEFORE INSERT ON articles
    FOR EACH ROW EXECUTE FUNCTION reliability_store_fault();
"""
REMOVE_FAULT = """DROP TRIGGER reliability_fault ON staged_articles;
DROP TRIGGER reliability_store_fault ON articles"""


@dataclass(frozen=True)
class Runs:
    first: Snapshot
    second: Snapshot
    stderr: str


@pytest.fixture(scope="module")
def runs(web: HostileWeb, module_db: str, tmp_path_factory: pytest.TempPathFactory) -> Runs:
    config = write_guarded_config(
        tmp_path_factory.mktemp("hostile") / "feeds.yaml",
        web.feeds,
        allowed_hosts=web.hosts,
        fetch=RUN_FETCH,
        feed_options=web.feed_options,
    )
    snapshots = []
    stderr = ""
    for run in range(2):
        with db.connection(module_db, autocommit=True) as conn:
            conn.execute(INJECT_FAULT if run == 0 else REMOVE_FAULT)
        started = time.monotonic()
        result = news_ingest("run", "--config", str(config), "--json", db_url=module_db)
        seconds = time.monotonic() - started
        stderr += result.stderr
        snapshots.append(snapshot(module_db, json.loads(result.stdout), seconds))
    return Runs(snapshots[0], snapshots[1], stderr)


def test_every_hostile_case_is_served() -> None:
    assert set(INSTALLERS) == {case.id for case in HOSTILE_RUN}


def test_good_feeds_land_beside_hostile_ones(web: HostileWeb, runs: Runs, module_db: str) -> None:
    first = runs.first
    stored = {a["canonical_url"] for a in first.articles}
    expected = {canonical_url(url) for url in web.seed.served}
    assert expected <= stored
    ((copy_url, original_url),) = web.seed.copies.items()
    story = {a["canonical_url"]: a["story_id"] for a in first.articles}
    assert story[canonical_url(copy_url)] == story[canonical_url(original_url)]

    failing = {
        c.id
        for c in HOSTILE_RUN
        if (c.feed and c.feed.outcome not in OK_OUTCOMES) or c.reported is not None
    }
    summaries = {s["feed"]: s for s in first.report["feeds"]}
    assert {name for name, s in summaries.items() if s["status"] == "failed"} == failing
    assert first.report["stats"]["feeds_failed"] == len(failing)
    for name in failing:
        assert summaries[name]["error"], name
    # Nothing crashed but the feed whose crash was injected.
    crashes = re.findall(r"feed (\S+) crashed", runs.stderr)
    assert crashes == [c.id for c in HOSTILE_RUN if c.reported is not None], runs.stderr[-3000:]
    # The second run: good feeds answer 304 and add nothing of theirs.
    second = {s["feed"]: s for s in runs.second.report["feeds"]}
    for name in web.seed.feeds:
        assert second[name]["status"] == "not_modified", name
    with db.connection(module_db, autocommit=True) as conn:
        assert story_inconsistencies(conn) == []
    urls = [a["canonical_url"] for a in runs.second.articles]
    assert len(urls) == len(set(urls))


@pytest.mark.parametrize("case", HOSTILE_RUN, ids=lambda case: case.id)
def test_case(case: Case, web: HostileWeb, runs: Runs, module_db: str) -> None:
    first, second = runs.first, runs.second
    feed_url = web.feeds[case.id]

    if case.feed:
        (fetch,) = first.feed_fetches(case.id, first.run_id)
        assert fetch["url"] == feed_url
        assert fetch["outcome"] == case.feed.outcome, fetch
        if case.feed.error:
            assert case.feed.error in (fetch["error"] or ""), fetch
        if case.feed.warnings:
            assert case.feed.warnings in (fetch["warnings"] or ""), fetch
        if case.feed.entries is not None:
            assert fetch["entries"] == case.feed.entries, fetch
        if case.feed.final_path:
            assert urlsplit(fetch["final_url"]).path == case.feed.final_path, fetch
        if case.feed.bytes_at_most is not None:
            assert fetch["bytes"] <= case.feed.bytes_at_most, fetch
        if case.feed.status is not None:
            assert fetch["http_status"] == case.feed.status, fetch
        # Every run polls every feed again, failed ones included.
        assert second.feed_fetches(case.id, second.run_id), "feed not polled again in run 2"

    target = web.targets.get(case.id)
    if case.article:
        assert target is not None
        fetches = first.article_fetches(target, first.run_id)
        assert fetches, f"no fetch of {target} recorded"
        fetch = fetches[-1]
        assert fetch["outcome"] == case.article.outcome, fetch
        if case.article.error:
            assert case.article.error in (fetch["error"] or ""), fetch
        if case.article.final_path:
            assert urlsplit(fetch["final_url"]).path == case.article.final_path, fetch
        failure = first.failed.get(canonical_url(target))
        if case.article.stage is None:
            assert failure is None, failure
        else:
            assert failure is not None, f"no failed_items row for {target}"
            assert failure["stage"] == case.article.stage
            assert failure["retryable"] is case.article.retryable
            assert failure["attempts"] == 1
            assert case.article.error is None or case.article.error in failure["error"]

    if case.stored:
        mine = first.articles_of(case.id)
        assert len(mine) == case.stored.count, [a["url"] for a in mine]
        checked = [a for a in mine if a["url"] == target] if target else mine
        for needle in case.stored.text_has:
            assert checked, "no article to check"
            for article in checked:
                assert needle in article["text"], (needle, article["text"][:300])
        for needle in case.stored.description_has:
            for article in mine:
                assert needle in (article["description"] or ""), article["description"]
        for needle in case.stored.lacks:
            for article in mine:
                for column in ("title", "text", "description", "url", "guid"):
                    assert needle not in (article[column] or ""), (column, article[column])
        if case.stored.published_null:
            assert all(a["published_at"] is None for a in mine), [a["published_at"] for a in mine]
        if case.stored.found_by or case.stored.not_found_by:
            assert target is not None
            with db.connection(module_db, autocommit=True) as conn:
                for query, expected in [
                    *((q, True) for q in case.stored.found_by),
                    *((q, False) for q in case.stored.not_found_by),
                ]:
                    found = conn.execute(
                        "SELECT url, snippet FROM search_articles(%s)", (query,)
                    ).fetchall()
                    assert (target in [url for url, _ in found]) is expected, (query, found)
                    for _url, snippet in found:
                        assert "\x1f" not in snippet, snippet
        for column in case.stored.null_columns:
            assert checked, "no article to check"
            assert all(a[column] is None for a in checked), [a[column] for a in checked]
        for column, limit in case.stored.max_bytes:
            sizes = [len((a[column] or "").encode()) for a in checked]
            assert max(sizes) <= limit, sizes

    if case.later:
        if case.later.stored is not None:
            assert len(second.articles_of(case.id)) == case.later.stored
        if case.later.attempts is not None:
            assert target is not None
            failure = second.failed.get(canonical_url(target))
            if case.later.attempts == 0:
                assert failure is None, failure
            else:
                assert failure is not None
                assert failure["attempts"] == case.later.attempts
            refetched = bool(second.article_fetches(target, second.run_id))
            assert refetched is case.later.refetched
        if case.later.requests is not None:
            assert target is not None
            assert web.count(urlsplit(target).path) == case.later.requests

    if case.never_requested:
        assert not web.requested(case.never_requested)

    if case.stories:
        by_url = {a["canonical_url"]: a for a in first.articles}

        def named(name: str) -> dict[str, Any]:
            return by_url[canonical_url(web.named[(case.id, name)])]

        for a, b in case.stories.apart:
            assert named(a)["story_id"] != named(b)["story_id"], (a, b)
            assert first.layers.get(named(a)["id"]) != "url", a
        for a, b, layer in case.stories.together:
            assert named(a)["story_id"] == named(b)["story_id"], (a, b)
            assert first.layers.get(named(a)["id"]) == layer, (a, first.layers.get(named(a)["id"]))

    if case.robots_requests is not None:
        assert target is not None
        port = urlsplit(target).port
        assert web.count(f"{port}/robots.txt") == case.robots_requests

    if case.reported:
        (summary,) = [s for s in first.report["feeds"] if s["feed"] == case.id]
        assert summary["status"] == "failed", summary
        assert case.reported in (summary["error"] or ""), summary
        if target:  # the article whose staging failed was not stored in run 1
            assert all(a["url"] != target for a in first.articles_of(case.id))


def test_public_name_resolving_to_loopback(web: HostileWeb, db_url: str) -> None:
    """A public-looking name whose DNS answer is 127.0.0.1: refused unless private networks
    are allowed. The resolver is the one seam: the real Fetcher, collect_feed and database."""
    entries = {}
    feeds = []
    for flag in ("off", "on"):
        path = f"/ssrf/public-name-{flag}.html"
        web.article(path)
        entries[flag] = f"http://news.example.com:{web.port}{path}"
        feed_path = f"/feeds/ssrf-public-name-{flag}.xml"
        web.serve(feed_path, _rss_of(entries[flag]), content_type="application/rss+xml")
        feeds.append(Feed(name=f"public-name-{flag}", url=web.url(feed_path)))
    config = Config(
        allow_private_networks=False,
        allow_private_hosts=[f"127.0.0.1:{web.port}"],
        fetch=FetchSettings(**RUN_FETCH),  # type: ignore[arg-type]
        feeds=feeds,
    )

    def resolver(host: str, port: int) -> list[str]:
        assert host == "news.example.com", host  # nothing else may reach a resolver
        return ["127.0.0.1"]

    begin_run(config, run_id="api-ssrf", trigger="cli", url=db_url)
    for flag, feed in zip(("off", "on"), feeds, strict=True):
        fetcher = Fetcher(
            config.fetch,
            allow_private_networks=flag == "on",
            private_hosts=config.allow_private_hosts,
            resolver=resolver,
        )
        with (
            fetcher,
            Cycle.open(config, run_id="api-ssrf", url=db_url, fetcher=fetcher) as cycle,
        ):
            report = cycle.collect_feed(feed)
        assert report.status == "ok"
        assert (report.fetched, report.failed) == ((0, 1) if flag == "off" else (1, 0))

    with db.connection(db_url, autocommit=True) as conn:
        (outcome, error) = conn.execute(
            "SELECT outcome, error FROM fetches WHERE kind = 'article' AND url = %s",
            (entries["off"],),
        ).fetchone()
        assert outcome == "refused"
        assert "127.0.0.1 (resolved from news.example.com) is a loopback address" in error
        (retryable,) = conn.execute(
            "SELECT retryable FROM failed_items WHERE canonical_url = %s",
            (canonical_url(entries["off"]),),
        ).fetchone()
        assert retryable is False
        staged = conn.execute(
            "SELECT canonical_url FROM staged_articles WHERE canonical_url = %s",
            (canonical_url(entries["on"]),),
        ).fetchall()
        assert len(staged) == 1
    assert not web.requested("/ssrf/public-name-off")
    assert web.requested("/ssrf/public-name-on")


def _rss_of(link: str) -> str:
    from .hostile_site import rss

    return rss([item(link, "Öffentlich aussehender Name")])


def test_feed_commands_read_hostile_feeds(web: HostileWeb, tmp_path: Path) -> None:
    """The editors' commands take the pipeline's parse path: a hostile feed is a feed (or a
    reported failure), never a traceback."""
    hostile, busy = web.feeds["feed-charref-surrogate"], web.feeds["http-feed-503-retry-after"]
    config = write_guarded_config(
        tmp_path / "feeds.yaml",
        {"hostile": hostile, "busy": busy},
        allowed_hosts=[f"127.0.0.1:{web.port}"],
        fetch=RUN_FETCH,
    )
    check = news_ingest("feeds", "check", "--config", str(config), db_url="", check=False)
    assert "Traceback" not in check.stderr + check.stdout, check.stderr
    assert check.returncode == 1, check.stdout  # the 503 feed failed, and only it
    assert "1 ok, 1 failed" in check.stdout, check.stdout
    assert "503" in check.stdout, check.stdout

    fresh = write_guarded_config(
        tmp_path / "new.yaml", {}, allowed_hosts=[f"127.0.0.1:{web.port}"], fetch=RUN_FETCH
    )
    add = news_ingest("feeds", "add", hostile, "--config", str(fresh), db_url="", check=False)
    assert "Traceback" not in add.stderr + add.stdout, add.stderr
    assert add.returncode == 0, add.stdout + add.stderr
    assert hostile in fresh.read_text(encoding="utf-8")


def test_the_runs_stay_fast(runs: Runs) -> None:
    """Hostile servers cost seconds, not minutes: the caps and timeouts bound every case."""
    assert runs.first.seconds < 60, runs.first.seconds
    assert runs.second.seconds < 60, runs.second.seconds
