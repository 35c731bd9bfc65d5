"""Input lines of `news-ingest cluster` for the tests of pipeline.analytics.cluster and
pipeline.cli.dedup: two short German reports of different events, and a JSON line builder."""

from __future__ import annotations

import json
from typing import Any

BUDGET = (
    "Der Stadtrat von Mühlbach hat am Dienstagabend den Haushalt für das kommende Jahr "
    "beschlossen. Die größten Posten sind die Sanierung der Grundschule und neue Radwege."
)
FLOOD = (
    "Nach tagelangem Regen ist der Pegel der Nahe bei Bad Kreuznach über die Marke von vier "
    "Metern gestiegen. Die Feuerwehr hat in der Nacht Sandsäcke an der Uferstraße verteilt."
)


def line(**fields: Any) -> str:
    """One input line (without its newline)."""
    return json.dumps(fields)
