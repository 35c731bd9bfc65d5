"""The `news-ingest stories` command: recent stories and their articles, in a terminal."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import psycopg
import typer

from ..store import db
from .common import SchemaOption, err, out


def _duration(value: str) -> str:
    """Validate --since while typer parses, so a bad value is a usage error (exit 2)."""
    from ..analytics.listings import parse_duration

    try:
        parse_duration(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    return value


def stories(
    since: Annotated[
        str,
        typer.Option(
            help="How far back: stories with an article published or fetched this recently "
            "(30m, 24h, 7d, 2w).",
            callback=_duration,
        ),
    ] = "24h",
    source: Annotated[
        str | None, typer.Option(help="Only stories with an article from this feed (its name).")
    ] = None,
    search: Annotated[
        str | None,
        typer.Option(
            help="Only stories with an article matching this full-text search, in the "
            'article\'s language (web-search syntax: words, "a phrase", or, -word).'
        ),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many stories.")] = 20,
    schema: SchemaOption = db.DEFAULT_SCHEMA,
) -> None:
    """Show recent stories, newest first, each with its articles (source, title, URL)."""
    from ..analytics.listings import parse_duration, recent_stories, render, source_names

    start = datetime.now(UTC) - parse_duration(since)
    try:
        with db.connection(schema=schema, autocommit=True) as conn:
            if source is not None and source not in (names := source_names(conn)):
                err.print(
                    f"no feed named {source!r} in schema {schema}; "
                    f"known: {', '.join(names) or '(none)'}",
                    highlight=False,
                )
                raise typer.Exit(1)
            listing = recent_stories(
                conn, since=start, source=source, search=search or None, limit=limit
            )
    except (
        psycopg.errors.UndefinedTable,
        psycopg.errors.UndefinedColumn,
        psycopg.errors.UndefinedFunction,
    ) as exc:
        # A database the pipeline never migrated (or migrated before the analysts' views).
        err.print(
            f"schema {schema} lacks the story tables or views ({exc.diag.message_primary}): "
            "run `news-ingest migrate`",
            highlight=False,
        )
        raise typer.Exit(1) from None
    if not listing.stories:
        filters = [f"source {source}" if source else "", f"search {search!r}" if search else ""]
        detail = " and ".join(f for f in filters if f)
        out.print(
            f"No stories active in the last {since}{' with ' + detail if detail else ''}.",
            highlight=False,
        )
        return
    out.print(render(listing, window=since), highlight=False)
