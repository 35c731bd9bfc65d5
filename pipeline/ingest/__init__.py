"""The ingest cycle: what `news-ingest run` and every Airflow task call.

Owns one cycle (begin a run, collect feeds, store, finish the run) and its bookkeeping:
sources synced from the config (`sources`), every fetch outcome and the run's summary
(`runs`), staged and failed articles (`staging`). Combines the stages (http, feeds, extract,
stories, store); the stages never call back into it. Never imports Airflow.
"""

from .cycle import FeedReport, RunReport, collect_feed, open_cycle, run_cycle, store

__all__ = ["FeedReport", "RunReport", "collect_feed", "open_cycle", "run_cycle", "store"]
