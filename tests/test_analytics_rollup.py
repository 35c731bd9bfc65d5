"""pipeline.analytics.rollup: the analysts' materialised rollup (news.v_daily_stories)
refreshed on a real database, checked against the same counts computed from the tables."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from analytics_data import ACTUAL_DAILY, EXPECTED_DAILY, add_synthetic_newsroom

from pipeline.analytics.rollup import RollupMissingError, refresh_rollups


def populated(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute(
        "SELECT ispopulated FROM pg_matviews WHERE matviewname = 'v_daily_stories'"
    ).fetchone()
    assert row is not None
    return bool(row[0])


def test_refresh_fills_an_unpopulated_view_then_refreshes_concurrently(
    conn: psycopg.Connection[Any],
) -> None:
    add_synthetic_newsroom(conn, stories=80)
    conn.execute("REFRESH MATERIALIZED VIEW v_daily_stories WITH NO DATA")
    assert not populated(conn)

    (first,) = refresh_rollups(conn)
    assert (first.view, first.concurrently) == ("v_daily_stories", False)
    expected = conn.execute(EXPECTED_DAILY).fetchall()
    assert conn.execute(ACTUAL_DAILY).fetchall() == expected
    assert first.rows == len(expected) > 0

    (again,) = refresh_rollups(conn)
    assert again.concurrently
    assert again.rows == first.rows
    assert conn.execute(ACTUAL_DAILY).fetchall() == expected


def test_refresh_sees_articles_stored_since(conn: psycopg.Connection[Any]) -> None:
    (empty,) = refresh_rollups(conn)
    assert empty.rows == 0
    add_synthetic_newsroom(conn, stories=30)
    (after,) = refresh_rollups(conn)
    assert after.concurrently
    assert after.rows > 0
    assert conn.execute(ACTUAL_DAILY).fetchall() == conn.execute(EXPECTED_DAILY).fetchall()


def test_a_missing_view_says_to_migrate(conn: psycopg.Connection[Any]) -> None:
    with pytest.raises(RollupMissingError, match="news-ingest migrate"):
        refresh_rollups(conn, ("v_not_there",))
