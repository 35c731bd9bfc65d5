"""Near-copy fingerprints: edited copies are copies, different articles are not."""

from __future__ import annotations

from pipeline.config import DedupSettings
from pipeline.stories.copies import fingerprint, is_copy, jaccard, lsh_keys

THRESHOLD = DedupSettings().near_copy_threshold

ORIGINAL = [
    "Die Beziehungen zwischen China und Russland sind nach Auffassung von Präsident Wladimir "
    "Putin derzeit so gut wie noch niemals zuvor, sagte er am Rande des Gipfels.",
    "Bei einem Gespräch mit Xi in der kasachischen Hauptstadt Astana nannte Putin die "
    "Zusammenarbeit einen Schlüsselfaktor für die globale Stabilisierung.",
    "Zu dem Gipfel wird auch der türkische Präsident Recep Tayyip Erdogan erwartet, dessen Land "
    "kein Mitglied, aber Dialogpartner der Organisation ist.",
    "Indiens Ministerpräsident Narendra Modi hat seine Teilnahme an der Konferenz abgesagt und "
    "schickt stattdessen Außenminister Subrahmanyam Jaishankar nach Astana.",
    "Die Organisation versteht sich als Gegengewicht zum Westen und dient der Kooperation in "
    "Fragen der Sicherheit sowie der Wirtschaft und des Handels.",
]
OTHER = [
    "Der Bundestag hat am Donnerstag über den Haushalt für das kommende Jahr beraten und dabei "
    "heftig über die Schuldenbremse gestritten.",
    "Finanzminister und Opposition warfen sich gegenseitig vor, die Lage der Kommunen zu "
    "verkennen, während die Länder mehr Geld für Schulen fordern.",
]


def fp(paragraphs: list[str]) -> object:
    return fingerprint("\n".join(paragraphs), shingle_size=5, num_perm=128)


def test_identical_text_is_a_copy() -> None:
    copy, score = is_copy(fp(ORIGINAL), fp(ORIGINAL), THRESHOLD)
    assert copy
    assert score == 1.0


def test_dropped_paragraph_and_read_also_block_are_copies() -> None:
    edited = ORIGINAL[:2] + ORIGINAL[3:] + ["Lesen Sie auch: Was die SCO will und wer dazu gehört"]
    copy, score = is_copy(fp(ORIGINAL), fp(edited), THRESHOLD)
    assert copy, score


def test_unrelated_text_is_not_a_copy() -> None:
    copy, _ = is_copy(fp(ORIGINAL), fp(OTHER), THRESHOLD)
    assert not copy


def test_shared_quote_alone_is_not_a_copy() -> None:
    mixed = [ORIGINAL[0], *OTHER]
    copy, _ = is_copy(fp(ORIGINAL), fp(mixed), THRESHOLD)
    assert not copy


def test_copies_share_lsh_buckets_unrelated_do_not() -> None:
    edited = ORIGINAL[:4]
    assert set(lsh_keys(fp(ORIGINAL))) & set(lsh_keys(fp(edited)))
    assert not set(lsh_keys(fp(ORIGINAL))) & set(lsh_keys(fp(OTHER)))
    assert len(lsh_keys(fp(ORIGINAL))) == 32


def test_empty_text_matches_nothing() -> None:
    assert jaccard(fp([]), fp(ORIGINAL)) == 0.0
