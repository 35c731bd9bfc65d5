"""Throughput of `news-ingest cluster`, embeddings included (issue 8: >= 20 articles/s,
i.e. 2,000 articles in <= 100 s on the 2-core dev machine).

Input: the dev articles (JSON lines as `cluster` reads them), repeated until there are
--count of them; each repeat is perturbed (sentences shuffled, a third of them dropped,
a new id and URL) so that repeats are not all exact copies that the cheap layers fold.
Each configuration runs the real command in a subprocess (model loading included) against
a scratch database, and the same run times the baselines: `dedup.encoder: use` (no e5)
and `embeddings: false` (no encoder), beside the shipped `use+e5` cascade.

    .venv/bin/python bench/cluster_speed.py --data ../shared/data/semeval22-dev/articles.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchdb import DEFAULT_ADMIN_URL, temporary_database  # noqa: E402

CONFIGS = {
    "use+e5 (shipped cascade)": "dedup:\n  encoder: use+e5\n",
    "use only": "dedup:\n  encoder: use\n",
    "no encoder (embeddings: false)": "dedup:\n  embeddings: false\n",
}
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def perturbed(article: dict, repeat: int, rng: random.Random) -> dict:
    sentences = _SENTENCE.split(article.get("text") or "")
    rng.shuffle(sentences)
    kept = sentences[: max(1, (2 * len(sentences)) // 3)]
    return {
        **article,
        "id": f"{article['id']}~{repeat}",
        "url": f"https://speed.example/{article['id']}/{repeat}",
        "text": " ".join(kept),
    }


def build_input(source: Path, count: int, target: Path) -> int:
    lines = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines() if line]
    rng = random.Random(8)
    out = []
    repeat = 0
    while len(out) < count:
        for article in lines:
            if len(out) >= count:
                break
            out.append(article if repeat == 0 else perturbed(article, repeat, rng))
        repeat += 1
    target.write_text("".join(json.dumps(a) + "\n" for a in out), encoding="utf-8")
    return len(out)


def time_cluster(input_file: Path, config: str, url: str) -> tuple[float, int]:
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as handle:
        handle.write(config)
    started = time.perf_counter()
    done = subprocess.run(
        [
            str(REPO / ".venv" / "bin" / "news-ingest"),
            "cluster",
            str(input_file),
            "--config",
            handle.name,
        ],
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    Path(handle.name).unlink()
    if done.returncode != 0:
        raise SystemExit(f"cluster failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds, len(done.stdout.splitlines())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="articles.jsonl")
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--only", default="", help="run only configurations containing this")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        input_file = Path(folder) / "articles.jsonl"
        n = build_input(args.data, args.count, input_file)
        load = os.getloadavg()[0]
        print(f"{n} articles; load average {load:.1f} on {os.cpu_count()} cores at the start")
        for name, config in CONFIGS.items():
            if args.only and args.only not in name:
                continue
            with temporary_database(args.admin_url, "cluster_speed") as url:
                seconds, lines = time_cluster(input_file, config, url)
            print(
                f"  {name:32s} {seconds:6.1f} s  {lines / seconds:6.1f} articles/s "
                f"({lines} assigned; process start and model loading included)",
                flush=True,
            )
        print(f"  (load average at the end {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
