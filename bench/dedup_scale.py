"""Story-assignment latency against 10k, 100k and 1M stored articles in PostgreSQL.

Builds one database and grows it through the sizes: synthetic stored articles with the
full engine state (articles, stories, profiles, USE vectors, candidate postings, term
statistics, near-copy signatures and LSH buckets), written with COPY and vacuumed. At
each size it times the store step's per-article work - `engine.match` (url → exact →
near-copy → same-story) + article insert + `engine.remember` - for new articles (a third
near-copies of stored ones, a third same-story reports, a third new), each in a
transaction that is rolled back so the size stays fixed. Prints p50/p95/p99 per size and
the 1M/10k growth ratio, and per phase (each state.py query the layers run, the profile
build, the article insert, the `remember` writes, the rest of `match` in Python) its
p50/p95 per article: what grows with the corpus.

Synthetic corpus: 6-letter pseudo-words with Zipf frequencies, 10,000 articles a day (1M
articles span 100 days: the ±7-day window sees ~14% of them), stories of 1-5 reports that
share terms and an embedding direction.

Usage:
    python bench/dedup_scale.py [--sizes 10000,100000,1000000] [--queries 300]
        [--admin-url postgresql://postgres@127.0.0.1:5432/postgres] [--keep-db NAME]
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import statistics
import string
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from psycopg import sql

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchdb import DEFAULT_ADMIN_URL, temporary_database  # noqa: E402

from pipeline.config import DedupSettings  # noqa: E402
from pipeline.store import db, migrations  # noqa: E402
from pipeline.stories import copies, encoders, similarity, state  # noqa: E402
from pipeline.stories import profile as prof  # noqa: E402
from pipeline.stories.engine import DedupInput, LayeredEngine  # noqa: E402
from pipeline.textnorm import text_hash  # noqa: E402

ARTICLES_PER_DAY = 10_000
VOCABULARY = 200_000
WORDS_PER_ARTICLE = 180
EPOCH = date(2026, 1, 1)
# The database-side cost at scale: USE vectors (prepared before the store step). The e5
# cascade's on-demand embedding is model time, not a database cost that grows with the
# corpus; bench/cluster_speed.py measures it.
SETTINGS = DedupSettings(encoder="use")


# Stories of 1, 2, 3, 4 and 5 reports, repeating: article n's story is known without state.
STORY_SIZES = (1, 2, 3, 4, 5)
BLOCK = sum(STORY_SIZES)


def story_start(number: int) -> int:
    offset = number % BLOCK
    start = number - offset
    for size in STORY_SIZES:
        if offset < size:
            return start
        offset -= size
        start += size
    raise AssertionError("unreachable")


@dataclass
class Synthetic:
    """A reproducible synthetic news stream with random access: article n depends only on
    (seed, n) and its story on (seed, story start)."""

    seed: int = 7

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed)
        letters = np.array(list(string.ascii_lowercase))
        self.words = ["".join(w) for w in rng.choice(letters, size=(VOCABULARY, 6))]
        self.index = {word: i for i, word in enumerate(self.words)}
        ranks = np.arange(1, VOCABULARY + 1)
        self.word_p = (1.0 / ranks) / (1.0 / ranks).sum()
        self.cdf = np.cumsum(self.word_p)
        self.rng = np.random.default_rng(self.seed + 1)  # for query-side randomness

    def zipf_words(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.minimum(np.searchsorted(self.cdf, rng.random(n)), VOCABULARY - 1)

    def story(self, number: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """A story's core words and embedding direction (a fresh story when number is None)."""
        rng = self.rng if number is None else np.random.default_rng((self.seed, number, 1))
        core = self.zipf_words(rng, 25)
        direction = rng.standard_normal(prof.EMBEDDING_DIM).astype(np.float32)
        return core, direction / np.linalg.norm(direction)

    def article(
        self, core: np.ndarray, direction: np.ndarray, number: int | None = None
    ) -> tuple[str, np.ndarray]:
        rng = self.rng if number is None else np.random.default_rng((self.seed, number, 2))
        third = WORDS_PER_ARTICLE // 2  # half of a report is its story's own words
        words = np.concatenate(
            [rng.choice(core, size=third), self.zipf_words(rng, WORDS_PER_ARTICLE - third)]
        )
        rng.shuffle(words)
        text = " ".join(self.words[i] for i in words)
        noise = rng.standard_normal(prof.EMBEDDING_DIM).astype(np.float32)
        vector = direction + 0.6 * noise / np.linalg.norm(noise)  # reports: cosine ~0.7
        return text, vector / np.linalg.norm(vector)


def stream(
    synthetic: Synthetic, start: int, count: int
) -> Iterator[tuple[int, int, str, np.ndarray]]:
    """(article number, story number, text, embedding) for articles start..start+count."""
    for number in range(start, start + count):
        first = story_start(number)
        text, vector = synthetic.article(*synthetic.story(first), number)
        yield number, first, text, vector


def day_of(number: int) -> date:
    return EPOCH + timedelta(days=number // ARTICLES_PER_DAY)


def load(
    conn: psycopg.Connection[Any], synthetic: Synthetic, start: int, count: int, replay: set[int]
) -> None:
    """COPY `count` stored articles (with their engine state) numbered from `start`.

    Profiles are generated directly (tf-idf over the pseudo-words, idf from their Zipf
    frequency) rather than through `build_profile`, which would make loading 1M articles
    take hours; the query side uses the real code. Articles the queries replay (`replay`)
    get their real text and MinHash; the others a random signature, which is what an
    unrelated article's signature looks like to the near-copy index.
    """
    idf_of = -np.log(synthetic.word_p)
    planes = similarity._lsh_planes(prof.EMBEDDING_DIM)
    rows: dict[str, list[tuple[Any, ...]]] = {
        k: []
        for k in ("stories", "articles", "profiles", "vectors", "postings", "signatures", "buckets")
    }
    terms_df: dict[str, int] = {}
    batch = list(stream(synthetic, start, count))
    vectors = np.stack([vector for _, _, _, vector in batch])
    bits = (vectors @ planes) > 0
    band_values = (
        bits.reshape(len(batch), similarity.LSH_BANDS, similarity.LSH_BITS)
        * (1 << np.arange(similarity.LSH_BITS))
    ).sum(axis=2)
    for row_index, (number, story_number, text, vector) in enumerate(batch):
        article_id, story_id, published = number + 1, story_number + 1, day_of(number)
        ids, counts = np.unique([synthetic.index[w] for w in text.split()], return_counts=True)
        weights = (1 + np.log(counts)) * idf_of[ids]
        top = np.argsort(-weights)[: prof.MAX_TERMS]
        norm = float(np.linalg.norm(weights[top]))
        terms = {synthetic.words[ids[t]]: round(float(weights[t]) / norm, 4) for t in top}
        for term in terms:
            terms_df[term] = terms_df.get(term, 0) + 1
        ranked = sorted(terms, key=lambda t: (-terms[t], t))[: similarity.CANDIDATE_TERMS]
        keys = [f"t:{t}" for t in ranked] + [
            f"lsh:{band}:{int(value):x}" for band, value in enumerate(band_values[row_index])
        ]
        if number in replay:
            fp = copies.fingerprint(
                text, shingle_size=SETTINGS.shingle_size, num_perm=SETTINGS.num_perm
            )
            stored_text = text
        else:
            signature = synthetic.rng.integers(0, 2**32, SETTINGS.num_perm, dtype=np.uint64)
            fp = copies.CopyFingerprint(signature.astype(np.uint32), WORDS_PER_ARTICLE)
            stored_text = " ".join(text.split()[:30])
        if story_number == number:
            rows["stories"].append((story_id, published, published, 1))
        url = f"https://bench.example/{number}"
        rows["articles"].append(
            (
                article_id,
                1,
                url,
                url,
                published,
                stored_text,
                text_hash(text),
                WORDS_PER_ARTICLE,
                story_id,
                published,
            )
        )
        term_vector = state.TermVector.of(terms)
        rows["profiles"].append(
            (
                article_id,
                story_id,
                "xx",
                published,
                term_vector.hashes.tobytes(),
                term_vector.weights.tobytes(),
            )
        )
        rows["vectors"].append((article_id, "use", encoders.to_bytes(vector)))
        rows["postings"].extend(
            (h, published, article_id) for h in {state.key_hash(k) for k in keys}
        )
        rows["signatures"].append((article_id, fp.to_bytes(), fp.shingle_count))
        rows["buckets"].extend((key, article_id) for key in set(copies.lsh_keys(fp)))
    with conn.cursor() as cur:
        _copy(
            cur,
            "COPY stories (id, first_seen, last_seen, article_count) FROM STDIN",
            rows["stories"],
        )
        _copy(
            cur,
            "COPY articles (id, source_id, url, canonical_url, fetched_at, text, text_hash,"
            " word_count, story_id, published_at) FROM STDIN",
            rows["articles"],
        )
        _copy(
            cur,
            "COPY story_profiles (article_id, story_id, language, published, term_hashes,"
            " term_weights) FROM STDIN",
            rows["profiles"],
        )
        _copy(cur, "COPY story_vectors (article_id, encoder, vector) FROM STDIN", rows["vectors"])
        _copy(cur, "COPY story_postings (key, published, article_id) FROM STDIN", rows["postings"])
        _copy(
            cur,
            "COPY near_copy_signatures (article_id, minhash, shingles) FROM STDIN",
            rows["signatures"],
        )
        _copy(cur, "COPY near_copy_buckets (bucket, article_id) FROM STDIN", rows["buckets"])
        cur.execute(
            """INSERT INTO story_terms (term, df) SELECT * FROM unnest(%s::text[], %s::int[])
               ON CONFLICT (term) DO UPDATE SET df = story_terms.df + EXCLUDED.df""",
            (list(terms_df), list(terms_df.values())),
        )
        cur.execute("UPDATE story_corpus SET doc_count = doc_count + %s", (count,))
        # Members of a story are consecutive; fix the counts of multi-article stories.
        cur.execute(
            """UPDATE stories s SET article_count = c.n FROM
               (SELECT story_id, count(*) n FROM articles WHERE id > %s GROUP BY story_id) c
               WHERE s.id = c.story_id""",
            (start,),
        )
        for table in ("articles", "stories"):
            cur.execute(
                sql.SQL(
                    "SELECT setval(pg_get_serial_sequence({t}, 'id'), max(id)) FROM {i}"
                ).format(t=sql.Literal(table), i=sql.Identifier(table))
            )
    conn.commit()


def vacuum(conn: psycopg.Connection[Any]) -> None:
    """VACUUM (ANALYZE) the loaded tables: the state autovacuum keeps a production database
    in (migration 0012 keeps story_postings' visibility map current, which the candidate
    lookup's index-only scans rely on); a CI server may run without autovacuum. Without it,
    every posting read costs a heap page visit, a cost that grows with the corpus."""
    conn.commit()
    conn.autocommit = True
    try:
        conn.execute("VACUUM (ANALYZE)")
    finally:
        conn.autocommit = False


def vacuumed(conn: psycopg.Connection[Any]) -> bool:
    """Whether most of story_postings is all-visible (VACUUM ran since it was loaded)."""
    pages, visible = conn.execute(
        "SELECT relpages, relallvisible FROM pg_class WHERE oid = 'story_postings'::regclass"
    ).fetchone()
    return visible >= 0.9 * pages


def _copy(cur: psycopg.Cursor[Any], statement: str, rows: list[tuple[Any, ...]]) -> None:
    with cur.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def queries(
    synthetic: Synthetic, stored: int, count: int
) -> list[tuple[DedupInput, dict[str, Any]]]:
    """New articles: a third near-copies of stored ones, a third same-story reports of
    stored stories, a third unrelated; dated within the stored period's last week."""
    engine = LayeredEngine(SETTINGS)
    items = []
    replay = list(stream(synthetic, max(0, stored - 3 * count), 3 * count))
    for i in range(count):
        kind = i % 3
        _, story_number, text, vector = replay[(i * 7) % len(replay)]
        if kind == 0:  # near-copy: the stored text with a changed sentence
            words = text.split()
            words[5:15] = synthetic.words[:10]
            text = " ".join(words)
        elif kind == 1:  # another report of the same story
            text, vector = synthetic.article(*synthetic.story(story_number))
        else:
            text, vector = synthetic.article(*synthetic.story())
        published = datetime.combine(day_of(stored - 1), datetime.min.time(), tzinfo=UTC)
        item = DedupInput(
            f"https://bench.example/new/{secrets.token_hex(6)}",
            None,
            None,
            text,
            "xx",
            published,
            published,
        )
        features = engine._copy_features(item)
        features["vectors"] = {"use": base64.b64encode(encoders.to_bytes(vector)).decode()}
        features["terms"] = engine.same_story.terms(item)  # prepared off the clock, as workers do
        items.append((item, features))
    return items


# Phases timed inside `engine.match`: the state.py reads the layers run and the weighing of
# the prepared term draft against the corpus (TermDraft.complete), found by name so the
# bench keeps working when a function moves or goes; the rest of `match` is "match (python)".
MATCH_PHASES = (
    (state, "url_candidates"),
    (state, "same_text"),
    (state, "near_copy_candidates"),
    (state, "load_term_stats"),
    (prof.TermDraft, "complete"),
    (state, "candidate_articles"),
    (state, "story_members"),
    (state, "candidate_members"),
    (state, "load_vectors"),
    (state, "article_texts"),
)


class Phases:
    """Milliseconds per phase of the article being timed (`article`), one dict per article."""

    def __init__(self) -> None:
        self.articles: list[dict[str, float]] = []
        self.article: dict[str, float] = {}

    def add(self, phase: str, ms: float) -> None:
        self.article[phase] = self.article.get(phase, 0.0) + ms

    @contextmanager
    def timing(self, phase: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(phase, (time.perf_counter() - started) * 1000)

    def wrapped(self, phase: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.timing(phase):
                return function(*args, **kwargs)

        return timed

    @contextmanager
    def installed(self) -> Iterator[None]:
        """Wrap the match phases' functions for the duration (module attributes, which is
        how the layers call them)."""
        originals = [(m, n, getattr(m, n)) for m, n in MATCH_PHASES if hasattr(m, n)]
        for module, name, function in originals:
            setattr(module, name, self.wrapped(name, function))
        try:
            yield
        finally:
            for module, name, function in originals:
                setattr(module, name, function)

    def report(self) -> str:
        names = [n for _, n in MATCH_PHASES] + ["match (python)", "insert", "remember"]
        lines = []
        for name in names:
            values = [a.get(name, 0.0) for a in self.articles]
            if not any(values):
                continue
            q = statistics.quantiles(values, n=100)
            lines.append(
                f"    {name:<22} mean {statistics.fmean(values):5.2f}  "
                f"p50 {q[49]:5.2f}  p95 {q[94]:5.2f} ms"
            )
        return "\n".join(lines)


def time_assign(
    conn: psycopg.Connection[Any],
    items: list[tuple[DedupInput, dict[str, Any]]],
    phases: Phases | None = None,
) -> tuple[list[float], dict[str, int]]:
    engine = LayeredEngine(SETTINGS)
    phases = phases or Phases()
    latencies = []
    layers: dict[str, int] = {}
    for item, features in items:
        phases.article = {}
        started = time.perf_counter()
        with conn.transaction(force_rollback=True):
            with phases.installed(), phases.timing("match"):
                match = engine.match(conn, item, features)
            inner = sum(ms for name, ms in phases.article.items() if name != "match")
            phases.add("match (python)", phases.article.pop("match") - inner)
            insert_started = time.perf_counter()
            story_id = (
                match.story_id
                if match
                else conn.execute(
                    "INSERT INTO stories (first_seen, last_seen) VALUES (now(), now()) RETURNING id"
                ).fetchone()[0]
            )
            article_id = conn.execute(
                """INSERT INTO articles (source_id, url, canonical_url, fetched_at, text,
                       text_hash, word_count, story_id) VALUES (1, %s, %s, now(), %s, %s, 0, %s)
                   RETURNING id""",
                (
                    item.canonical_url,
                    item.canonical_url,
                    item.text,
                    features["text_hash"],
                    story_id,
                ),
            ).fetchone()[0]
            phases.add("insert", (time.perf_counter() - insert_started) * 1000)
            with phases.timing("remember"), conn.pipeline():  # as the store step does
                engine.remember(conn, article_id, story_id, item, features)
        latencies.append((time.perf_counter() - started) * 1000)
        phases.articles.append(phases.article)
        layer = str(match.layer) if match else "new"
        layers[layer] = layers.get(layer, 0) + 1
    return latencies, layers


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--keep-db", default=None, help="Use (and keep) this database name.")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    synthetic = Synthetic()
    results: dict[int, list[float]] = {}
    with temporary_database(args.admin_url, "news_ingest_scale", keep=args.keep_db) as url:
        migrations.migrate(url)
        with db.connection(url) as conn:
            conn.execute(
                "INSERT INTO sources (id, name, url) OVERRIDING SYSTEM VALUE"
                " VALUES (1, 'bench', 'https://bench.example/') ON CONFLICT DO NOTHING"
            )
            conn.commit()
            (stored,) = conn.execute("SELECT count(*) FROM articles").fetchone()
            for size in sizes:
                if stored < size:
                    started = time.perf_counter()
                    replay = {n for s in sizes for n in range(max(0, s - 3 * args.queries), s)}
                    for chunk_start in range(stored, size, 50_000):
                        load(conn, synthetic, chunk_start, min(50_000, size - chunk_start), replay)
                    vacuum(conn)
                    seconds = time.perf_counter() - started
                    print(f"loaded {size - stored:,} articles in {seconds:.0f} s", flush=True)
                    stored = size
                elif not vacuumed(conn):  # kept from a run that did not vacuum
                    started = time.perf_counter()
                    vacuum(conn)
                    print(f"vacuumed in {time.perf_counter() - started:.0f} s", flush=True)
                items = queries(synthetic, stored, args.queries)
                time_assign(conn, items[:20])  # warm caches and the USE-free code paths
                phases = Phases()
                latencies, layers = time_assign(conn, items, phases)
                results[stored] = latencies
                q = statistics.quantiles(latencies, n=100)
                print(
                    f"{stored:>9,} stored: p50 {q[49]:6.1f} ms  p95 {q[94]:6.1f} ms  "
                    f"p99 {q[98]:6.1f} ms  layers {layers}  "
                    # Other processes on the machine stretch every phase: say how busy it was.
                    f"load {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
                    flush=True,
                )
                print(phases.report(), flush=True)
    if len(results) > 1:
        small, large = min(results), max(results)
        p95 = {s: statistics.quantiles(v, n=100)[94] for s, v in results.items()}
        print(f"p95 growth {large:,}/{small:,}: {p95[large] / p95[small]:.2f}x")


if __name__ == "__main__":
    main()
