"""Refresh the analysts' materialised rollups (sql/0005_analyst_views.sql).

Run by the `news_stories_rollup` DAG after every ingest run that stored articles. A
refresh is idempotent: it recomputes the view from the tables. It is CONCURRENTLY when
the view already holds data, so analysts keep reading the old rows meanwhile; an
unpopulated view (`REFRESH ... WITH NO DATA`, a restored dump) cannot be refreshed
concurrently and is filled with a plain refresh instead.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

#: Materialised views refreshed after ingest runs, in dependency order.
ROLLUP_VIEWS: tuple[str, ...] = ("v_daily_stories",)


@dataclass(frozen=True)
class Refreshed:
    """One refreshed view: how, how many rows it now holds, how long it took."""

    view: str
    rows: int
    concurrently: bool
    seconds: float


class RollupMissingError(RuntimeError):
    """The schema lacks a rollup view: its migrations have not been applied."""


def refresh_rollups(
    conn: psycopg.Connection[Any], views: tuple[str, ...] = ROLLUP_VIEWS
) -> list[Refreshed]:
    """Refresh every view of `views` in the connection's schema (its search_path)."""
    return [refresh_view(conn, view) for view in views]


def refresh_view(conn: psycopg.Connection[Any], view: str) -> Refreshed:
    started = time.monotonic()
    populated = _is_populated(conn, view)
    statement = sql.SQL("REFRESH MATERIALIZED VIEW {concurrently}{view}").format(
        concurrently=sql.SQL("CONCURRENTLY " if populated else ""), view=sql.Identifier(view)
    )
    # One transaction per view: a failed refresh leaves the previous contents in place.
    with conn.transaction():
        conn.execute(statement)
    row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(view))).fetchone()
    assert row is not None
    refreshed = Refreshed(view, int(row[0]), populated, round(time.monotonic() - started, 3))
    log.info(
        "refreshed %s%s: %d rows in %.2f s",
        view,
        " concurrently" if populated else "",
        refreshed.rows,
        refreshed.seconds,
    )
    return refreshed


def _is_populated(conn: psycopg.Connection[Any], view: str) -> bool:
    row = conn.execute(
        "SELECT ispopulated FROM pg_matviews WHERE schemaname = current_schema()"
        " AND matviewname = %s",
        (view,),
    ).fetchone()
    if row is None:
        schema = conn.execute("SELECT current_schema()").fetchone()
        raise RollupMissingError(
            f"materialized view {view} not found in schema {schema[0] if schema else '?'}:"
            " apply the migrations (news-ingest migrate)"
        )
    return bool(row[0])
