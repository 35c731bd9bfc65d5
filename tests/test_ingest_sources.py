"""pipeline.ingest.sources: the configured feeds as news.sources rows with their
conditional-GET validators, on a real PostgreSQL."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from pipeline.config import Feed
from pipeline.ingest.sources import save_validators, source_state, sync_sources, touch

KURIER = Feed(name="kurier", url="https://kurier.example/feed.xml", language="de")
BLATT = Feed(name="blatt", url="https://blatt.example/rss")


def sources(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT name, url, language, enabled, etag, last_modified FROM sources ORDER BY name"
    ).fetchall()


def test_feeds_become_rows_and_a_second_sync_changes_nothing(
    conn: psycopg.Connection[Any],
) -> None:
    ids = sync_sources(conn, [KURIER, BLATT])
    again = sync_sources(conn, [KURIER, BLATT])
    assert again == ids
    assert set(ids) == {"kurier", "blatt"}
    assert sources(conn) == [
        ("blatt", "https://blatt.example/rss", None, True, None, None),
        ("kurier", "https://kurier.example/feed.xml", "de", True, None, None),
    ]


def test_validators_are_kept_while_the_url_stays(conn: psycopg.Connection[Any]) -> None:
    ids = sync_sources(conn, [KURIER])
    save_validators(conn, ids["kurier"], '"v1"', "Mon, 02 Mar 2026 08:00:00 GMT")
    sync_sources(conn, [KURIER.model_copy(update={"language": "en"})])
    state = source_state(conn, "kurier")
    assert (state.id, state.etag, state.last_modified) == (
        ids["kurier"],
        '"v1"',
        "Mon, 02 Mar 2026 08:00:00 GMT",
    )


def test_a_new_url_forgets_the_old_documents_validators(conn: psycopg.Connection[Any]) -> None:
    ids = sync_sources(conn, [KURIER])
    save_validators(conn, ids["kurier"], '"v1"', "Mon, 02 Mar 2026 08:00:00 GMT")
    moved = KURIER.model_copy(update={"url": "https://kurier.example/neu.xml"})
    assert sync_sources(conn, [moved]) == ids  # the same source, so its articles stay its own
    state = source_state(conn, "kurier")
    assert (state.etag, state.last_modified) == (None, None)


def test_a_feed_removed_from_the_config_is_disabled_not_deleted(
    conn: psycopg.Connection[Any],
) -> None:
    ids = sync_sources(conn, [KURIER, BLATT])
    assert sync_sources(conn, [BLATT]) == {"blatt": ids["blatt"]}
    assert [(name, enabled) for name, _, _, enabled, *_ in sources(conn)] == [
        ("blatt", True),
        ("kurier", False),
    ]
    assert source_state(conn, "kurier").id == ids["kurier"]
    sync_sources(conn, [KURIER, BLATT])  # back in the config: enabled again, same row
    assert [enabled for _, _, _, enabled, *_ in sources(conn)] == [True, True]


def test_a_feed_disabled_in_the_config_is_disabled(conn: psycopg.Connection[Any]) -> None:
    sync_sources(conn, [KURIER.model_copy(update={"enabled": False})])
    assert sources(conn)[0][3] is False


def test_an_unknown_feed_says_to_sync_first(conn: psycopg.Connection[Any]) -> None:
    with pytest.raises(LookupError, match=r"'nope' is not in news\.sources; sync the config first"):
        source_state(conn, "nope")


def test_fetch_times_are_recorded(conn: psycopg.Connection[Any]) -> None:
    ids = sync_sources(conn, [KURIER, BLATT])
    touch(conn, ids["kurier"])  # a 304: nothing new, but polled
    save_validators(conn, ids["blatt"], None, None)
    polled = conn.execute(
        "SELECT name FROM sources WHERE last_fetched_at IS NOT NULL ORDER BY name"
    ).fetchall()
    assert polled == [("blatt",), ("kurier",)]
