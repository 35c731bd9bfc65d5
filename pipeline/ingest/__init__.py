"""The ingest cycle: the API `news-ingest run` and every Airflow task call.

A run is four steps, each one call: `begin_run` (migrate, sync sources from the config,
record the run), `collect_feeds` (fetch feeds, download and extract their new articles,
stage them), `store_articles` (the story engine and the serialised store step),
`finish_run` (the summary, read back from what was recorded); `refresh_rollups` brings
the analysts' rollups up to date. The DAG collects feeds in shards (`plan_shards`, feeds of a
host together), logs each shard's `outcome_table` and retries `failed_feeds` one by one.
`run_cycle` does the four steps in one process; `Cycle` shares a pool, a fetcher and the
story engine between steps.

Owns the run's bookkeeping: sources synced from the config (`sources`), every fetch
outcome and the run summaries (`runs`), all written (with the staged and failed articles
of `store.staging`) by one `Recorder` per feed while worker threads only return values
(`collect`). Combines
the stages (http, feeds, extract, stories, store), which never call back into it. Never
imports Airflow.
"""

from ..config import DEFAULT_SCHEDULE, Config, ConfigError, load_config, resolve_config_path
from .cycle import (
    Cycle,
    FeedReport,
    Progress,
    RunReport,
    begin_run,
    collect_feeds,
    finish_run,
    refresh_rollups,
    run_cycle,
    store_articles,
)
from .runs import FeedSummary, new_run_id
from .shards import Shard, failed_feeds, outcome_table, plan_shards, shard_config

__all__ = [
    "DEFAULT_SCHEDULE",
    "Config",
    "ConfigError",
    "Cycle",
    "FeedReport",
    "FeedSummary",
    "Progress",
    "RunReport",
    "Shard",
    "begin_run",
    "collect_feeds",
    "failed_feeds",
    "finish_run",
    "load_config",
    "new_run_id",
    "outcome_table",
    "plan_shards",
    "refresh_rollups",
    "resolve_config_path",
    "run_cycle",
    "shard_config",
    "store_articles",
]
