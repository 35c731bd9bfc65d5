"""`python -m pipeline` is the `news-ingest` command."""

from .cli import main

main()
