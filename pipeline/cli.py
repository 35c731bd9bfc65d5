"""The `news-ingest` command line."""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

from . import db
from .cli_common import ConfigOption, SchemaOption, err, load_or_exit, out
from .cli_dedup import cluster, eval_dedup
from .cli_feeds import feeds_app
from .cli_stories import stories
from .config import resolve_config_path

app = typer.Typer(
    help="Poll news feeds, extract articles, fold duplicates into stories, store in PostgreSQL.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.add_typer(feeds_app, name="feeds")
app.command()(cluster)
app.command("eval-dedup")(eval_dedup)
app.command("stories")(stories)


@app.callback()
def _setup(
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="-v info, -vv debug.")
    ] = 0,
) -> None:
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # yoyo narrates every statement at INFO; its summary comes from pipeline.db.
    logging.getLogger("yoyo").setLevel(max(level, logging.WARNING))
    logging.getLogger("httpx").setLevel(max(level, logging.WARNING))


@app.command()
def migrate(schema: SchemaOption = db.DEFAULT_SCHEMA) -> None:
    """Apply pending schema migrations from sql/ (safe to run repeatedly and concurrently)."""
    try:
        applied = db.migrate(schema=schema)
    except db.LockWaitError as exc:
        err.print(str(exc), highlight=False, markup=False)
        raise typer.Exit(1) from None
    if applied:
        out.print(f"applied {len(applied)} migration(s) to schema {schema}: {', '.join(applied)}")
    else:
        out.print(f"schema {schema} is up to date")


class _RichProgress:
    """Per-feed progress bars on stderr, fed by pipeline.ingest."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def feed_started(self, feed: str, articles: int) -> None:
        self.tasks[feed] = self.progress.add_task(feed, total=max(articles, 1) if articles else 0)

    def article_done(self, feed: str) -> None:
        self.progress.advance(self.tasks[feed])

    def feed_done(self, report: Any) -> None:
        task = self.tasks.get(report.feed)
        if task is None:
            task = self.tasks[report.feed] = self.progress.add_task(report.feed, total=0)
        self.progress.update(
            task,
            description=f"{report.feed} [{report.status}]",
            completed=(self.progress.tasks[task].total or 0),
        )

    def storing(self, stored: int) -> None:
        task = self.tasks.get("(store)")
        if task is None:
            task = self.tasks["(store)"] = self.progress.add_task("storing", total=None)
        self.progress.advance(task, stored)


@app.command()
def run(
    config: ConfigOption = None,
    schema: SchemaOption = db.DEFAULT_SCHEMA,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run report as JSON.")] = False,
    progress: Annotated[bool, typer.Option(help="Show progress bars on stderr.")] = True,
    strict: Annotated[bool, typer.Option(help="Exit 3 if any feed failed.")] = False,
) -> None:
    """Run one ingest cycle over every enabled feed of the config."""
    from .ingest import run_cycle

    cfg = load_or_exit(config)
    if not cfg.enabled_feeds:
        err.print(f"{resolve_config_path(config)}: no enabled feeds")
        raise typer.Exit(1)
    show = progress and not as_json and err.is_terminal
    bars = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err,
        transient=True,
        disable=not show,
    )
    try:
        with bars:
            report = run_cycle(cfg, schema=schema, progress=_RichProgress(bars))
    except db.LockWaitError as exc:
        err.print(str(exc), highlight=False, markup=False)
        raise typer.Exit(1) from None
    if as_json:
        out.print_json(
            json.dumps(
                {
                    "run_id": report.run_id,
                    "stats": report.stats(),
                    "feeds": [asdict(summary) for summary in report.feeds],
                }
            )
        )
    else:
        _print_summary(report)
    if strict and any(r.status == "failed" for r in report.feeds):
        raise typer.Exit(3)


def _print_summary(report: Any) -> None:
    table = Table(title=f"run {report.run_id}", title_justify="left")
    columns = ("feed", "status", "entries", "fetched", "new", "duplicate", "same_story", "failed")
    for column in columns:
        table.add_column(
            column.replace("_", " "), justify="left" if column in ("feed", "status") else "right"
        )
    for summary in report.feeds:
        table.add_row(*(str(getattr(summary, column)) for column in columns))
    out.print(table)
    for summary in report.feeds:
        if summary.error:
            out.print(f"[red]{summary.feed}[/red]: {summary.error}", highlight=False)
    stats = report.stats()
    stored = stats["articles_new"] + stats["articles_copies"] + stats["articles_same_story"]
    out.print(
        f"{stored} articles stored ({stats['articles_new']} new stories, "
        f"{stats['articles_copies']} copies, {stats['articles_same_story']} same story), "
        f"{stats['articles_failed']} failed, in {stats['seconds']:.1f} s",
        highlight=False,
    )


@app.command()
def extract(
    page: Annotated[Path, typer.Argument(help="A saved HTML page.", exists=True, dir_okay=False)],
    url: Annotated[str | None, typer.Option(help="The page's URL (improves metadata).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Text and metadata as JSON.")] = False,
    language: Annotated[str | None, typer.Option(help="Language hint, as a feed's.")] = None,
) -> None:
    """Print what the pipeline would store for PAGE (same function, same settings)."""
    from .extract import ExtractionError, decode_html, extract_article

    try:
        article = extract_article(
            decode_html(page.read_bytes(), None), url=url, language_hint=language
        )
    except ExtractionError as exc:
        err.print(f"{page}: {exc}", highlight=False)
        raise typer.Exit(1) from None
    if as_json:
        out.print_json(json.dumps(article.as_json(), ensure_ascii=False))
    else:
        sys.stdout.write(article.text + "\n")


def main() -> None:
    app()
