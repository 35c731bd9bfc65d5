"""The `news-ingest` command line: a thin face over the packages.

Each command parses options, calls one function of a stage package (the cycle, the config,
the story engine...) and prints. No pipeline logic lives here.
"""

from .app import app, main

__all__ = ["app", "main"]
