#!/usr/bin/env bash
# The two commands of the README, each doing its own set-up on a fresh machine:
#   ./dev.sh ingest [news-ingest run options]   one ingest cycle over config/feeds.yaml
#   ./dev.sh test   [pytest options]            the test suite
# Set-up (idempotent): a .venv with Python >= 3.11, uv, and the pinned packages.
set -euo pipefail
cd "$(dirname "$0")"

VENV=.venv

pick_python() {
    for candidate in "${PYTHON:-}" python3.12 python3.11 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(not ((3, 11) <= sys.version_info[:2] <= (3, 12)))'; then
            echo "$candidate"
            return
        fi
    done
    echo "news-ingest needs Python 3.11 or 3.12 (set PYTHON=/path/to/python)" >&2
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
        ;;
    *)
        echo "usage: ./dev.sh ingest [run options] | test [pytest options] | setup" >&2
        exit 2
        ;;
esac
