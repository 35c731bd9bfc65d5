"""What every layer of the story engine shares: the article as the engine sees it, a
match, the features `prepare` computes, and the protocol a layer implements."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

import psycopg

from . import copies


class Layer(StrEnum):
    URL = "url"
    EXACT = "exact"
    NEAR_COPY = "near_copy"
    SAME_STORY = "same_story"


@dataclass(frozen=True)
class DedupInput:
    """What the engine sees of an article."""

    canonical_url: str
    declared_url: str | None  # canonical form of the page's rel=canonical, if any
    title: str | None
    text: str
    language: str | None
    published_at: datetime | None
    event_time: datetime  # published_at, else fetched_at


@dataclass(frozen=True)
class StoryMatch:
    layer: Layer
    matched_article_id: int
    story_id: int
    score: float


Features = dict[str, Any]


class EngineLayer(Protocol):
    """One kind of evidence that an article belongs to a stored story.

    `match` reads state only; `remember` indexes a stored article. The engine calls
    `remember` of every layer, active or not, so that a layer switched on later finds every
    article; it calls `match` of the active layers only, cheapest first.
    """

    name: Layer

    def match(
        self, conn: psycopg.Connection[Any], item: DedupInput, features: Features
    ) -> StoryMatch | None: ...

    def remember(
        self,
        conn: psycopg.Connection[Any],
        article_id: int,
        story_id: int,
        item: DedupInput,
        features: Features,
    ) -> None: ...


def fingerprint_of(features: Features) -> copies.CopyFingerprint:
    return copies.CopyFingerprint.from_bytes(
        base64.b64decode(features["minhash"]), int(features["shingles"])
    )


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
