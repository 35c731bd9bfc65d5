"""HTTP: guarded, polite, bounded GETs of feeds, pages and robots.txt.

Owns everything between a URL and the bytes of its response: the SSRF guard (`netguard`),
the vetted-address connection and per-request deadline (`transport`), bounded body decoding
(`body`), header parsing (`headers`), one response classified (`response`), per-host limits
(`politeness`), robots.txt (`robots`) and the `Fetcher` that combines them into one
`FetchResult`. Knows no database and no feed format: callers decide what a response means
and where it is recorded.
"""

from .fetcher import ARTICLE_ACCEPT, FEED_ACCEPT, Fetcher
from .netguard import UnsafeURLError
from .result import FetchOutcome, FetchResult

__all__ = [
    "ARTICLE_ACCEPT",
    "FEED_ACCEPT",
    "FetchOutcome",
    "FetchResult",
    "Fetcher",
    "UnsafeURLError",
]
