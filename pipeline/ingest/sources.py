"""news.sources: the configured feeds as rows, with their conditional-GET state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from ..config import Feed


@dataclass(frozen=True)
class SourceState:
    id: int
    name: str
    etag: str | None
    last_modified: str | None


def sync_sources(conn: psycopg.Connection[Any], feeds: list[Feed]) -> dict[str, int]:
    """Upsert every configured feed; feeds no longer in the config are disabled, not deleted
    (their articles keep their source). Returns name → source id."""
    ids: dict[str, int] = {}
    with conn.transaction():
        for feed in feeds:
            row = conn.execute(
                """INSERT INTO sources (name, url, language, enabled)
                   VALUES (%(name)s, %(url)s, %(language)s, %(enabled)s)
                   ON CONFLICT (name) DO UPDATE SET
                       url = EXCLUDED.url, language = EXCLUDED.language,
                       enabled = EXCLUDED.enabled,
                       -- a new URL is a new document: forget the old validators
                       etag = CASE WHEN sources.url = EXCLUDED.url THEN sources.etag END,
                       last_modified = CASE WHEN sources.url = EXCLUDED.url
                                            THEN sources.last_modified END,
                       updated_at = now()
                   RETURNING id""",
                feed.model_dump(),
            ).fetchone()
            assert row is not None
            ids[feed.name] = row[0]
        conn.execute(
            "UPDATE sources SET enabled = false, updated_at = now()"
            " WHERE enabled AND NOT (name = ANY(%s))",
            ([feed.name for feed in feeds],),
        )
    return ids


def source_state(conn: psycopg.Connection[Any], name: str) -> SourceState:
    row = conn.execute(
        "SELECT id, name, etag, last_modified FROM sources WHERE name = %s", (name,)
    ).fetchone()
    if row is None:
        raise LookupError(f"feed {name!r} is not in news.sources; sync the config first")
    return SourceState(*row)


def save_validators(
    conn: psycopg.Connection[Any], source_id: int, etag: str | None, last_modified: str | None
) -> None:
    """Remember the validators of a feed document we parsed successfully."""
    conn.execute(
        "UPDATE sources SET etag = %s, last_modified = %s, last_fetched_at = now(),"
        " updated_at = now() WHERE id = %s",
        (etag, last_modified, source_id),
    )


def touch(conn: psycopg.Connection[Any], source_id: int) -> None:
    conn.execute("UPDATE sources SET last_fetched_at = now() WHERE id = %s", (source_id,))
