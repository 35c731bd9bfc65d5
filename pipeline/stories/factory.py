"""Which story engine the pipeline and `news-ingest cluster` use."""

from __future__ import annotations

from ..config import DedupSettings
from .engine import LayeredEngine, StoryEngine
from .model import Models


def build_engine(settings: DedupSettings, models: Models | None = None) -> StoryEngine:
    """The layered engine of `settings`; `models` replaces the shipped same-story models
    (what `eval-dedup --cv` refits per fold)."""
    return LayeredEngine(settings, models)
