"""`news-ingest feeds ...`: the editors' commands."""

from __future__ import annotations

import typer
from rich.table import Table

from .cli_common import ConfigOption, load_or_exit, out
from .config import resolve_config_path

feeds_app = typer.Typer(help="List, validate and check the configured feeds.", no_args_is_help=True)


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
    """Check the config file; print every problem with file, line and feed name."""
    cfg = load_or_exit(config)
    path = resolve_config_path(config)
    out.print(
        f"{path}: OK, {len(cfg.feeds)} feeds ({len(cfg.enabled_feeds)} enabled)", highlight=False
    )
