"""pipeline.textnorm: text hygiene (control characters, bounded lines and keys), the normal
form behind exact-copy hashes and shingles, and word units of spaced and unspaced scripts."""

from __future__ import annotations

import pytest

from pipeline.textnorm import clean_line, clean_text, text_hash, word_count


def test_clean_text_removes_controls_keeps_paragraphs() -> None:
    raw = "Erster\x00 Absatz\r\n\r\n\r\nZweiter\u00a0\u00a0Absatz\x07\n  "
    assert clean_text(raw) == "Erster Absatz\n\nZweiter Absatz"


def test_clean_line_bounds_and_collapses() -> None:
    assert clean_line("  A\n\nB  ", 10) == "A B"
    assert clean_line("x" * 50, 10) == "x" * 10
    assert clean_line("\x00 ") is None


def test_text_hash_ignores_case_spacing_and_punctuation() -> None:
    a = "Putin trifft Xi in Astana. Die SCO tagt!"
    b = "putin  trifft xi in astana – die sco tagt"
    assert text_hash(a) == text_hash(b)
    assert text_hash(a) != text_hash(a.replace("Xi", "Modi"))
    assert word_count(a) == 8


def test_bounded_key_cuts_by_bytes_and_keeps_keys_apart() -> None:
    from pipeline.textnorm import bounded_key

    one, two = "中" * 1000 + "a", "中" * 1000 + "b"
    assert len(bounded_key(one, 1000).encode()) <= 1000
    assert bounded_key(one, 1000) != bounded_key(two, 1000)
    assert bounded_key("short", 1000) == "short"


SPACED = [
    "Der Stadtrat beschloss am Abend den Ausbau der Radwege – für 2,5 Mio. €.",
    "Президент заявил, что переговоры продолжатся в понедельник.",
    "प्रधानमंत्री ने सोमवार को नई योजना की घोषणा की।",
    "أعلنت الحكومة عن خطة جديدة للنقل العام.",
    "부산시는 내년부터 시내버스 노선을 전면 개편한다.",
    "Ünïcödé STRASSE straße ﬁnance",
]


@pytest.mark.parametrize("text", SPACED)
def test_hashes_of_spaced_scripts_do_not_change(text: str) -> None:
    """The normal form of exact copies and shingles only changed for unspaced scripts:
    stored hashes of everything else stay valid."""
    import hashlib
    import re
    import unicodedata

    before = " ".join(re.findall(r"\w+", unicodedata.normalize("NFKC", text).casefold()))
    assert text_hash(text) == hashlib.sha256(before.encode()).hexdigest()
    assert word_count(text) == len(re.findall(r"\w+", text))


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("杭州市政府周二宣布", 9),  # one unit per Han character
        ("2025年に運賃を値上げ", 9),  # 2025 + 8 kanji/kana
        ("รัฐบาลประกาศมาตรการใหม่ เพื่อลดค่าครองชีพ", 9),  # 34 letters with marks / 4
        ("Xi 和 Putin 通话", 5),
    ],
)
def test_word_count_counts_unspaced_scripts(text: str, words: int) -> None:
    assert word_count(text) == words


def test_unspaced_text_is_shingled_per_character() -> None:
    from pipeline.textnorm import normalized_for_hash

    assert normalized_for_hash("中国政府，２０２５年") == "中 国 政 府 2025 年"
    assert normalized_for_hash("ใหม่") == "ใ ห ม่"  # the tone mark stays on its letter
