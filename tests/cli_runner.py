"""The real `news-ingest` app run in this process (typer's CliRunner), for the tests of
pipeline/cli: a new interpreter per call would cost seconds each, and local test servers
keep serving meanwhile (they run in threads). Where the command line as users run it
matters, tests use conftest.run_cli instead."""

from __future__ import annotations

from dataclasses import dataclass

from typer.testing import CliRunner

from pipeline.cli import app


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str


def news_ingest(
    *args: str, env: dict[str, str | None] | None = None, stdin: str | None = None
) -> Run:
    """Run the app with `args`; an exception other than the exit is re-raised."""
    result = CliRunner().invoke(app, list(args), env=env, input=stdin)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout, result.stderr)
