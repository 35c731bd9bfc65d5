"""`news-ingest cluster` and `news-ingest eval-dedup`: the story engine on JSON-lines input."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, TextIO

import typer
from rich.table import Table

from ..config import DedupSettings, resolve_config_path
from .common import ConfigOption, err, load_or_exit, out


def _dedup_settings(config: Path | None) -> DedupSettings:
    """The config's `dedup:` section; defaults when no config file is given or found."""
    if config is not None or resolve_config_path(None).is_file():
        return load_or_exit(config).dedup
    return DedupSettings()


def _articles(stream: TextIO, errors: list[str]) -> Iterator[object]:
    from ..analytics.cluster import InputError, read_input

    for item in read_input(stream):
        if isinstance(item, InputError):
            errors.append(str(item))
            err.print(f"skipped {item}", highlight=False)
            continue
        yield item


def cluster(
    input_file: Annotated[
        Path, typer.Argument(metavar="INPUT.jsonl", help="One article per line; - for stdin.")
    ],
    config: ConfigOption = None,
) -> None:
    """Assign a story to every article of INPUT.jsonl, in file order, with the pipeline's
    engine and settings; writes {"id": ..., "story_id": ...} lines to stdout.

    Input fields: id, lang, title (may be null), text, date (YYYY-MM-DD or null), url,
    source; others are ignored. Works in a scratch schema of $DATABASE_URL (or the
    embedded database) that is dropped afterwards. Bad lines are reported on stderr
    and skipped; the exit status is then 1.
    """
    from ..analytics.cluster import cluster as run_cluster

    settings = _dedup_settings(config)
    errors: list[str] = []
    stream = sys.stdin if str(input_file) == "-" else input_file.open(encoding="utf-8")
    try:
        for article_id, story_id in run_cluster(_articles(stream, errors), settings):  # type: ignore[arg-type]
            sys.stdout.write(json.dumps({"id": article_id, "story_id": story_id}) + "\n")
            sys.stdout.flush()
    finally:
        if stream is not sys.stdin:
            stream.close()
    if errors:
        raise typer.Exit(1)


def eval_dedup(
    articles: Annotated[Path, typer.Option(help="Articles, JSON lines (as for cluster).")],
    pairs: Annotated[
        Path, typer.Option(help="Labelled pairs: id1, id2, lang1, lang2, same_story.")
    ],
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the scores as JSON.")] = False,
) -> None:
    """Cluster ARTICLES, then score the clustering on the labelled PAIRS: pairwise
    precision, recall and F1, overall, monolingual, de-de and cross-lingual."""
    from ..analytics.cluster import cluster as run_cluster
    from ..analytics.evaluation import load_pairs, score_pairs

    settings = _dedup_settings(config)
    labelled = load_pairs(pairs)
    errors: list[str] = []
    started = time.perf_counter()
    with articles.open(encoding="utf-8") as stream:
        story_of = dict(run_cluster(_articles(stream, errors), settings))  # type: ignore[arg-type]
    seconds = time.perf_counter() - started
    scores = score_pairs(story_of, labelled)
    order = ["overall", "monolingual", "de-de", "cross-lingual", "de-en"]
    rows = [(name, scores[name]) for name in order if name in scores]
    if as_json:
        out.print_json(
            json.dumps(
                {
                    "articles": len(story_of),
                    "stories": len(set(story_of.values())),
                    "seconds": round(seconds, 2),
                    "scores": {
                        name: {
                            "pairs": s.pairs,
                            "positives": s.positives,
                            "precision": round(s.precision, 4),
                            "recall": round(s.recall, 4),
                            "f1": round(s.f1, 4),
                        }
                        for name, s in rows
                    },
                }
            )
        )
        return
    table = Table(
        title=f"{len(story_of)} articles → {len(set(story_of.values()))} stories "
        f"in {seconds:.1f} s ({len(story_of) / seconds:.0f} articles/s)",
        title_justify="left",
    )
    for column in ("pairs", "labelled pairs", "same story", "precision", "recall", "F1"):
        table.add_column(column, justify="left" if column == "pairs" else "right")
    for name, s in rows:
        table.add_row(
            name,
            str(s.pairs),
            str(s.positives),
            f"{s.precision:.3f}",
            f"{s.recall:.3f}",
            f"{s.f1:.3f}",
        )
    out.print(table)
