"""pipeline.stories.factory: the engine of the settings, its active layers and models."""

from __future__ import annotations

from pipeline.config import DedupSettings
from pipeline.stories import model as learned
from pipeline.stories.base import Layer
from pipeline.stories.engine import LayeredEngine
from pipeline.stories.factory import build_engine


def test_active_layers_follow_the_config_in_cost_order() -> None:
    engine = build_engine(DedupSettings(layers=["same_story", "exact"], encoder="use"))
    assert isinstance(engine, LayeredEngine)
    assert [layer.name for layer in engine.active] == [Layer.EXACT, Layer.SAME_STORY]
    assert [layer.name for layer in engine.layers] == list(Layer)  # all remember


def test_models_follow_the_encoder_unless_given() -> None:
    engine = build_engine(DedupSettings(encoder="use+e5"))
    assert isinstance(engine, LayeredEngine)
    assert engine.same_story.models == learned.models_for("use+e5")
    assert engine.same_story.eager == ("use",)
    given = learned.Models(learned.TERMS_ONLY)
    engine = build_engine(DedupSettings(same_story_threshold=0.7), given)
    assert isinstance(engine, LayeredEngine)
    assert engine.same_story.models.first.threshold == 0.7
    assert engine.same_story.models.first.mono == learned.TERMS_MONO
