"""pipeline.stories.encoders: what each encoder embeds of an article, unit vectors from the
models that ship inside their wheels, a memo so repeated texts are not re-embedded, and the
float16 storage form."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.stories import encoders

TITLE = "Gipfel in Astana"
TEXT = " ".join(["Die Staats- und Regierungschefs der SOZ treffen sich in Astana."] * 30)


def test_e5_reads_title_and_lead_cut_at_a_word() -> None:
    lead = encoders.input_text("e5", TITLE, TEXT)
    assert lead.startswith(TITLE)
    assert len(lead) <= encoders.E5_LEAD_CHARS
    assert TEXT.startswith(lead[len(TITLE) + 1 :])  # cut between words
    assert encoders.input_text("e5", None, "kurz") == "kurz"


def test_use_reads_title_and_text_cut_to_words() -> None:
    assert encoders.input_text("use", TITLE, TEXT).split()[:3] == ["Gipfel", "in", "Astana"]
    with pytest.raises(ValueError, match="unknown encoder"):
        encoders.input_text("bert", TITLE, TEXT)


@pytest.mark.parametrize("encoder", ["use", "e5"])
def test_vectors_are_unit_length_and_translations_close(encoder: str) -> None:
    vectors = encoders.embed_articles(
        encoder,
        [
            ("Hochwasser an der Nahe", "Nach tagelangem Regen tritt die Nahe über die Ufer."),
            ("Flooding on the Nahe", "After days of rain the river Nahe bursts its banks."),
            ("EZB lässt Zinsen unverändert", "Die Europäische Zentralbank hält den Leitzins."),
        ],
    )
    assert vectors.shape == (3, encoders.DIMS[encoder])
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert float(vectors[0] @ vectors[1]) > float(vectors[0] @ vectors[2])
    assert encoders.embed(encoder, []).shape == (0, encoders.DIMS[encoder])


def test_repeated_texts_come_from_the_memo() -> None:
    first = encoders.embed("use", ["memo text one", "memo text one"])
    size = len(encoders._memo)
    again = encoders.embed("use", ["memo text one"])
    assert len(encoders._memo) == size
    assert np.array_equal(first[0], again[0])
    assert np.array_equal(first[0], first[1])
    with pytest.raises(ValueError, match="unknown encoder"):
        encoders.embed("bert", ["x"])


def test_storage_round_trip() -> None:
    vector = np.random.default_rng(1).standard_normal(384).astype(np.float32)
    vector /= np.linalg.norm(vector)
    data = encoders.to_bytes(vector)
    assert len(data) == 2 * 384
    restored = encoders.from_bytes(data)
    assert restored.dtype == np.float32
    assert float(vector @ restored) > 0.9999
