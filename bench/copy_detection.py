"""Copy detection (url / exact / near-copy layers) on generated edited copies.

Takes real article texts (`--data DIR` with articles.jsonl, e.g. ../shared/data/semeval22-dev;
default: the test fixtures), makes edited copies of each - new headline, a dropped
sentence, an added "Lesen Sie auch" block, small word edits, an agency prefix, and
combinations - and stores originals then copies through the real store step and engine in
a temporary database. Then reads the evidence (article_links) back:

- recall: copies that joined their original's family (the original or another copy of it)
  through a copy layer;
- precision: copy-layer links that connect members of one family, over all copy-layer
  links (a link between two different originals is a false copy).

Usage:
    python bench/copy_detection.py [--data ../shared/data/semeval22-dev] [--limit 400]
        [--admin-url postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from benchdb import DEFAULT_ADMIN_URL, temporary_database  # noqa: E402

from pipeline.analytics.cluster import InputArticle, cluster_in_schema  # noqa: E402
from pipeline.config import DedupSettings  # noqa: E402
from pipeline.store import db, migrations  # noqa: E402
from pipeline.stories.copies import MIN_COPY_JACCARD, shingles  # noqa: E402

SENTENCE_RE = re.compile(r"(?<=[.!?])\s+")
READ_ALSO = {
    "de": "Lesen Sie auch: Was der Gipfel bringt | Die wichtigsten Fragen und Antworten",
    "en": "Read more: What the summit means | Everything you need to know",
}


def originals(data: Path | None, limit: int) -> list[InputArticle]:
    if data is None:
        from newssite import load_fixture_articles, load_seed

        articles = [load_seed("000"), load_seed("001"), *load_fixture_articles()]
        return [
            InputArticle(a.slug, a.language, a.title, "\n".join(a.paragraphs), None, None, "orig")
            for a in articles
        ]
    rows = [json.loads(line) for line in (data / "articles.jsonl").open(encoding="utf-8")]
    return [
        InputArticle(str(r["id"]), r["lang"], r["title"], r["text"], None, r["url"], "orig")
        for r in rows[:limit]
    ]


def sentences(text: str) -> list[str]:
    return [s for s in SENTENCE_RE.split(text.replace("\n", " ")) if s.strip()]


def edits(article: InputArticle, rng: random.Random) -> dict[str, str]:
    """Edited versions of the article's text, by kind."""
    parts = sentences(article.text)
    words = article.text.split()
    read_also = READ_ALSO.get(article.language or "", READ_ALSO["en"])

    def small_edits(text: str) -> str:
        tokens = text.split()
        for _ in range(3):
            i = rng.randrange(len(tokens))
            tokens[i] = tokens[i][::-1] if len(tokens[i]) > 3 else tokens[i] + "s"
        return " ".join(tokens)

    def drop_sentence(text: str) -> str:
        pieces = sentences(text)
        if len(pieces) > 3:
            del pieces[rng.randrange(1, len(pieces))]
        return " ".join(pieces)

    variants = {
        "new-headline": "Exklusiv: " + " ".join(parts[1:])
        if len(parts) > 1
        else "Neu: " + article.text,
        "dropped-sentence": drop_sentence(article.text),
        "read-also": article.text + "\n" + read_also,
        "small-edits": small_edits(article.text),
        "agency-prefix": "(dpa) – " + article.text,
        "edited-wire": "(AFP) – " + small_edits(drop_sentence(article.text)) + "\n" + read_also,
    }
    if len(words) < 40:  # too short to edit meaningfully without making it another text
        variants = {k: v for k, v in variants.items() if k in ("read-also", "agency-prefix")}
    return variants


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=400, help="originals to use")
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    args = parser.parse_args()

    rng = random.Random(20240703)
    base = originals(args.data, args.limit)
    family: dict[str, str] = {a.id: a.id for a in base}
    copies: list[tuple[InputArticle, str]] = []
    for article in base:
        for kind, text in edits(article, rng).items():
            copy_id = f"{article.id}~{kind}"
            family[copy_id] = article.id
            copies.append(
                (InputArticle(copy_id, article.language, None, text, None, None, "copies"), kind)
            )

    with temporary_database(args.admin_url, "news_ingest_copies") as url:
        migrations.migrate(url)
        started = time.perf_counter()
        with db.connection(url, autocommit=True) as conn:
            everything = base + [copy for copy, _ in copies]
            for _ in cluster_in_schema(conn, db.DEFAULT_SCHEMA, everything, DedupSettings()):
                pass
            seconds = time.perf_counter() - started
            links = conn.execute(
                """SELECT a.guid, m.guid, l.layer FROM article_links l
                   JOIN articles a ON a.id = l.article_id
                   JOIN articles m ON m.id = l.matched_article_id"""
            ).fetchall()

    copy_layers = {"url", "exact", "near_copy"}
    copy_links = [(a, m, layer) for a, m, layer in links if layer in copy_layers]
    text_of = {a.id: a.text for a in base}
    text_of.update({copy.id: copy.text for copy, _ in copies})

    def really_copies(a: str, m: str) -> bool:
        """Same family, or texts that are copies by the exact definition the MinHash
        estimates (scraped data holds wire copies and pages that are mostly boilerplate)."""
        if family[a] == family[m]:
            return True
        x, y = shingles(text_of[a], 5), shingles(text_of[m], 5)
        if not x or not y:
            return False
        inter = len(x & y)
        return inter / len(x | y) >= MIN_COPY_JACCARD and inter / min(len(x), len(y)) >= (
            DedupSettings().near_copy_threshold
        )

    true_links = [(a, m) for a, m, _ in copy_links if really_copies(a, m)]
    in_data = sum(1 for a, m in true_links if family[a] != family[m])
    found = {a for a, m in true_links if a != family[a]}
    by_kind = Counter(kind for copy, kind in copies)
    found_by_kind = Counter(kind for copy, kind in copies if copy.id in found)
    same_story_only = {
        a
        for a, m, layer in links
        if layer == "same_story" and a != family[a] and family[a] == family[m]
    }
    precision = len(true_links) / len(copy_links) if copy_links else 1.0
    recall = len(found) / len(copies)
    print(
        f"originals {len(base)} ({'dev data' if args.data else 'fixtures'}), edited copies "
        f"{len(copies)}, stored in {seconds:.1f} s"
    )
    print(f"copy-layer links {len(copy_links)}: precision {precision:.4f}, recall {recall:.4f}")
    print(
        f"  of the true links, {in_data} join originals that are copies of each other in the data"
    )
    print(f"copies that joined through same_story instead: {len(same_story_only)}")
    for kind, n in sorted(by_kind.items()):
        print(f"  {kind:<18} recall {found_by_kind[kind] / n:.3f} ({found_by_kind[kind]}/{n})")
    false = [(a, m) for a, m, _ in copy_links if not really_copies(a, m)]
    for a, m in false[:10]:
        print(f"  false copy: {a} ~ {m}")
    layers = Counter(layer for _, _, layer in copy_links)
    print(f"layers: {dict(layers)}")


if __name__ == "__main__":
    main()
