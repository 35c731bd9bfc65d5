"""Throughput of one ingest cycle (`run_cycle`, what `news-ingest run` does) against a local
news site, with baselines measured in the same run:

- fetch-only: the same pages downloaded sequentially with a bare httpx client;
- extract-only: trafilatura extraction of the same pages in-process, no network, no database;
- extract + encode, one process: a fresh interpreter doing exactly what one extraction
  worker does (`collect.extract_page`, then the story engine's `prepare`: fingerprint and
  embedding with the configured encoder), page after page, BLAS limited to one thread.
  Timed with its start-up (imports, encoder load), as the cycle is; the steady-state rate
  is printed too. `--blas-default-baseline` adds the same with BLAS threads left at the
  library's default (what the in-process path did before extraction workers).
- the same, plus the cycle's on-demand encoder work: with the `use+e5` cascade the store
  step embeds with e5 the articles whose story is uncertain and the members they are
  compared with; the cycle's process counts those texts (`encoders.computed`), and the
  baseline process then embeds as many page texts with e5, in as many calls. This "fair"
  baseline does the encoder work the cycle did; the first one only what a worker does.

`--encoder {use,e5,use+e5}` (default: the config's) sets `dedup.encoder` for the cycle and
both baselines. The baselines run after the cycle (they need its e5 count).

Usage:
    python bench/ingest_throughput.py [--articles 300] [--feeds 6] [--processes N]
        [--admin-url postgresql://postgres@127.0.0.1:5432/postgres]
        [--data ../shared/data/semeval22-dev]   # optional: real article texts for the pages
        [--encoder use|e5|use+e5]

Prints articles/s and per-article cost for each, the ratios full cycle / extract + encode
and full cycle / fair baseline (the issue 9 target: at least 1.6 on two cores), and the CPU
seconds the cycle spent in this process and in its worker processes. Creates and drops its
own database on the admin URL's server.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import pickle
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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

from pipeline.config import DedupSettings, Feed, parse_config  # noqa: E402
from pipeline.extract import ExtractionError, extract_article  # noqa: E402
from pipeline.ingest import run_cycle  # noqa: E402
from pipeline.ingest.workers import worker_count  # noqa: E402
from pipeline.stories import encoders  # noqa: E402
from pipeline.stories.model import encoders_of  # noqa: E402


def article_texts(data: Path | None, count: int) -> list[tuple[str, str, list[str]]]:
    """(language, title, paragraphs) for `count` distinct articles."""
    if data is not None:
        rows = [json.loads(line) for line in (data / "articles.jsonl").open(encoding="utf-8")]
        texts = []
        for row in rows:
            if len(texts) == count:
                break
            words = row["text"].split()
            title = row["title"] or " ".join(words[:8])
            paragraphs = [" ".join(words[i : i + 40]) for i in range(0, len(words), 40)]
            # A few texts are too short for extraction (a teaser to it), beyond the first 300.
            if extractable(row["lang"], title, paragraphs):
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


def page_article(
    i: int, language: str, title: str, paragraphs: list[str], published: datetime
) -> Article:
    return Article(
        slug=f"bench-{i}",
        language=language if language in ("de", "en") else "en",  # page templates
        title=title,
        published=published,
        author="Bench",
        section="Politik",
        paragraphs=tuple(paragraphs),
        story=f"bench-{i}",
    )


def extractable(language: str, title: str, paragraphs: list[str]) -> bool:
    article = page_article(0, language, title, paragraphs, datetime.now(UTC))
    try:
        extract_article(render_article_page(article, site_name="Outlet"), url="https://o.example/")
    except ExtractionError:
        return False
    return True


def publish(
    site: NewsSite, texts: list[tuple[str, str, list[str]]], feeds: int
) -> tuple[dict[str, str], list[str]]:
    """Pages and RSS feeds on the local site; returns feed name → URL and the page URLs."""
    now = datetime.now(UTC)
    items: dict[int, list[FeedItem]] = {f: [] for f in range(feeds)}
    pages = []
    for i, (language, title, paragraphs) in enumerate(texts):
        published = now - timedelta(minutes=i)
        article = page_article(i, language, title, paragraphs, published)
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


def extract_and_encode(pages_file: Path, encoder: str, extra: str) -> None:
    """The one-process baseline (run in a fresh interpreter): prints JSON timings. `extra`
    is "ENCODER:CALLS:TEXTS" (or empty): on-demand encoder work done after the pages."""
    started = time.perf_counter()
    from pipeline.feeds import FeedEntry
    from pipeline.http import FetchResult
    from pipeline.http.result import FetchOutcome
    from pipeline.ingest.collect import Extracted, extract_page
    from pipeline.stories.engine import DedupInput
    from pipeline.stories.factory import build_engine
    from pipeline.urls import canonical_url

    # Our own temporary file, written by the parent process of this benchmark.
    bodies: list[tuple[str, bytes]] = pickle.loads(pages_file.read_bytes())  # noqa: S301
    feed = Feed(name="bench", url=bodies[0][0])
    now = datetime.now(UTC)
    pages = [
        (
            FeedEntry(url, canonical_url(url), None, None, None, None),
            FetchResult(
                url,
                url,
                FetchOutcome.OK,
                200,
                body,
                "text/html",
                "utf-8",
                None,
                None,
                0,
                len(body),
                1,
                None,
            ),
        )
        for url, body in bodies
    ]
    engine = build_engine(DedupSettings(encoder=encoder))
    # The encoder loads on first use: load it before the pages, as a worker does.
    engine.prepare([DedupInput("https://warm.up/", None, "Warm up", "warm up", "en", now, now)])
    loaded = time.perf_counter()
    records = []
    for entry, result in pages:
        outcome = extract_page(entry, result, feed, now)
        if isinstance(outcome, Extracted):
            engine.prepare([outcome.record.story_input()])
            records.append(outcome.record)
    done = time.perf_counter()
    extra_load = extra_work = 0.0
    extra_cpu = time.process_time()
    if extra:
        name, calls, texts = extra.split(":")
        # Distinct texts (nothing memoised), as the cycle's were; the model loads first,
        # on its own clock, as it does on the cycle's first uncertain article.
        items = [(r.title, r.text) for r in records[: int(texts)]]
        encoders.embed_articles(name, [("Warm up", "warm up the encoder")])
        extra_loaded = time.perf_counter()
        extra_load = extra_loaded - done
        size = -(-len(items) // max(1, int(calls)))
        for i in range(0, len(items), size):
            encoders.embed_articles(name, items[i : i + size])
        extra_work = time.perf_counter() - extra_loaded
    extra_cpu = time.process_time() - extra_cpu
    print(
        json.dumps(
            {
                "load": loaded - started,
                "work": done - loaded,
                "extra_load": extra_load,
                "extra_work": extra_work,
                "extra_cpu": extra_cpu,
                "extracted": len(records),
            }
        )
    )


def baseline(
    bodies: list[tuple[str, bytes]], *, one_blas_thread: bool, encoder: str, extra: str = ""
) -> dict[str, Any]:
    """Run `extract_and_encode` in a fresh interpreter (its own BLAS setting)."""
    env = dict(os.environ)
    if one_blas_thread:
        env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    else:
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env.pop(name, None)
    with tempfile.NamedTemporaryFile(suffix=".pickle") as pages:
        pages.write(pickle.dumps(bodies))
        pages.flush()
        cpu_before = cpu_seconds()[1]
        started = time.perf_counter()
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--extract-and-encode",
                pages.name,
                "--encoder",
                encoder,
                "--extra",
                extra,
            ],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        wall = time.perf_counter() - started
        cpu = cpu_seconds()[1] - cpu_before
    timings = json.loads(out.strip().splitlines()[-1])
    timings["cpu"] = cpu
    assert timings["extracted"] == len(bodies), timings
    timings["wall"] = wall  # with interpreter start-up, as a worker process pays it
    return timings


def cpu_seconds() -> tuple[float, float]:
    """(this process, its waited-for children) user + system CPU seconds so far."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--feeds", type=int, default=6)
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument(
        "--processes", type=int, default=None, help="extraction workers (default: the config's)"
    )
    parser.add_argument("--blas-default-baseline", action="store_true")
    parser.add_argument(
        "--encoder",
        choices=("use", "e5", "use+e5"),
        default=DedupSettings().encoder,
        help="dedup.encoder of the cycle and the baselines (default: the config's, %(default)s)",
    )
    parser.add_argument("--extract-and-encode", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--extra", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.extract_and_encode:
        extract_and_encode(args.extract_and_encode, args.encoder, args.extra)
        return
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.basicConfig(format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("pipeline.ingest.workers").setLevel(logging.INFO)

    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    try:
        site = NewsSite(server)
        feed_urls, pages = publish(site, article_texts(args.data, args.articles), args.feeds)
        fetch_seconds = fetch_only(pages)
        extract_seconds = extract_only(pages)
        with httpx.Client(timeout=10) as client:
            bodies = [(url, client.get(url).content) for url in pages]

        raw = {
            "allow_private_networks": True,
            "fetch": {"max_articles_per_feed": args.articles, "respect_robots": True},
            "dedup": {"encoder": args.encoder},
            "feeds": [{"name": name, "url": feed} for name, feed in feed_urls.items()],
        }
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "feeds.yaml"
            path.write_text(yaml.safe_dump(raw), encoding="utf-8")
            config = parse_config(raw, path)
        processes = worker_count(config, args.processes)
        if args.processes is not None:
            config = config.model_copy(
                update={"extract": config.extract.model_copy(update={"processes": processes})}
            )
        with temporary_database(args.admin_url, "news_ingest_bench") as url:
            cpu_before = cpu_seconds()
            computed_before = encoders.computed()
            started = time.perf_counter()
            report = run_cycle(config, url=url)
            run_seconds = time.perf_counter() - started
            cpu_after = cpu_seconds()
            computed_after = encoders.computed()
            with psycopg.connect(url) as conn:
                # Split the cycle (the store step overlaps collection): until the last
                # article was staged (its fetch row is written with it), the span of the
                # store step, and what was left to store once collection had ended.
                collect_seconds, store_seconds, tail_seconds = conn.execute(
                    """SELECT extract(epoch FROM f.last - r.started_at),
                              extract(epoch FROM a.last - a.first),
                              extract(epoch FROM r.finished_at - f.last)
                       FROM news.runs r,
                            LATERAL (SELECT max(fetched_at) AS last FROM news.fetches
                                     WHERE run_id = r.id AND kind = 'article') f,
                            LATERAL (SELECT min(inserted_at) AS first,
                                            max(inserted_at) AS last
                                     FROM news.articles WHERE run_id = r.id) a"""
                ).fetchone()
        stats = report.stats()
        stored = stats["articles_new"] + stats["articles_copies"] + stats["articles_same_story"]
        assert stored == len(pages), f"stored {stored} of {len(pages)}: {stats}"

        # The cycle's on-demand encoder work in this process (the store step's e5 with the
        # cascade); the eager encoder's vectors are a worker's work, which the baseline does.
        _, on_demand = encoders_of(args.encoder)  # at most one: the cascade's e5
        extra_calls = extra_texts = 0
        if on_demand:
            after = computed_after.get(on_demand[0], (0, 0))
            before = computed_before.get(on_demand[0], (0, 0))
            extra_calls, extra_texts = after[0] - before[0], after[1] - before[1]
        extra = f"{on_demand[0]}:{extra_calls}:{extra_texts}" if extra_texts else ""
        # After the cycle (they need its count), both in fresh interpreters.
        one_process = baseline(bodies, one_blas_thread=True, encoder=args.encoder, extra=extra)
        blas_default = (
            baseline(bodies, one_blas_thread=False, encoder=args.encoder)
            if args.blas_default_baseline
            else None
        )
        # The first baseline without its extra part: what one worker does, page after page.
        fair_wall = one_process["wall"]
        extra_seconds = one_process["extra_load"] + one_process["extra_work"]
        worker_wall = fair_wall - extra_seconds

        n = len(pages)
        parent_cpu, workers_cpu = (
            after - before for after, before in zip(cpu_after, cpu_before, strict=True)
        )
        print(
            f"articles: {n} in {args.feeds} feeds ({'dev data' if args.data else 'fixture texts'}),"
            f" {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end,"
            f" encoder {args.encoder}"
        )
        print(f"{'stage':<44}{'seconds':>9}{'articles/s':>12}{'ms/article':>12}")
        rows = [
            ("fetch only (sequential httpx)", fetch_seconds),
            ("extract only (trafilatura)", extract_seconds),
            ("extract + encode, 1 process (BASELINE)", worker_wall),
            ("  of which start-up and encoder load", worker_wall - one_process["work"]),
            ("  of which pages (steady state)", one_process["work"]),
        ]
        if extra:
            rows += [
                (f"same + the cycle's {extra_texts} e5 texts (FAIR)", fair_wall),
                ("  of which e5 load", one_process["extra_load"]),
                (f"  of which e5 texts ({extra_calls} calls)", one_process["extra_work"]),
            ]
        if blas_default:
            rows.append(("same, BLAS threads at the default", blas_default["wall"]))
        rows += [
            (f"full cycle (run_cycle, {processes} workers)", run_seconds),
            ("  of which fetch + extract + stage", float(collect_seconds)),
            ("  of which store (story engine)", float(store_seconds)),
            ("  of which store after collection, finish", float(tail_seconds)),
        ]
        for label, seconds in rows:
            print(f"{label:<44}{seconds:>9.2f}{n / seconds:>12.1f}{1000 * seconds / n:>12.1f}")
        print(
            f"full cycle / baseline, articles/s: {worker_wall / run_seconds:.2f}x "
            f"(target >= 1.6x); against the baseline's steady state: "
            f"{one_process['work'] / run_seconds:.2f}x"
        )
        print(
            f"full cycle / fair baseline (the same encoder work: {extra_texts} on-demand "
            f"texts), articles/s: {fair_wall / run_seconds:.2f}x (target >= 1.6x)"
        )
        worker_cpu = one_process["cpu"] - one_process["extra_cpu"]
        print(
            f"cycle CPU seconds: this process {parent_cpu:.1f}, worker processes "
            f"{workers_cpu:.1f} (PostgreSQL's own not counted); baseline process "
            f"{worker_cpu:.1f}, fair baseline process {one_process['cpu']:.1f}"
        )
        # On an idle machine the one-process baseline runs at its CPU time, and the cycle
        # cannot beat its CPU time spread over every core: the ratio's ceiling here.
        cores = os.cpu_count() or 1
        spread = (parent_cpu + workers_cpu) / cores
        print(
            f"ceiling on an idle {cores}-core machine from CPU time (baseline CPU / (cycle "
            f"CPU / {cores})): {worker_cpu / spread:.2f}x, less PostgreSQL's share; "
            f"against the fair baseline: {one_process['cpu'] / spread:.2f}x"
        )
        print(f"run stats: {stats}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
