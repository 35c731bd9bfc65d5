"""Per-article profiles for story matching: what one article contributes to a comparison.

A profile is built once, when an article arrives, and then only read: the story engine
stores it (`state.save_profile`) and compares later articles against it. Everything in
it is cheap to compare (a few small dicts and one 512-dim vector).

Pieces:

* tokens: NFKC, lower case, diacritics folded (Erdoğan → erdogan, ß → ss, Turkish ı → i),
  cut to a 6-character prefix. The prefix is a language-agnostic stemmer that serves German
  compounds and inflection (Gipfeltreffens/Gipfel, Organisation/Organisationen) as well as
  English plurals; on the dev data it beat full words and 5/7-character prefixes.
* term weights: (1 + log tf) · idf, L2-normalised, top `MAX_TERMS` kept. The idf mixes the
  corpus seen so far (`TermStats`, incremental) with a background prior from `wordfreq`
  for the article's language, so the first articles of a run are weighted sensibly
  and later ones adapt to what is frequent in the news right now.
* lead terms: the same weights over the title and the first `LEAD_WORDS` words.
* entity candidates: capitalised (or uncased-script) tokens that are rare in the language
  background; compared fuzzily (see `similarity.entity_similarity`).
* numbers: digit strings of two or more digits (counts, dates, scores).
* embedding: multilingual Universal Sentence Encoder v3 over title + text (encoders.py).

Texts are cut to `MAX_WORDS` words before anything else: the dev data the constants were
fitted on is cut to ~150-200 words per article, and the lead of a news article carries
the story anyway, so full-length articles are compared on the same footing.
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from functools import lru_cache
from typing import Any, Protocol

import numpy as np

from ..textnorm import SOUTHEAST_ASIAN_MARKS, has_unspaced, is_unspaced_unit, word_units

MAX_WORDS = 200  # words of title + text used for every signal (see module docstring)
# Tokens of those words: ~1.1 per word in news text; the cap bounds a page of 200 "words"
# that are each a thousand hyphenated parts.
MAX_TOKENS = 1_000
LEAD_WORDS = 40  # title + lead: the first words of title + text
# Title + lead words count twice in the term weights: headline and first sentences name
# the event; the rest of the text drifts into background (dev: mono F1 0.80 → 0.82).
LEAD_WEIGHT = 2.0
STEM_CHARS = 6  # prefix length of a term
MIN_TOKEN_CHARS = 2
MAX_TERMS = 64  # term weights stored per article (the tail adds little to a cosine)
MAX_LEAD_TERMS = 24
MAX_ENTITIES = 32
MAX_NUMBERS = 24
EMBEDDING_DIM = 512

# idf prior: the background language is treated as PRIOR_DOCS pseudo-documents in which a
# word of relative frequency f occurs in min(1, PRIOR_DOC_WORDS · f) of the documents
# (the chance that a document of ~PRIOR_DOC_WORDS tokens contains it).
PRIOR_DOCS = 200.0
PRIOR_DOC_WORDS = 200.0
# Entity candidates: background Zipf frequency below this (Zipf 4.6 ≈ 40 per million words
# keeps "Putin", "Erdogan", "NATO" but drops "Präsident", "government").
ENTITY_MAX_ZIPF = 4.6
# wordfreq knows these; anything else falls back to a rarity estimate from the corpus only.
# fmt: off
WORDFREQ_LANGUAGES = frozenset([
    "ar", "bg", "bn", "ca", "cs", "da", "de", "el", "en", "es", "fa", "fi", "fil", "fr",
    "he", "hi", "hu", "id", "it", "ja", "ko", "lt", "lv", "mk", "ms", "nb", "nl", "pl",
    "pt", "ro", "ru", "sh", "sk", "sl", "sr", "sv", "ta", "tr", "uk", "ur", "vi", "zh",
])
# fmt: on

# Words, with the combining vowel and tone marks of Thai, Lao, Khmer and Myanmar kept
_WORD_CHAR = f"(?:[^\\W_]|[{SOUTHEAST_ASIAN_MARKS}])"
_WORD_RE = re.compile(f"{_WORD_CHAR}+(?:[-'’.]{_WORD_CHAR}+)*", re.UNICODE)
_TOKEN_SPLIT_RE = re.compile(r"[-'’.]")
_DIGITS_RE = re.compile(r"\d")
_SENTENCE_END_RE = re.compile(r"[.!?:]$")
_FOLD_TABLE = str.maketrans({"ı": "i", "ß": "ss", "ø": "o", "đ": "d", "ł": "l", "æ": "ae"})


class TermStats(Protocol):
    """Document frequencies of the corpus seen so far (Postgres in production)."""

    @property
    def doc_count(self) -> int: ...

    def df(self, term: str) -> int: ...


@dataclass
class InMemoryTermStats:
    """A dict-backed `TermStats` for tests, benchmarks and the `cluster` command."""

    counts: Counter[str] = field(default_factory=Counter)
    docs: int = 0

    @property
    def doc_count(self) -> int:
        return self.docs

    def df(self, term: str) -> int:
        return self.counts.get(term, 0)

    def add(self, profile: ArticleProfile) -> None:
        """Count one article: each of its stored (top MAX_TERMS) terms once."""
        self.docs += 1
        self.counts.update(profile.terms.keys())


@dataclass(frozen=True, slots=True)
class ArticleProfile:
    """What the story engine keeps about one article (`state.save_profile`)."""

    language: str | None
    published: date | None
    terms: dict[str, float]  # stem → L2-normalised tf-idf weight, top MAX_TERMS
    lead_terms: dict[str, float]  # same over title + lead (diagnostic feature only)
    entities: tuple[str, ...]  # folded entity candidates, rarest first
    numbers: frozenset[str]
    embedding: np.ndarray | None = None  # (512,) float32, L2-normalised


def fold(text: str) -> str:
    """Lower case without diacritics: 'Erdoğan' → 'erdogan', 'Straße' → 'strasse'."""
    text = unicodedata.normalize("NFKC", text).lower().translate(_FOLD_TABLE)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def article_text(title: str | None, text: str) -> str:
    """Title + text as one string, without repeating a title the text already starts with."""
    text = text.strip()
    if title and not text[: len(title) + 20].lower().startswith(title.strip().lower()[:40]):
        return f"{title.strip()}\n{text}"
    return text


def words(text: str, limit: int = MAX_WORDS) -> list[str]:
    """Whitespace words, at most `limit` (the unit of MAX_WORDS and LEAD_WORDS). In scripts
    written without spaces a piece counts its word units (textnorm.word_units: a CJK
    character, a Thai letter), so a Chinese article is cut at 200 characters, not kept
    whole as one "word"."""
    if not has_unspaced(text):
        return text.split(maxsplit=limit)[:limit]
    kept: list[str] = []
    left = limit
    for piece in text.split():
        size = len(word_units(piece)) if has_unspaced(piece) else 1
        if size > left:
            if has_unspaced(piece) and left > 0:
                kept.append(piece[:left])
            break
        kept.append(piece)
        left -= size
    return kept


def tokenize(text: str) -> list[str]:
    """Raw word tokens (case kept), hyphen/apostrophe compounds split into parts; runs of a
    script written without spaces become overlapping bigrams of its word units (中国政府 →
    中国 国政 政府), the usual index terms for Chinese and Japanese text without a
    dictionary."""
    tokens: list[str] = []
    for match in _WORD_RE.finditer(text):
        for part in _TOKEN_SPLIT_RE.split(match.group()):
            if not part:
                continue
            if has_unspaced(part):
                tokens.extend(_unit_bigrams(part))
            else:
                tokens.append(part)
    return tokens


def _unit_bigrams(part: str) -> list[str]:
    """Pieces of spaced script as they are, runs of unspaced units as their bigrams."""
    tokens: list[str] = []
    run: list[str] = []
    for unit in [*word_units(part), ""]:
        if unit and is_unspaced_unit(unit):
            run.append(unit)
            continue
        if len(run) == 1:
            tokens.append(run[0])
        tokens.extend(a + b for a, b in itertools.pairwise(run))
        run = []
        if unit:
            tokens.append(unit)
    return tokens


def stem(token: str) -> str | None:
    """The term key of a raw token, or None for tokens that are not terms (numbers, 1 char)."""
    if _DIGITS_RE.search(token):
        return None
    folded = fold(token)
    if len(folded) < MIN_TOKEN_CHARS:
        return None
    return folded[:STEM_CHARS]


@lru_cache(maxsize=200_000)
def background_frequency(token: str, language: str | None) -> float:
    """Relative frequency of a word in the language (wordfreq), 0.0 when unknown."""
    if language not in WORDFREQ_LANGUAGES:
        return 0.0
    from wordfreq import get_frequency_dict, word_frequency  # loads the table on first use

    try:
        return float(word_frequency(token, language))
    except (ImportError, LookupError):
        # zh, ja and ko tokenise with jieba or MeCab, which we do not install: look the
        # token (a character bigram) up in the table as it is.
        return float(get_frequency_dict(language).get(token, 0.0))


def idf(df: int, doc_count: int, background: float) -> float:
    """Smoothed idf of corpus counts plus PRIOR_DOCS pseudo-documents from the background."""
    prior_df = PRIOR_DOCS * min(1.0, PRIOR_DOC_WORDS * background)
    return math.log((doc_count + PRIOR_DOCS + 1.0) / (df + prior_df + 1.0))


def weigh_terms(
    tokens: Sequence[str],
    language: str | None,
    stats: TermStats,
    limit: int,
    lead_tokens: int = 0,
) -> dict[str, float]:
    """L2-normalised top-`limit` tf-idf weights of the stems of raw tokens.

    The first `lead_tokens` tokens (title + lead) count LEAD_WEIGHT times.
    """
    counts, background = term_counts(tokens, language, lead_tokens)
    return weights_of(counts, background, stats, limit)


def term_counts(
    tokens: Sequence[str], language: str | None, lead_tokens: int = 0
) -> tuple[dict[str, float], dict[str, float]]:
    """(stem → count, lead tokens counting LEAD_WEIGHT times; stem → background frequency
    of its most frequent word): the half of the term weights that needs no corpus."""
    counts: dict[str, float] = {}
    background: dict[str, float] = {}
    for position, token in enumerate(tokens):
        key = stem(token)
        if key is None:
            continue
        counts[key] = counts.get(key, 0.0) + (LEAD_WEIGHT if position < lead_tokens else 1.0)
        # A stem stands for several words: the most frequent one sets its background.
        freq = background_frequency(token.lower(), language)
        if freq > background.get(key, -1.0):
            background[key] = freq
    return counts, background


def weights_of(
    counts: dict[str, float], background: dict[str, float], stats: TermStats, limit: int
) -> dict[str, float]:
    """The other half: idf from the corpus statistics and the background, top `limit`."""
    n_docs = stats.doc_count
    idfs = {key: idf(stats.df(key), n_docs, background.get(key, 0.0)) for key in counts}
    raw = {key: (1.0 + math.log(c)) * idfs[key] for key, c in counts.items() if idfs[key] > 0}
    top = sorted(raw.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    norm = math.sqrt(sum(w * w for _, w in top)) or 1.0
    return {key: w / norm for key, w in top}


def entity_candidates(tokens: Sequence[str], language: str | None) -> tuple[str, ...]:
    """Folded tokens that look like names: capitalised (or uncased script) and rare.

    German capitalises every noun, so capitalisation alone is no evidence there; the
    background frequency filter removes common nouns in every language alike.
    """
    seen: dict[str, float] = {}
    for token in tokens:
        if _DIGITS_RE.search(token) or len(token) < MIN_TOKEN_CHARS:
            continue
        first = token[0]
        if first.islower():
            continue  # cased script, lower case: not a name
        freq = background_frequency(token.lower(), language)
        if freq and math.log10(freq) + 9 >= ENTITY_MAX_ZIPF:
            continue
        key = fold(token)
        if key not in seen:
            seen[key] = freq
    ranked = sorted(seen.items(), key=lambda kv: (kv[1], kv[0]))
    return tuple(key for key, _ in ranked[:MAX_ENTITIES])


def number_tokens(text: str) -> frozenset[str]:
    """Numbers of two or more digits, thousands separators removed ('78.546' → '78546')."""
    found: list[str] = []
    for match in re.finditer(r"\d[\d.,]*\d|\d", text):
        digits = re.sub(r"[.,]", "", match.group())
        if len(digits) >= 2 and digits not in found:
            found.append(digits)
    return frozenset(found[:MAX_NUMBERS])


@dataclass(frozen=True, slots=True)
class TermDraft:
    """Everything a profile takes from the article alone: computed where the article is
    prepared (an extraction worker, no database), completed by `complete` against the
    corpus statistics in the store step, so the serial step only looks up and weighs."""

    language: str | None
    counts: dict[str, float]  # stem → count (see `term_counts`)
    background: dict[str, float]  # stem → background frequency
    entities: tuple[str, ...]

    def to_record(self) -> dict[str, Any]:
        """JSON-able (the staged row's features)."""
        return {
            "language": self.language,
            "counts": self.counts,
            "background": self.background,
            "entities": list(self.entities),
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> TermDraft:
        """Inverse of `to_record`; bounded like the profile it came from (a staged row is
        data, and a draft larger than an article can produce was not made by us)."""
        pairs = itertools.islice(record["counts"].items(), MAX_TOKENS)
        counts = {str(k)[:STEM_CHARS]: float(v) for k, v in pairs}
        background = {k: float(v) for k, v in record["background"].items() if k in counts}
        return cls(
            language=str(record["language"])[:16] if record.get("language") else None,
            counts=counts,
            background=background,
            entities=tuple(str(e)[:200] for e in record.get("entities", ())[:MAX_ENTITIES]),
        )

    def stems(self) -> list[str]:
        """The stems whose corpus frequencies `complete` needs."""
        return sorted(self.counts)

    def complete(
        self, published: date | None, stats: TermStats, embedding: np.ndarray | None = None
    ) -> ArticleProfile:
        """The article's profile against `stats` (which must not yet count it)."""
        vector = None
        if embedding is not None:
            vector = np.asarray(embedding, dtype=np.float32).reshape(EMBEDDING_DIM)
        return ArticleProfile(
            language=self.language,
            published=published,
            terms=weights_of(self.counts, self.background, stats, MAX_TERMS),
            lead_terms={},
            entities=self.entities,
            numbers=frozenset(),
            embedding=vector,
        )


def _body_tokens(title: str | None, text: str) -> tuple[list[str], list[str], int]:
    """Words of title + text (cut to MAX_WORDS), their tokens, and how many of the tokens
    are title + lead."""
    body = words(article_text(title, text))
    tokens = tokenize(" ".join(body))[:MAX_TOKENS]
    return body, tokens, min(len(tokenize(" ".join(body[:LEAD_WORDS]))), len(tokens))


def draft_terms(title: str | None, text: str, language: str | None) -> TermDraft:
    """The corpus-free part of an article's profile (see `TermDraft`); `language` None is
    detected from the text."""
    body, tokens, lead_tokens = _body_tokens(title, text)
    if language is None:
        language = detect_language(" ".join(body))
    counts, background = term_counts(tokens, language, lead_tokens)
    return TermDraft(language, counts, background, entity_candidates(tokens, language))


def build_profile(
    title: str | None,
    text: str,
    language: str | None,
    published: date | None,
    stats: TermStats,
    embedding: np.ndarray | None = None,
    *,
    diagnostics: bool = True,
) -> ArticleProfile:
    """Profile of one article; `embedding` comes from `embed_texts([embedding_text(...)])`.

    `stats` must not yet contain this article (count it after building, as the engine does).
    `diagnostics=False` leaves out lead terms and numbers, which only the experiments use;
    with it, the profile is `draft_terms(...).complete(...)`, what the engine builds.
    """
    profile = draft_terms(title, text, language).complete(published, stats, embedding)
    if not diagnostics:
        return profile
    body, _, _ = _body_tokens(title, text)
    lead_tokens = tokenize(" ".join(body[:LEAD_WORDS]))
    return replace(
        profile,
        lead_terms=weigh_terms(lead_tokens, profile.language, stats, MAX_LEAD_TERMS),
        numbers=number_tokens(" ".join(body)),
    )


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of `text` by py3langid, None for very short texts."""
    if len(text) < 20:
        return None
    import py3langid  # small, but only needed when the page did not declare a language

    code, _ = py3langid.classify(text)
    return str(code)


# --- embeddings -------------------------------------------------------------------------


def embedding_text(title: str | None, text: str) -> str:
    """What is embedded for an article: title + text, cut to MAX_WORDS words."""
    return " ".join(words(article_text(title, text)))


def embed_texts(texts: Sequence[str]) -> np.ndarray:
    """(len(texts), 512) float32 L2-normalised USE embeddings (encoders.embed)."""
    from . import encoders  # imports this module

    return encoders.embed(encoders.USE, list(texts))


# --- storage ------------------------------------------------------------------------------


def embedding_to_bytes(vector: np.ndarray) -> bytes:
    """float16 little-endian bytes (1 KiB for 512 dims; cosine error < 1e-3)."""
    return np.asarray(vector, dtype="<f2").tobytes()


def embedding_from_bytes(data: bytes) -> np.ndarray:
    """Inverse of `embedding_to_bytes`, re-normalised float32."""
    vector = np.frombuffer(data, dtype="<f2").astype(np.float32)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector
