"""Which story engine the pipeline and `news-ingest cluster` use."""

from __future__ import annotations

from ..config import DedupSettings
from .engine import LayeredEngine, StoryEngine


def build_engine(settings: DedupSettings) -> StoryEngine:
    return LayeredEngine(settings)
