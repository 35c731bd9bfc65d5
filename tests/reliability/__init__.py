"""Reliability suite: hostile input, faults and security, documented in docs/RELIABILITY.md.

`cases.py` is the single table of cases: it drives the parametrised tests and renders the doc
(`python -m tests.reliability.render` rewrites it; a test fails when it is stale).
"""
