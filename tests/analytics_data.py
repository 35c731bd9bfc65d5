"""A database that looks like a few weeks of production, for the analysts' tests.

`seeded_database` runs the real pipeline once per test session over the seed site of
tests/newssite.py (real articles, stories and evidence links, dated July 2024); modules
clone it with `scratch_database`. `add_synthetic_newsroom`
then adds a few thousand rows around *now* with plain SQL: outlets, hourly runs with
their feed and article fetches, stories with articles in several languages, copy and
same-story links, failed items. Enough rows that the planner's choices (and so the
EXPLAIN checks) are the ones production sees, while staying fast (~2 s).

The synthetic newsroom is deterministic for a given seed and "now" and has a few
planted facts the tests check: the outlet `ticker-ost` failed its last three runs,
`lokal-echo` failed only two of them, and some stories are covered in two languages.
"""

from __future__ import annotations

import hashlib
import random
import secrets
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from conftest import write_config
from newssite import SiteMap, build_seed_site
from psycopg import sql
from psycopg.types.json import Jsonb
from pytest_httpserver import HTTPServer

# What v_daily_stories must hold, computed independently from the tables.
EXPECTED_DAILY = """
    SELECT (coalesce(a.published_at, a.fetched_at) AT TIME ZONE 'UTC')::date AS day,
           a.source_id, count(*) AS articles, count(DISTINCT a.story_id) AS stories
    FROM articles a GROUP BY 1, 2 ORDER BY 1, 2"""
ACTUAL_DAILY = "SELECT day, source_id, articles, stories FROM v_daily_stories ORDER BY 1, 2"

#: Outlets of the synthetic newsroom: name → language of most of its articles.
SYNTHETIC_SOURCES: dict[str, str] = {
    "tagesblatt": "de",
    "morgenpost-nord": "de",
    "rheinische-rundschau": "de",
    "alpenkurier": "de",
    "hauptstadt-echo": "de",
    "wire-dpa": "de",
    "wire-afp": "fr",
    "lokal-echo": "de",
    "ticker-ost": "de",
    "daily-ledger": "en",
    "world-wire": "en",
    "le-quotidien": "fr",
    "el-diario": "es",
    "gunluk-haber": "tr",
    "il-giornale-nord": "it",
}
#: Outlets that mostly republish agency copy.
WIRE_COPIERS = {"hauptstadt-echo", "lokal-echo", "alpenkurier"}
FAILING_SOURCE = "ticker-ost"  # its last three runs failed
FLAKY_SOURCE = "lokal-echo"  # two of its last three runs failed: not "failing for 3 runs"
RUNS = 72  # hourly, the last three days

# Common words per language, so stemming and stop words behave as in real text.
COMMON_WORDS: dict[str, str] = {
    "de": (
        "der die das und in den von zu mit sich des auf für ist im dem nicht ein eine als "
        "auch es an werden aus er hat dass sie nach wird bei einer um am sind noch wie "
        "Regierung Stadt Menschen Jahr Prozent Polizei Land Woche sagte Präsident Bericht"
    ),
    "en": (
        "the of and to in a is that for it as was with on by at from has have are "
        "government city people year percent police country week said president report"
    ),
    "fr": (
        "le la les de des et en un une est que pour dans qui sur par au avec "
        "gouvernement ville personnes année police pays semaine président rapport"
    ),
    "es": (
        "el la los las de del y en un una es que por para con se al "
        "gobierno ciudad personas año policía país semana presidente informe"
    ),
    "tr": (
        "ve bir bu da de için ile olarak daha çok en gibi "
        "hükümet şehir insanlar yıl yüzde polis ülke hafta başkan rapor"
    ),
    "it": (
        "il la di che e un una per in con del della non sono al "
        "governo città persone anno polizia paese settimana presidente rapporto"
    ),
}
# A few real topics, rare enough that a search for them is selective (as in production).
TOPIC_WORDS = ["Gipfel", "Astana", "Hochwasser", "Haushalt", "Streik", "Wahl", "Summit"]
SYLLABLES = "ka lo me tu ri sa ven dor bel mar tin gra fel hop nus wal ter zin pra kol"


@dataclass
class SyntheticNewsroom:
    """What add_synthetic_newsroom inserted (ids and counts the tests may check)."""

    sources: dict[str, int] = field(default_factory=dict)
    stories: int = 0
    articles: int = 0
    links: int = 0
    fetches: int = 0
    runs: int = 0
    failed_items: int = 0
    multilingual_stories: int = 0


@contextmanager
def scratch_database(admin_url: str, template: str) -> Iterator[str]:
    """A database cloned from `template`, dropped afterwards (module-scoped fixtures use
    it where the per-test `db_url` would repeat an expensive setup)."""
    name = f"news_ingest_analytics_{secrets.token_hex(4)}"
    url = _create_database(admin_url, name, template)
    try:
        yield url
    finally:
        _drop_database(admin_url, name)


def _create_database(admin_url: str, name: str, template: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )
    params = psycopg.conninfo.conninfo_to_dict(admin_url)
    params["dbname"] = name
    return psycopg.conninfo.make_conninfo(**{k: v for k, v in params.items() if v is not None})


def _drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@dataclass(frozen=True)
class SeededDatabase:
    """A database holding one real ingest run over the seed site: clone it, never write."""

    name: str
    site: SiteMap


# One seeded database per test session, shared by every module that asks (a real run
# takes tens of seconds with the story engine's models); conftest.py is not ours to
# give it a session fixture, so the cache lives in this module, imported once.
_seeded: dict[tuple[str, str], SeededDatabase] = {}


def seeded_database(
    config: pytest.Config, admin_url: str, template_db: str, workdir: Path
) -> SeededDatabase:
    """The session's seeded database, built on first use and dropped when pytest ends."""
    key = (admin_url, template_db)
    if key not in _seeded:
        name = f"news_ingest_seeded_{secrets.token_hex(4)}"
        url = _create_database(admin_url, name, template_db)
        config.add_cleanup(lambda: _drop_quietly(admin_url, name))
        _seeded[key] = SeededDatabase(name, ingested_seed_site(url, workdir))
    return _seeded[key]


def _drop_quietly(admin_url: str, name: str) -> None:
    # an embedded server may already be gone, and its data directory with it
    with suppress(psycopg.Error):
        _drop_database(admin_url, name)


def ingested_seed_site(db_url: str, workdir: Path) -> SiteMap:
    """Run the real pipeline once over the seed site, served by a server of our own (the
    session's httpserver is cleared between tests; this runs outside any one test)."""
    from pipeline.config import load_config
    from pipeline.ingest import run_cycle

    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        site = build_seed_site(server)
        config = load_config(write_config(workdir, site.feeds))
        report = run_cycle(config, url=db_url)
    finally:
        server.clear()
        server.stop()
    stats = report.stats()
    if stats["feeds_failed"] or stats["articles_failed"]:
        raise AssertionError(f"the seed run failed: {stats}")
    return site


def add_synthetic_newsroom(
    conn: psycopg.Connection[Any], *, stories: int = 1200, seed: int = 20240704
) -> SyntheticNewsroom:
    """Insert a deterministic month of news around now (see the module docstring).
    `conn` must be in autocommit mode (it ends with VACUUM ANALYZE)."""
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    result = SyntheticNewsroom()
    result.sources = _insert_sources(conn)
    outlets = dict(conn.execute("SELECT name, id FROM sources").fetchall())
    run_ids = _insert_runs(conn, rng, now)
    result.runs = len(run_ids)
    result.fetches += _insert_feed_fetches(conn, rng, now, run_ids, outlets)

    story_rows, article_rows, link_rows = _newsroom(conn, rng, now, stories, outlets, run_ids)
    _copy(conn, "stories", ("id", "title", "first_seen", "last_seen", "article_count"), story_rows)
    _copy(conn, "articles", ARTICLE_COLUMNS, article_rows)
    _copy(conn, "article_links", ("article_id", "matched_article_id", "layer", "score"), link_rows)
    for table in ("stories", "articles"):
        conn.execute(
            sql.SQL(
                "SELECT setval(pg_get_serial_sequence({t}, 'id'), (SELECT max(id) FROM {i}))"
            ).format(t=sql.Literal(table), i=sql.Identifier(table))
        )
    result.fetches += _insert_article_fetches(conn, rng, article_rows)
    result.failed_items = _insert_failed_items(conn, rng, now, outlets)
    result.stories, result.articles, result.links = (
        len(story_rows),
        len(article_rows),
        len(link_rows),
    )
    result.multilingual_stories = conn.execute(
        "SELECT count(*) FROM (SELECT story_id FROM articles GROUP BY story_id"
        " HAVING count(DISTINCT language) > 1) multi"
    ).fetchone()[0]  # type: ignore[index]
    # What autovacuum does in production: statistics, and the GIN index's pending list
    # merged (a bulk load leaves it long, which makes the planner shun the index).
    conn.execute("VACUUM ANALYZE")
    return result


ARTICLE_COLUMNS = (
    "id",
    "source_id",
    "url",
    "canonical_url",
    "guid",
    "title",
    "author",
    "published_at",
    "fetched_at",
    "language",
    "text",
    "text_hash",
    "word_count",
    "story_id",
    "run_id",
)


def _copy(
    conn: psycopg.Connection[Any], table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with conn.cursor().copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def _insert_sources(conn: psycopg.Connection[Any]) -> dict[str, int]:
    ids = {}
    for name, language in SYNTHETIC_SOURCES.items():
        row = conn.execute(
            "INSERT INTO sources (name, url, language) VALUES (%s, %s, %s) RETURNING id",
            (name, f"https://{name}.example/feed.xml", language),
        ).fetchone()
        assert row is not None
        ids[name] = row[0]
    return ids


def _insert_runs(conn: psycopg.Connection[Any], rng: random.Random, now: datetime) -> list[str]:
    """Hourly runs over the last three days, oldest first; ids sort by time."""
    rows = []
    for hour in range(RUNS, 0, -1):
        started = now - timedelta(hours=hour)
        run_id = f"airflow-synthetic-{started:%Y%m%dT%H%M%SZ}"
        stats = {
            "feeds": len(SYNTHETIC_SOURCES),
            "feeds_failed": 1 if hour <= 3 else 0,
            "articles_new": rng.randint(5, 40),
            "articles_copies": rng.randint(0, 15),
            "articles_same_story": rng.randint(0, 20),
            "articles_failed": rng.randint(0, 3),
            "seconds": round(rng.uniform(20, 120), 2),
        }
        finished = started + timedelta(seconds=stats["seconds"])
        rows.append((run_id, "airflow", started, finished, Jsonb(stats)))
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO runs (id, trigger, started_at, finished_at, stats)"
            " VALUES (%s, %s, %s, %s, %s)",
            rows,
        )
    return [row[0] for row in rows]


def _run_started(run_id: str) -> datetime:
    return datetime.strptime(run_id.rsplit("-", 1)[1], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def _insert_feed_fetches(
    conn: psycopg.Connection[Any],
    rng: random.Random,
    now: datetime,
    run_ids: list[str],
    outlets: dict[str, int],
) -> int:
    rows = []
    for position, run_id in enumerate(run_ids):
        runs_left = len(run_ids) - position  # 1 = the latest run
        started = _run_started(run_id)
        for name in SYNTHETIC_SOURCES:
            failing = (name == FAILING_SOURCE and runs_left <= 3) or (
                name == FLAKY_SOURCE and runs_left in (1, 3)
            )
            fetched = started + timedelta(seconds=rng.uniform(1, 30))
            if failing:
                outcome, status, error = "http_error", 503, "HTTP 503 Service Unavailable"
            elif rng.random() < 0.6:
                outcome, status, error = "not_modified", 304, None
            else:
                outcome, status, error = "ok", 200, None
            rows.append(
                (
                    run_id,
                    outlets[name],
                    "feed",
                    f"https://{name}.example/feed.xml",
                    fetched,
                    rng.randint(40, 900),
                    status,
                    outcome,
                    error,
                    rng.randint(10, 60) if outcome == "ok" else None,
                )
            )
    _copy(
        conn,
        "fetches",
        (
            "run_id",
            "source_id",
            "kind",
            "url",
            "fetched_at",
            "duration_ms",
            "http_status",
            "outcome",
            "error",
            "entries",
        ),
        rows,
    )
    return len(rows)


def _pseudo_word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES.split()) for _ in range(rng.randint(2, 4)))


def _newsroom(
    conn: psycopg.Connection[Any],
    rng: random.Random,
    now: datetime,
    n_stories: int,
    outlets: dict[str, int],
    run_ids: list[str],
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Stories with their articles and links, ids continuing after the real rows."""
    next_story = _max_id(conn, "stories") + 1
    next_article = _max_id(conn, "articles") + 1
    vocabulary = [_pseudo_word(rng) for _ in range(3000)]
    by_language: dict[str, list[str]] = {}
    for name, language in SYNTHETIC_SOURCES.items():
        by_language.setdefault(language, []).append(name)
    names = list(outlets)
    runs_started = [(_run_started(r), r) for r in run_ids]
    languages, weights = zip(
        *{"de": 70, "en": 14, "fr": 6, "es": 4, "tr": 3, "it": 3}.items(), strict=True
    )

    stories, articles, links = [], [], []
    for _ in range(n_stories):
        story_id, language = next_story, rng.choices(languages, weights)[0]
        next_story += 1
        start = now - timedelta(hours=rng.uniform(0.5, 30 * 24))
        topic = rng.sample(vocabulary, 6)
        if language == "de" and rng.random() < 0.04:
            topic.append(rng.choice(TOPIC_WORDS[:6]))
        headline = " ".join(w.capitalize() for w in topic[:4])
        size = min(1 + int(rng.expovariate(0.6)), 10)
        members = rng.sample(names, size)
        first_article = next_article
        # the opener comes first; the others follow within a day and a half
        offsets = [0.0, *sorted(rng.uniform(0, 36 * 60) for _ in members[1:])]
        times = []
        for position, (source, offset) in enumerate(zip(members, offsets, strict=True)):
            # one in eight multi-outlet stories is also covered in another language
            article_language = language
            if position == 1 and rng.random() < 0.125:
                article_language = "en" if language != "en" else "de"
            published = min(start + timedelta(minutes=offset), now)
            fetched = min(published + timedelta(minutes=rng.uniform(1, 20)), now)
            published_at = None if rng.random() < 0.05 else published
            times.append(published_at or fetched)
            words = _article_words(rng, article_language, topic, vocabulary)
            text = " ".join(words)
            slug = "-".join(topic[:3]).lower()
            url = f"https://{source}.example/{published:%Y/%m/%d}/{slug}-{next_article}.html"
            run_id = next((r for t, r in reversed(runs_started) if t <= fetched), None)
            articles.append(
                (
                    next_article,
                    outlets[source],
                    url,
                    url,
                    url,
                    f"{headline} ({source})" if position else headline,
                    rng.choice([None, "Redaktion", "A. Autor", "B. Berichter"]),
                    published_at,
                    fetched,
                    article_language,
                    text,
                    hashlib.sha256(text.encode()).hexdigest(),
                    len(words),
                    story_id,
                    run_id,
                )
            )
            if position:
                links.append(_link(rng, next_article, first_article, source))
            next_article += 1
        stories.append((story_id, headline, min(times), max(times), len(members)))
    return stories, articles, links


def _article_words(
    rng: random.Random, language: str, topic: list[str], vocabulary: list[str]
) -> list[str]:
    common = COMMON_WORDS[language].split()
    words = []
    for _ in range(rng.randint(120, 600)):
        roll = rng.random()
        if roll < 0.6:
            words.append(rng.choice(common))
        elif roll < 0.75:
            words.append(rng.choice(topic))
        else:
            words.append(rng.choice(vocabulary))
    return words


def _link(rng: random.Random, article_id: int, matched: int, source: str) -> tuple[Any, ...]:
    copy_share = 0.7 if source in WIRE_COPIERS else 0.25
    if rng.random() < copy_share:
        layer = rng.choices(["near_copy", "exact", "url"], [75, 20, 5])[0]
        score = 1.0 if layer != "near_copy" else round(rng.uniform(0.7, 0.99), 3)
    else:
        layer, score = "same_story", round(rng.uniform(0.5, 0.9), 3)
    return (article_id, matched, layer, score)


def _max_id(conn: psycopg.Connection[Any], table: str) -> int:
    row = conn.execute(
        sql.SQL("SELECT coalesce(max(id), 0) FROM {}").format(sql.Identifier(table))
    ).fetchone()
    assert row is not None
    return int(row[0])


def _insert_article_fetches(
    conn: psycopg.Connection[Any], rng: random.Random, article_rows: list[tuple[Any, ...]]
) -> int:
    rows = [
        (
            row[14],  # run_id
            row[1],  # source_id
            "article",
            row[2],  # url
            row[8],  # fetched_at
            rng.randint(80, 2500),
            200,
            rng.randint(20_000, 400_000),
            "ok",
        )
        for row in article_rows
    ]
    _copy(
        conn,
        "fetches",
        (
            "run_id",
            "source_id",
            "kind",
            "url",
            "fetched_at",
            "duration_ms",
            "http_status",
            "bytes",
            "outcome",
        ),
        rows,
    )
    return len(rows)


def _insert_failed_items(
    conn: psycopg.Connection[Any], rng: random.Random, now: datetime, outlets: dict[str, int]
) -> int:
    rows = []
    for n in range(40):
        source = rng.choice(list(SYNTHETIC_SOURCES))
        stage = rng.choice(["fetch", "extract"])
        attempts = rng.randint(1, 5)
        first = now - timedelta(hours=rng.uniform(1, 72))
        url = f"https://{source}.example/broken/{n}.html"
        error = (
            f"{url}: HTTP 404 Not Found"
            if stage == "fetch"
            else f"{url}: no article text found (42 words)"
        )
        rows.append(
            (
                outlets[source],
                url,
                url,
                stage,
                error,
                attempts,
                attempts < 5 and stage == "extract",
                first,
                first + timedelta(hours=attempts),
            )
        )
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO failed_items (source_id, url, canonical_url, stage, error, attempts,
                                         retryable, first_failed_at, last_failed_at)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)""",
            rows,
        )
    return len(rows)
