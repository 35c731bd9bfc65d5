"""The `news-ingest` command line: a thin face over the packages.

Owns the commands, their options, exit statuses and what they print. Each command calls
one function of a stage package (the cycle, the config, the story engine...): no pipeline
logic lives here.
"""

from .app import app, main

__all__ = ["app", "main"]
