#!/usr/bin/env bash
# The two commands of the README, each doing its own set-up on a fresh machine:
#   ./dev.sh ingest [news-ingest run options]   one ingest cycle over config/feeds.yaml
#   ./dev.sh test   [pytest options]            the test suite
# and two helpers:
#   ./dev.sh setup                              only the set-up
#   ./dev.sh shell  [shell arguments]           a shell with .venv/bin first on PATH
# Set-up (idempotent): a .venv with Python 3.11-3.13, uv, and the pinned packages.
set -euo pipefail
cd "$(dirname "$0")"

VENV=.venv

pick_python() {
    # 3.12 and 3.11 first: the interpreters CI has run the suite on longest.
    for candidate in "${PYTHON:-}" python3.12 python3.11 python3.13 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(not ((3, 11) <= sys.version_info[:2] <= (3, 13)))'; then
            echo "$candidate"
            return
        fi
    done
    echo "news-ingest needs Python 3.11, 3.12 or 3.13 (set PYTHON=/path/to/python)" >&2
    exit 1
}

setup() {
    if [ ! -x "$VENV/bin/python" ]; then
        echo "creating $VENV" >&2
        "$(pick_python)" -m venv "$VENV"
    fi
    if [ ! -x "$VENV/bin/uv" ]; then
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "uv==0.13.9"
    fi
    # constraints.txt pins the whole dependency tree; pyproject.toml pins what we import.
    "$VENV/bin/uv" pip install --quiet --python "$VENV/bin/python" \
        --constraints constraints.txt --editable ".[airflow,dev]"
}

command=${1:-}
[ $# -gt 0 ] && shift
case "$command" in
    ingest)
        setup
        exec "$VENV/bin/news-ingest" run "$@"
        ;;
    test)
        setup
        exec "$VENV/bin/python" -m pytest "$@"
        ;;
    setup)
        setup
        echo "ready: .venv/bin/news-ingest (put it on PATH: ./dev.sh shell, or export PATH=\"$PWD/.venv/bin:\$PATH\")" >&2
        ;;
    shell)
        setup
        # The venv's bin first on PATH, as `source .venv/bin/activate` would do.
        export VIRTUAL_ENV="$PWD/$VENV" PATH="$PWD/$VENV/bin:$PATH"
        exec "${SHELL:-/bin/bash}" "$@"
        ;;
    *)
        echo "usage: ./dev.sh ingest [run options] | test [pytest options] | setup | shell" >&2
        exit 2
        ;;
esac
