"""Feeds in shards: how the news_ingest DAG splits a run into a few big tasks, and what it
tells operators about each feed.

Airflow pays about 1.5 s of start-up per task instance (docs/OPERATORS.md), so one task per
feed costs far more than the feed's conditional GET. A shard is the feeds one task collects
with the cycle API (concurrently, like the CLI); feeds of one host stay in one shard, so the
fetcher's per-host politeness (concurrency cap, robots.txt Crawl-delay) holds inside it.
Failed feeds then get a task of their own (`failed_feeds`), so one broken feed is retried
alone and never holds up its shard or the store step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..config import Config, Feed
from ..store import db
from .cycle import FeedReport
from .runs import feed_summaries


@dataclass(frozen=True)
class Shard:
    """The feeds one collect task fetches; `number` counts from 1 in the run."""

    number: int
    feeds: tuple[str, ...]

    @property
    def label(self) -> str:
        """How the task is named in the Airflow UI: 'shard 3: feed-a … feed-k (50 feeds)'."""
        if len(self.feeds) == 1:
            return f"shard {self.number}: {self.feeds[0]}"
        return f"shard {self.number}: {self.feeds[0]} … {self.feeds[-1]} ({len(self.feeds)} feeds)"

    def as_dict(self, config: Config | None = None) -> dict[str, Any]:
        """What travels through XCom (never feed documents or articles). With `config`, also
        that config cut down to the shard's feeds, so the task need not read and validate
        the whole file again (3 s for 10,000 feeds, in every one of 200 tasks), and every
        shard of a run works with the config the run started with."""
        shard: dict[str, Any] = {
            "number": self.number,
            "label": self.label,
            "feeds": list(self.feeds),
        }
        if config is not None:
            names = set(self.feeds)
            mine = [feed for feed in config.feeds if feed.name in names]
            shard["config"] = config.model_copy(update={"feeds": mine}).model_dump(mode="json")
        return shard


def shard_config(shard: dict[str, Any]) -> Config:
    """The config a shard dict of `Shard.as_dict(config)` carries (validated again: a few
    milliseconds for its feeds)."""
    return Config.model_validate(shard["config"])


def host_of(feed: Feed) -> str:
    """The politeness key of a feed: its URL's host name, as the fetcher's host gates use."""
    return (urlsplit(feed.url).hostname or "").lower()


def plan_shards(feeds: Sequence[Feed], feeds_per_task: int) -> list[Shard]:
    """Split `feeds` into shards of at most `feeds_per_task`, keeping the feeds of one host
    together whenever they fit in one shard. Hosts keep the config's order (first feed), so
    an unchanged config gives the same shards, and the same map indexes, run after run.

    A host with more feeds than `feeds_per_task` fills shards of its own: its feeds are then
    fetched by several tasks at once, each polite on its own (documented in OPERATORS.md).
    """
    if feeds_per_task < 1:
        raise ValueError(f"feeds_per_task must be at least 1 (got {feeds_per_task})")
    by_host: dict[str, list[str]] = {}
    for feed in feeds:
        by_host.setdefault(host_of(feed), []).append(feed.name)
    groups: list[list[str]] = []
    current: list[str] = []
    for names in by_host.values():
        if len(names) > feeds_per_task:
            groups += [names[i : i + feeds_per_task] for i in range(0, len(names), feeds_per_task)]
            continue
        if len(current) + len(names) > feeds_per_task:
            groups.append(current)
            current = []
        current += names
    if current:
        groups.append(current)
    return [Shard(number, tuple(names)) for number, names in enumerate(groups, start=1)]


OUTCOME_HEADER = ("feed", "status", "HTTP", "entries", "staged", "failed", "reason")


def outcome_table(reports: Sequence[FeedReport]) -> list[str]:
    """One line per feed (name, status, HTTP status, counts, why it failed): the table a
    collect task logs, so its log answers 'which feed, and why' without the database."""
    width = max([len(OUTCOME_HEADER[0]), *(len(report.feed) for report in reports)])
    lines = [_row(width, *OUTCOME_HEADER)]
    for report in sorted(reports, key=lambda r: (r.status != "failed", r.feed)):
        lines.append(
            _row(
                width,
                report.feed,
                report.status,
                "-" if report.http_status is None else str(report.http_status),
                str(report.entries),
                str(report.fetched),
                str(report.failed),
                report.error or "",
            )
        )
    return lines


def _row(width: int, *cells: str) -> str:
    name, status, http, entries, staged, failed, reason = cells
    return (
        f"{name:<{width}}  {status:<12}  {http:>4}  {entries:>7}  {staged:>6}  {failed:>6}"
        f"  {reason}"
    ).rstrip()


def failed_feeds(
    *, run_id: str, url: str | None = None, schema: str = db.DEFAULT_SCHEMA
) -> dict[str, str]:
    """Feed name → why, for every enabled feed whose last feed fetch in this run failed or
    that the run never fetched (its collect task died): read from news.fetches, so a shard
    that crashed half-way still has each of its unfinished feeds listed by name."""
    with db.connection(url, schema=schema, autocommit=True) as conn:
        return {
            summary.feed: summary.error or "failed"
            for summary in feed_summaries(conn, run_id)
            if summary.status == "failed"
        }
