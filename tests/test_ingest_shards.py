"""pipeline.ingest.shards: feeds split into shards for the DAG (hosts kept together, stable
order, bounded size), the per-feed outcome table, and the failed feeds of a run read back
from the database, including feeds a dead shard never fetched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import write_config
from newssite import SiteMap

from pipeline.config import Config, Feed
from pipeline.ingest import (
    FeedReport,
    begin_run,
    collect_feeds,
    failed_feeds,
    load_config,
    outcome_table,
    plan_shards,
    shard_config,
)


def feeds(*specs: tuple[str, str]) -> list[Feed]:
    return [Feed(name=name, url=f"https://{host}/{name}.xml") for name, host in specs]


def test_feeds_of_one_host_stay_in_one_shard() -> None:
    planned = plan_shards(
        feeds(("a1", "a.example"), ("b1", "b.example"), ("a2", "A.example"), ("c1", "c.example")),
        feeds_per_task=3,
    )
    # a.example's two feeds (host names are case-insensitive) and b1 fill shard 1; c1 does
    # not fit and opens shard 2.
    assert [shard.feeds for shard in planned] == [("a1", "a2", "b1"), ("c1",)]
    assert [shard.number for shard in planned] == [1, 2]


def test_a_host_that_does_not_fit_gets_shards_of_its_own() -> None:
    many = feeds(*((f"big{i}", "big.example") for i in range(5)), ("small", "small.example"))
    planned = plan_shards(many, feeds_per_task=2)
    assert [shard.feeds for shard in planned] == [
        ("big0", "big1"),
        ("big2", "big3"),
        ("big4",),
        ("small",),
    ]


def test_10000_feeds_make_200_shards_well_under_max_map_length() -> None:
    # 2,000 hosts with 5 feeds each: ten hosts fill a shard exactly.
    many = [Feed(name=f"f{i:05d}", url=f"https://h{i % 2000}.example/{i}") for i in range(10_000)]
    planned = plan_shards(many, feeds_per_task=50)
    assert len(planned) == 200  # Airflow's [core] max_map_length defaults to 1,024
    assert all(len(shard.feeds) == 50 for shard in planned)
    assert sorted(name for shard in planned for name in shard.feeds) == sorted(f.name for f in many)
    assert planned == plan_shards(many, feeds_per_task=50)  # same config, same shards


def test_hosts_kept_whole_cost_at_most_twice_the_shards() -> None:
    # 300 hosts of 33-34 feeds: two never fit in 50, so each host is a shard of its own.
    many = [Feed(name=f"f{i:05d}", url=f"https://h{i % 300}.example/{i}") for i in range(10_000)]
    planned = plan_shards(many, feeds_per_task=50)
    assert len(planned) == 300 <= 2 * 10_000 // 50
    host = {feed.name: feed.url.split("/")[2] for feed in many}
    assert all(len({host[name] for name in shard.feeds}) == 1 for shard in planned)
    assert all(len(shard.feeds) <= 50 for shard in planned)


def test_shard_labels_name_first_and_last_feed() -> None:
    one, two = plan_shards(feeds(("x", "h1"), ("y", "h1"), ("z", "h1"), ("w", "h2")), 3)
    assert one.label == "shard 1: x … z (3 feeds)"
    assert two.label == "shard 2: w"
    assert one.as_dict() == {"number": 1, "label": one.label, "feeds": ["x", "y", "z"]}


def test_a_shard_carries_the_config_cut_down_to_its_feeds() -> None:
    config = Config(
        feeds=feeds(("a", "h1"), ("b", "h2"), ("c", "h3")),
        fetch={"per_host_concurrency": 3},
        airflow={"feeds_per_task": 2},
    )
    first, second = (shard.as_dict(config) for shard in plan_shards(config.feeds, 2))
    assert json.loads(json.dumps(first)) == first  # XCom-safe
    mine = shard_config(first)
    assert [feed.name for feed in mine.feeds] == ["a", "b"]
    assert mine.fetch == config.fetch
    assert mine.model_copy(update={"feeds": config.feeds}) == config
    assert [feed.name for feed in shard_config(second).feeds] == ["c"]


def test_feeds_per_task_must_be_positive() -> None:
    with pytest.raises(ValueError, match="feeds_per_task"):
        plan_shards(feeds(("a", "h")), 0)


def test_outcome_table_lists_failures_first_with_their_reason() -> None:
    lines = outcome_table(
        [
            FeedReport(feed="quiet", status="not_modified", http_status=304),
            FeedReport(feed="busy", status="ok", http_status=200, entries=12, fetched=3),
            FeedReport(
                feed="broken", status="failed", http_status=500, error="HTTP 500 Server Error"
            ),
            FeedReport(feed="dns", status="failed", error="network_error: name not known"),
        ]
    )
    assert lines[0].split() == ["feed", "status", "HTTP", "entries", "staged", "failed", "reason"]
    assert [line.split()[0] for line in lines[1:]] == ["broken", "dns", "busy", "quiet"]
    assert lines[1].split() == [
        "broken",
        "failed",
        "500",
        "0",
        "0",
        "0",
        "HTTP",
        "500",
        "Server",
        "Error",
    ]
    assert lines[2].split()[:3] == ["dns", "failed", "-"]
    assert lines[3].split() == ["busy", "ok", "200", "12", "3", "0"]


def test_failed_feeds_names_each_failure_and_each_feed_never_fetched(
    db_url: str, seed_site: SiteMap, tmp_path: Path
) -> None:
    server = seed_site.site.server
    server.expect_request("/broken/rss.xml").respond_with_data("oops", status=500)
    config = load_config(
        write_config(
            tmp_path,
            {**seed_site.feeds, "broken": seed_site.site.url("/broken/rss.xml")},
        )
    )
    names = [feed.name for feed in begin_run(config, run_id="r1", trigger="airflow", url=db_url)]
    never_fetched = names[0]  # as if its shard had died before reaching it
    collect_feeds(config, names[1:], run_id="r1", url=db_url)

    failed = failed_feeds(run_id="r1", url=db_url)
    assert sorted(failed) == sorted(["broken", never_fetched])
    assert "500" in failed["broken"]
    assert failed[never_fetched] == "feed was not fetched in this run"
