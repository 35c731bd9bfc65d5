"""What every `news-ingest` command shares: consoles, the --config option, config loading."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from ..config import Config, ConfigError, load_config

# Piped output (logs, CI, `| less`) gets a wide console so tables are not truncated.
# markup=False: what we print quotes feeds, servers and config files, and rich would read
# "[/x]" in a URL or an error message as markup (and raise). Styled lines opt in with
# markup=True and escape() every value they quote.
out = Console(width=None if sys.stdout.isatty() else 160, markup=False)
err = Console(stderr=True, markup=False)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Feed config file [default: $NEWS_INGEST_CONFIG or config/feeds.yaml].",
        show_default=False,
    ),
]

SchemaOption = Annotated[str, typer.Option(help="PostgreSQL schema of the tables.")]


def load_or_exit(config_path: Path | None) -> Config:
    """The validated config, or every problem printed (file:line: feed: field: message)
    and exit status 1."""
    try:
        return load_config(config_path)
    except ConfigError as exc:
        for problem in exc.problems:
            # The problem quotes the file's own values: never markup, never wrapped.
            err.print(
                f"[red]error[/red] {escape(str(problem))}",
                markup=True,
                highlight=False,
                soft_wrap=True,
            )
        raise typer.Exit(1) from None


def plural(count: int, noun: str, plural_form: str | None = None) -> str:
    """'1 copy', '2 copies', '0 articles'."""
    return f"{count} {noun}" if count == 1 else f"{count} {plural_form or noun + 's'}"
