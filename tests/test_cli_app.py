"""pipeline.cli.app: the `news-ingest` command itself: -v and library noise, `migrate`,
`run`'s refusals, exit statuses and JSON report, and when the network is to blame. The
end-to-end runs over the seed site are in test_run.py and test_first_hour.py."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_runner import news_ingest
from conftest import write_config
from newssite import NewsSite, render_rss

from pipeline.cli.app import DNS_FAILURE, LIBRARY_LOGGERS, network_looks_down
from pipeline.ingest.runs import FeedSummary
from pipeline.store import migrations


def summary(status: str, error: str | None = None) -> FeedSummary:
    return FeedSummary("f", status, None, 0, 0, 0, 0, 0, 0, error)


def test_the_network_is_blamed_only_when_every_feed_failed_to_resolve() -> None:
    dns = summary("failed", f"ConnectError: {DNS_FAILURE}news.example: no address")
    refused = summary("failed", "ConnectError: connection refused")
    assert network_looks_down([dns, dns])
    assert not network_looks_down([dns, refused])
    assert not network_looks_down([dns, summary("ok")])
    assert not network_looks_down([])


@pytest.fixture
def library_levels() -> Iterator[None]:
    """Put the loggers' levels back as they were: the app sets them for the process."""
    names = ["", "yoyo", "httpx", *LIBRARY_LOGGERS]
    levels = {name: logging.getLogger(name).level for name in names}
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.usefixtures("library_levels")
@pytest.mark.parametrize(
    ("flags", "library_level"), [((), logging.CRITICAL), (("-v",), logging.INFO)]
)
def test_library_noise_is_silenced_unless_v(flags: tuple[str, ...], library_level: int) -> None:
    assert news_ingest(*flags, "feeds", "schema", "--output", "/dev/null").returncode == 0
    for name in LIBRARY_LOGGERS:
        assert logging.getLogger(name).level == library_level, name


def test_migrate_applies_what_is_pending_then_nothing(empty_db_url: str) -> None:
    ids = sorted(path.stem for path in migrations.sql_dir().glob("*.sql"))
    env = {"DATABASE_URL": empty_db_url}
    first = news_ingest("migrate", env=env)
    again = news_ingest("migrate", env=env)
    assert first.returncode == again.returncode == 0
    assert " ".join(first.stdout.split()) == (
        f"applied {len(ids)} migrations to schema news: {', '.join(ids)}"
    )
    assert again.stdout == "schema news is up to date\n"


def test_run_refuses_a_config_without_enabled_feeds(tmp_path: Path, db_url: str) -> None:
    config = tmp_path / "feeds.yaml"
    config.write_text(
        "feeds:\n  - name: off\n    url: https://off.example/rss\n    enabled: false\n",
        encoding="utf-8",
    )
    result = news_ingest("run", "--config", str(config))
    assert result.returncode == 1
    assert " ".join(result.stderr.split()) == f"{config}: no enabled feeds"


@pytest.fixture
def one_feed_broken(tmp_path: Path, site: NewsSite) -> Path:
    """A config of two feeds: an empty but valid one, and one that answers 404."""
    empty = site.add_feed("/empty.xml", render_rss([], title="Leer", link=site.url("/")))
    return write_config(tmp_path, {"leer": empty, "kaputt": site.url("/missing.xml")})


def test_a_failed_feed_fails_the_run_only_with_strict(one_feed_broken: Path, db_url: str) -> None:
    config = str(one_feed_broken)
    plain = news_ingest("run", "--config", config, "--json")
    strict = news_ingest("run", "--config", config, "--strict", "--no-progress")
    assert (plain.returncode, strict.returncode) == (0, 3)
    report = json.loads(plain.stdout)
    assert report["stats"]["failed_feeds"] == ["kaputt"]
    assert [(feed["feed"], feed["status"]) for feed in report["feeds"]] == [
        ("kaputt", "failed"),
        ("leer", "ok"),
    ]
    assert report["rollups"] == [{"view": "v_daily_stories", "rows": 0}]
    assert "kaputt: HTTP 404 Not Found" in strict.stdout  # the summary names the failure
