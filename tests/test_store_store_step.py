"""pipeline.store.store_step: staged articles into news.articles and their stories; a
staged row PostgreSQL refuses is quarantined, never a stalled batch."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg

from pipeline.config import DedupSettings
from pipeline.record import ArticleRecord
from pipeline.store.staging import stage_article
from pipeline.store.store_step import store_staged
from pipeline.stories.factory import build_engine

TEXT = (
    "Der Stadtrat beschloss am Abend den Ausbau der Radwege im Ortsteil Nord nach einer "
    "langen Sitzung. Die Kosten von rund zwei Millionen Euro trägt zum großen Teil das Land. "
)


def _stage(
    conn: psycopg.Connection,
    source_id: int,
    url: str,
    guid: str,
    text: str,
    published: datetime = datetime(2026, 1, 5, tzinfo=UTC),
) -> None:
    record = ArticleRecord(
        canonical_url=url,
        url=url,
        declared_url=None,
        guid=guid,
        title="Titel",
        author=None,
        sitename=None,
        description=None,
        published_at=published,
        fetched_at=datetime.now(UTC),
        language="de",
        text=text,
    )
    stage_article(conn, record, source_id=source_id, features=None, run_id=None)


def test_a_row_the_database_refuses_is_quarantined_and_the_batch_goes_on(
    conn: psycopg.Connection,
) -> None:
    (source_id,) = conn.execute(
        "INSERT INTO sources (name, url) VALUES ('s', 'https://s.example/') RETURNING id"
    ).fetchone()
    # Staged directly (the feed parser would have cut it): a guid the btree index refuses.
    incompressible = "".join(chr(0x4E00 + (n * 7919) % 20000) for n in range(1000))
    _stage(conn, source_id, "https://s.example/bad", incompressible, TEXT)
    _stage(conn, source_id, "https://s.example/good", "ok", TEXT + "Ein anderer Schluss.")
    engine = build_engine(DedupSettings(embeddings=False))

    report = store_staged(conn, engine, schema="news")

    assert set(report.quarantined) == {"https://s.example/bad"}
    assert "index row size" in report.quarantined["https://s.example/bad"]
    assert conn.execute("SELECT url FROM articles").fetchall() == [("https://s.example/good",)]
    assert conn.execute("SELECT count(*) FROM staged_articles").fetchone() == (0,)
    stage, retryable, error = conn.execute(
        "SELECT stage, retryable, error FROM failed_items WHERE canonical_url = %s",
        ("https://s.example/bad",),
    ).fetchone()
    assert (stage, retryable) == ("store", False)  # the same data fails the same way
    assert "ProgramLimitExceeded" in error
    # The next store step is not blocked by anything left behind.
    _stage(conn, source_id, "https://s.example/later", "later", TEXT + "Noch ein Schluss.")
    assert store_staged(conn, engine, schema="news").quarantined == {}


def test_before_stores_only_what_was_published_earlier_earliest_first(
    conn: psycopg.Connection,
) -> None:
    (source_id,) = conn.execute(
        "INSERT INTO sources (name, url) VALUES ('s', 'https://s.example/') RETURNING id"
    ).fetchone()
    days = {"late": 9, "early": 3, "middle": 6}
    for slug, day in days.items():  # staged out of order
        _stage(
            conn,
            source_id,
            f"https://s.example/{slug}",
            slug,
            f"{TEXT} Tag {day}, Meldung {slug}.",
            published=datetime(2026, 1, day, tzinfo=UTC),
        )
    engine = build_engine(DedupSettings(embeddings=False))

    store_staged(conn, engine, schema="news", before=datetime(2026, 1, 6, tzinfo=UTC))
    assert conn.execute("SELECT url FROM articles ORDER BY id").fetchall() == [
        ("https://s.example/early",)
    ]  # 2026-01-06 itself is not before the bound
    store_staged(conn, engine, schema="news")
    assert [url for (url,) in conn.execute("SELECT url FROM articles ORDER BY id")] == [
        "https://s.example/early",
        "https://s.example/middle",
        "https://s.example/late",
    ]
    assert conn.execute("SELECT count(*) FROM staged_articles").fetchone() == (0,)
