"""Extraction: an article page's bytes to clean text and metadata.

Owns charset decoding (`decode`), trafilatura's extraction with our settings and page-cruft
rules (`article`), and language identification (`language`). Pure functions of a page: no
network, no database. `news-ingest extract PAGE.html` calls exactly what the pipeline calls.
"""

from .article import ExtractedArticle, ExtractionError, extract_article
from .decode import decode_html
from .language import detect_language

__all__ = [
    "ExtractedArticle",
    "ExtractionError",
    "decode_html",
    "detect_language",
    "extract_article",
]
