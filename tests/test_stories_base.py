"""pipeline.stories.base: the layer names (the contract of news.article_links.layer) and
the features' copy fingerprint, base64 in the staged row."""

from __future__ import annotations

from pipeline.stories import copies
from pipeline.stories.base import Layer, b64, fingerprint_of


def test_layer_names_are_the_article_links_values() -> None:
    assert [str(layer) for layer in Layer] == ["url", "exact", "near_copy", "same_story"]


def test_fingerprint_travels_as_base64() -> None:
    fp = copies.fingerprint("eins zwei drei vier fünf sechs sieben", shingle_size=5, num_perm=64)
    features = {"minhash": b64(fp.to_bytes()), "shingles": fp.shingle_count}
    restored = fingerprint_of(features)
    assert restored.shingle_count == fp.shingle_count == 3
    assert copies.jaccard(restored, fp) == 1.0
