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
    cv: Annotated[
        int | None,
        typer.Option(
            "--cv",
            min=2,
            metavar="K",
            help="Out-of-sample instead: K folds grouped by connected component of the pair "
            "graph; the engine's models are refitted on each fold's training pairs.",
        ),
    ] = None,
    repeats: Annotated[
        int, typer.Option(min=1, help="With --cv: repeat with this many fold assignments.")
    ] = 1,
) -> None:
    """Cluster ARTICLES, then score the clustering on the labelled PAIRS: pairwise
    precision, recall and F1, overall, monolingual, de-de and cross-lingual.

    With --cv K the scores are out-of-sample (grouped K-fold cross-validation), with the
    baselines of the same folds beside them: tf-idf cosine and each encoder's cosine at
    the cut that is best on the training pairs."""
    from ..analytics.cluster import cluster as run_cluster
    from ..analytics.evaluation import load_pairs, score_pairs

    settings = _dedup_settings(config)
    if cv is not None:
        _eval_cv(articles, pairs, settings, cv, repeats, as_json)
        return
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


def _eval_cv(
    articles: Path, pairs: Path, settings: DedupSettings, k: int, repeats: int, as_json: bool
) -> None:
    from ..analytics.cv import SUBSET_ORDER, load_dataset
    from ..analytics.fitting import engine_cv

    data = load_dataset(articles, pairs)
    started = time.perf_counter()
    results = engine_cv(
        data,
        settings,
        k=k,
        repeats=repeats,
        progress=lambda message: err.print(message, highlight=False),
    )
    seconds = time.perf_counter() - started
    if as_json:
        out.print_json(
            json.dumps(
                {
                    "folds": k,
                    "repeats": repeats,
                    "seconds": round(seconds, 1),
                    "methods": {r.name: r.summary() for r in results},
                }
            )
        )
        return
    table = Table(
        title=f"grouped {k}-fold CV x{repeats} on {len(data.pairs)} labelled pairs over "
        f"{len(data.articles)} articles ({seconds:.0f} s): pooled precision / recall / F1 "
        "of the test folds, and the mean ± sd of the fold F1s",
        title_justify="left",
    )
    for column in ("pairs", "method", "precision", "recall", "F1", "fold F1"):
        table.add_column(column, justify="left" if column in ("pairs", "method") else "right")
    for subset in SUBSET_ORDER:
        for result in results:
            row = result.summary().get(subset)
            if row is None:
                continue
            table.add_row(
                subset,
                result.name,
                f"{row['pooled_precision']:.3f}",
                f"{row['pooled_recall']:.3f}",
                f"{row['pooled_f1']:.3f}",
                f"{row['f1_mean']:.3f} ± {row['f1_std']:.3f}",
            )
    out.print(table)
