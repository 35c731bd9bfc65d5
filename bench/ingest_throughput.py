"""Throughput of one ingest cycle (`run_cycle`, what `news-ingest run` does) against a local
news site, with two baselines measured in the same run:

- fetch-only: the same pages downloaded sequentially with a bare httpx client;
- extract-only: trafilatura extraction of the same pages in-process, no network, no database.

Usage:
    python bench/ingest_throughput.py [--articles 300] [--feeds 6]
        [--admin-url postgresql://postgres@127.0.0.1:5432/postgres]
        [--data ../shared/data/semeval22-dev]   # optional: real article texts for the pages

Prints articles/s and per-article cost for each, and the ratios. Creates and drops its own
database on the admin URL's server.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from benchdb import DEFAULT_ADMIN_URL, temporary_database  # noqa: E402
from newssite import (  # noqa: E402  (tests/ is not a package on the path by default)
    Article,
    FeedItem,
    NewsSite,
    load_fixture_articles,
    load_seed,
    render_article_page,
    render_rss,
)
from pytest_httpserver import HTTPServer  # noqa: E402

from pipeline.config import parse_config  # noqa: E402
from pipeline.extract import extract_article  # noqa: E402
from pipeline.ingest import run_cycle  # noqa: E402


def article_texts(data: Path | None, count: int) -> list[tuple[str, str, list[str]]]:
    """(language, title, paragraphs) for `count` distinct articles."""
    if data is not None:
        rows = [json.loads(line) for line in (data / "articles.jsonl").open(encoding="utf-8")]
        texts = []
        for row in rows[:count]:
            words = row["text"].split()
            title = row["title"] or " ".join(words[:8])
            paragraphs = [" ".join(words[i : i + 40]) for i in range(0, len(words), 40)]
            texts.append((row["lang"], title, paragraphs))
        return texts
    base = [*load_fixture_articles(), load_seed("000"), load_seed("001")]
    texts = []
    for i in range(count):
        article = base[i % len(base)]
        # Distinct articles (nothing for the copy layers to fold): the template's words,
        # shuffled per article, in sentences of the template's rhythm.
        rng = random.Random(i)
        words = " ".join(article.paragraphs).split()
        paragraphs = []
        for paragraph in article.paragraphs:
            n = len(paragraph.split())
            paragraphs.append(" ".join(rng.choice(words) for _ in range(n)).capitalize() + ".")
        texts.append((article.language, f"{article.title} #{i}", paragraphs))
    return texts


def publish(
    site: NewsSite, texts: list[tuple[str, str, list[str]]], feeds: int
) -> tuple[dict[str, str], list[str]]:
    """Pages and RSS feeds on the local site; returns feed name → URL and the page URLs."""
    now = datetime.now(UTC)
    items: dict[int, list[FeedItem]] = {f: [] for f in range(feeds)}
    pages = []
    for i, (language, title, paragraphs) in enumerate(texts):
        published = now - timedelta(minutes=i)
        article = Article(
            slug=f"bench-{i}",
            language=language if language in ("de", "en") else "en",  # page templates
            title=title,
            published=published,
            author="Bench",
            section="Politik",
            paragraphs=tuple(paragraphs),
            story=f"bench-{i}",
        )
        path = f"/outlet{i % feeds}/article-{i}.html"
        url = site.add_page(path, render_article_page(article, site_name=f"Outlet {i % feeds}"))
        pages.append(url)
        items[i % feeds].append(
            FeedItem(
                url=url, title=title, guid=url, published=published, summary=paragraphs[0][:200]
            )
        )
    feed_urls = {}
    for f, feed_items in items.items():
        feed_urls[f"outlet{f}"] = site.add_feed(
            f"/outlet{f}/rss.xml",
            render_rss(feed_items, title=f"Outlet {f}", link=site.url(f"/outlet{f}/")),
        )
    return feed_urls, pages


def fetch_only(pages: list[str]) -> float:
    started = time.perf_counter()
    with httpx.Client(timeout=10) as client:
        for url in pages:
            client.get(url).raise_for_status()
    return time.perf_counter() - started


def extract_only(pages: list[str]) -> float:
    with httpx.Client(timeout=10) as client:
        bodies = [(url, client.get(url).content) for url in pages]
    started = time.perf_counter()
    for url, body in bodies:
        extract_article(body, url=url)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--feeds", type=int, default=6)
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--data", type=Path, default=None)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    try:
        site = NewsSite(server)
        feed_urls, pages = publish(site, article_texts(args.data, args.articles), args.feeds)
        fetch_seconds = fetch_only(pages)
        extract_seconds = extract_only(pages)

        raw = {
            "allow_private_networks": True,
            "fetch": {"max_articles_per_feed": args.articles, "respect_robots": True},
            "feeds": [{"name": name, "url": feed} for name, feed in feed_urls.items()],
        }
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "feeds.yaml"
            path.write_text(yaml.safe_dump(raw), encoding="utf-8")
            config = parse_config(raw, path)
        with temporary_database(args.admin_url, "news_ingest_bench") as url:
            started = time.perf_counter()
            report = run_cycle(config, url=url)
            run_seconds = time.perf_counter() - started
            with psycopg.connect(url) as conn:
                # Split the cycle: until the first article is stored, then the store step.
                collect_seconds, store_seconds = conn.execute(
                    """SELECT extract(epoch FROM min(a.inserted_at) - r.started_at),
                              extract(epoch FROM max(a.inserted_at) - min(a.inserted_at))
                       FROM news.articles a JOIN news.runs r ON r.id = a.run_id
                       GROUP BY r.started_at"""
                ).fetchone()
        stats = report.stats()
        stored = stats["articles_new"] + stats["articles_copies"] + stats["articles_same_story"]
        assert stored == len(pages), f"stored {stored} of {len(pages)}: {stats}"

        n = len(pages)
        print(
            f"articles: {n} in {args.feeds} feeds ({'dev data' if args.data else 'fixture texts'})"
        )
        print(f"{'stage':<34}{'seconds':>9}{'articles/s':>12}{'ms/article':>12}")
        for label, seconds in (
            ("fetch only (sequential httpx)", fetch_seconds),
            ("extract only (trafilatura)", extract_seconds),
            ("full cycle (run_cycle)", run_seconds),
            ("  of which fetch + extract + stage", float(collect_seconds)),
            ("  of which store (story engine)", float(store_seconds)),
        ):
            print(f"{label:<34}{seconds:>9.2f}{n / seconds:>12.1f}{1000 * seconds / n:>12.1f}")
        print(f"full cycle / extract only: {run_seconds / extract_seconds:.2f}x")
        print(f"full cycle / fetch only:   {run_seconds / fetch_seconds:.2f}x")
        print(f"run stats: {stats}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
