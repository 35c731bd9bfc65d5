"""Write docs/RELIABILITY.md from tests/reliability/cases.py.

python -m tests.reliability.render          # rewrite the document
python -m tests.reliability.render --check  # exit 1 if it is out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

from .cases import render_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "RELIABILITY.md"


def main(argv: list[str]) -> int:
    text = render_markdown()
    if "--check" in argv:
        current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
        if current != text:
            print(f"{DOC} is out of date: run python -m tests.reliability.render", file=sys.stderr)
            return 1
        return 0
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
