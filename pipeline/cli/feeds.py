"""`news-ingest feeds ...`: the editors' commands."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from pydantic import ValidationError
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ..config import Config, ConfigError, ConfigProblem, Feed, resolve_config_path
from ..config.edit import (
    SCHEMA_PATH,
    ConfigEdit,
    ConfigEditError,
    NewFeed,
    collect_problems,
    default_feed_name,
    feed_with_url,
    plan_append,
    render_config_schema,
)
from ..http import Fetcher
from .common import ConfigOption, err, load_or_exit, out, plural

if TYPE_CHECKING:
    from ..feeds.discover import DiscoveredFeed
    from ..feeds.fetch import FeedFetch

feeds_app = typer.Typer(
    help="List, validate, check and add the configured feeds.", no_args_is_help=True
)


@feeds_app.command("list")
def feeds_list(config: ConfigOption = None) -> None:
    """Show the configured feeds."""
    cfg = load_or_exit(config)
    table = Table()
    for column in ("name", "url", "language", "enabled"):
        table.add_column(column)
    for feed in cfg.feeds:
        table.add_row(feed.name, feed.url, feed.language or "", "yes" if feed.enabled else "no")
    out.print(table)


@feeds_app.command("validate")
def feeds_validate(config: ConfigOption = None) -> None:
    """Check the config file and print every problem with file, line and feed.

    One line per problem, FILE:LINE: feed 'NAME': FIELD: MESSAGE, on stdout. Exit status 1
    if there is any problem.
    """
    path = resolve_config_path(config)
    problems = collect_problems(path)
    if problems:
        _print_problems(problems)
        err.print(f"{path}: {plural(len(problems), 'problem')}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    cfg = load_or_exit(config)
    out.print(
        f"{path}: OK, {len(cfg.feeds)} feeds ({len(cfg.enabled_feeds)} enabled)", highlight=False
    )


@feeds_app.command("add")
def feeds_add(
    url: Annotated[
        str,
        typer.Argument(
            metavar="URL",
            help="The site's home page (or any page) or its feed; https:// if no scheme is given.",
        ),
    ],
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            "-n",
            help="Feed name [default: from the site's host, e.g. 'tagesschau'].",
            show_default=False,
        ),
    ] = None,
    language: Annotated[
        str | None,
        typer.Option(
            "--language",
            "-l",
            help="ISO 639-1 code such as de or en [default: what the feed declares].",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the entry, do not write the file.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Find a site's feed and append it to the config file.

    URL may be a feed or a page: the feed is then discovered from the page's links
    (<link rel="alternate">, trafilatura's heuristics) and common feed paths. The feed must
    parse. The entry goes to the end of `feeds:`; the file keeps its comments and layout, is
    validated as a whole and replaced atomically. Fetching uses the config's `fetch:` settings
    and its private-network rules. Exit status 1 if no feed is found or the entry is refused
    (duplicate URL or name, invalid config).
    """
    cfg = load_or_exit(config)
    path = resolve_config_path(config)
    url = url.strip()
    if "://" not in url:  # "www.example.com" pasted from an address bar
        url = f"https://{url}"
    _check_add_arguments(cfg, url, name, language)
    found = _discover_or_exit(cfg, url)
    _refuse_configured(cfg, found.url)
    entry = NewFeed(
        name=name or default_feed_name(url, {feed.name for feed in cfg.feeds}),
        url=found.url,
        language=language or found.language,
    )
    _report_found(found, entry, language_given=language is not None)
    edit = _plan_or_exit(path, entry)
    if dry_run:
        out.print(
            f"would add to {path}:{edit.line} (dry run, nothing written):",
            markup=False,
            highlight=False,
        )
    else:
        try:
            edit.write()
        except (ConfigEditError, OSError) as exc:
            _fail(str(exc))
        out.print(
            f"added feed {entry.name!r} to {path}:{edit.line}:", markup=False, highlight=False
        )
    for line in edit.added:
        out.print(line, markup=False, highlight=False, soft_wrap=True)


@feeds_app.command("check")
def feeds_check(
    names: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="NAME",
            help="Feeds to check, enabled or not [default: every enabled feed].",
            show_default=False,
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Fetch each feed once; print status, entries, last entry date and response time.

    Feeds are fetched in parallel (fetch.concurrency), with the pipeline's settings; nothing is
    stored and no article is downloaded. Exit status 1 if any feed fails: a network or HTTP
    error, or a document that is not a readable feed.
    """
    from ..feeds.fetch import fetch_feed

    cfg = load_or_exit(config)
    feeds = _feeds_to_check(cfg, names or [])
    if not feeds:
        out.print("no enabled feeds to check")
        return
    with (
        _quiet_fetch_log(),
        Fetcher.from_config(cfg) as fetcher,
        ThreadPoolExecutor(max_workers=min(cfg.fetch.concurrency, len(feeds))) as pool,
    ):
        probes = list(pool.map(lambda feed: fetch_feed(fetcher, feed.url, cfg.fetch), feeds))
    out.print(_check_table(feeds, probes))
    failed = sum(not probe.ok for probe in probes)
    summary = f"{plural(len(feeds), 'feed')} checked: {len(feeds) - failed} ok, {failed} failed"
    out.print(summary, highlight=False)
    if failed:
        raise typer.Exit(1)


@feeds_app.command("schema")
def feeds_schema(
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help=f"Write the schema to this file (the committed one is {SCHEMA_PATH}) "
            "instead of printing it.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Print the JSON Schema of the config file, generated from the pydantic model.

    Regenerate the committed copy after changing pipeline/config/model.py:

    \b
        news-ingest feeds schema --output config/feeds.schema.json
    """
    text = render_config_schema()
    if output is None:
        typer.echo(text, nl=False)  # not rich: no wrapping, no highlighting, exact bytes
        return
    output.write_text(text, encoding="utf-8")
    err.print(f"wrote {output}", highlight=False, soft_wrap=True)


# --- helpers ----------------------------------------------------------------------------------


@contextmanager
def _quiet_fetch_log() -> Iterator[None]:
    """Hide the fetch layer's per-request warnings unless -v was given: these commands report
    every failed request themselves (table row, "tried:" list), once and in context."""
    fetch_log = logging.getLogger("pipeline.http")
    previous = fetch_log.level
    if logging.getLogger().level >= logging.WARNING:
        fetch_log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        fetch_log.setLevel(previous)


def _print_problems(problems: list[ConfigProblem]) -> None:
    # Plain, unwrapped lines on stdout, like a linter's: editors and CI jump to FILE:LINE.
    for problem in problems:
        typer.echo(str(problem))


def _fail(message: str) -> NoReturn:
    err.print(f"[red]error[/red] {escape(message)}", markup=True, highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def _check_add_arguments(cfg: Config, url: str, name: str | None, language: str | None) -> None:
    """Refuse bad arguments before any network traffic: invalid values, a taken name, a URL
    that is already configured."""
    try:
        Feed(name=name or "placeholder", url=url, language=language)
    except ValidationError as exc:
        error = exc.errors()[0]
        option = {"name": "--name", "language": "--language"}.get(str(error["loc"][0]), "URL")
        message = str(error["msg"]).removeprefix("Value error, ")
        raise typer.BadParameter(message, param_hint=option) from None
    if name is not None and any(feed.name == name for feed in cfg.feeds):
        _fail(f"a feed named {name!r} already exists ({cfg.feed(name).url}); choose another --name")
    _refuse_configured(cfg, url)


def _refuse_configured(cfg: Config, url: str) -> None:
    existing = feed_with_url(cfg, url)
    if existing is not None:
        spelled = "" if existing.url == url else f" as {existing.url}"
        _fail(f"{url} is already configured{spelled} as feed {existing.name!r}")


def _discover_or_exit(cfg: Config, url: str) -> DiscoveredFeed:
    from ..feeds.discover import FeedDiscoveryError, discover_feed

    with _quiet_fetch_log(), Fetcher.from_config(cfg) as fetcher:
        try:
            return discover_feed(url, fetcher, cfg.fetch)
        except FeedDiscoveryError as exc:
            _fail(str(exc))


def _report_found(found: DiscoveredFeed, entry: NewFeed, *, language_given: bool) -> None:
    probe = found.probe
    title = f'"{found.title}", ' if found.title else ""
    newest = f", newest {_when(probe.newest)}" if probe.newest else ""
    where = {
        "direct": "the URL is a feed",
        "linked": f"linked from {found.page_url}",
        "well-known": f"not linked from {found.page_url}, found at a common feed path",
    }[found.via]
    out.print(
        f"found {found.url}: {title}{probe.entries} entries{newest} ({where})",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    if probe.entries == 0:
        err.print("warning: the feed has no entries right now", highlight=False)
    if found.others:
        others = ", ".join(found.others)
        out.print(f"other feeds on the page: {others}", markup=False, highlight=False)
    if entry.language and not language_given:
        out.print(f"language {entry.language!r} as the feed declares it", highlight=False)


def _plan_or_exit(path: Path, entry: NewFeed) -> ConfigEdit:
    try:
        return plan_append(path, entry)
    except ConfigEditError as exc:
        _print_problems(exc.problems)
        _fail(str(exc))
    except ConfigError as exc:  # the file broke since it was loaded
        _print_problems(exc.problems)
        _fail(f"{path} is not valid; fix it first (news-ingest feeds validate)")


def _feeds_to_check(cfg: Config, names: list[str]) -> list[Feed]:
    if not names:
        return cfg.enabled_feeds
    unknown = [name for name in names if name not in {feed.name for feed in cfg.feeds}]
    if unknown:
        raise typer.BadParameter(f"no such feed: {', '.join(unknown)}", param_hint="NAME")
    return [cfg.feed(name) for name in names]


def _check_table(feeds: list[Feed], probes: list[FeedFetch]) -> Table:
    table = Table()
    table.add_column("feed", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("entries", justify="right")
    table.add_column("last entry", no_wrap=True)
    table.add_column("ms", justify="right")
    table.add_column("error", overflow="fold")
    for feed, probe in zip(feeds, probes, strict=True):
        cells = (
            feed.name,
            probe.status,
            "" if probe.entries is None else str(probe.entries),
            _when(probe.newest) if probe.newest else "",
            str(probe.result.elapsed_ms),
            probe.error or "",
        )
        # Text, not str: server messages may contain [brackets] rich would read as markup.
        table.add_row(*(Text(cell) for cell in cells), style=None if probe.ok else "red")
    return table


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
