#!/bin/sh
# Creates .venv (once) and installs the ledger with its development tools into it.
# Needs only Python 3.11+ with venv (Debian: python3-venv); everything else comes from PyPI.
set -eu
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
if [ ! -f .venv/.installed ] || [ pyproject.toml -nt .venv/.installed ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    # Not quiet: the first install takes minutes, and its progress should show.
    .venv/bin/python -m pip install -e '.[dev]'
    touch .venv/.installed
fi
# The independent verifier test (tests/interop) runs Digital Bazaar's JSON-LD verifier on
# Node 20: installed from the npm registry exactly as package-lock.json pins it, and only
# when the lockfile is newer than the installed tree (offline runs reuse node_modules).
VERIFIER=tests/interop/verifier
if command -v npm >/dev/null 2>&1; then
    if [ ! -f "$VERIFIER/node_modules/.package-lock.json" ] \
        || [ "$VERIFIER/package-lock.json" -nt "$VERIFIER/node_modules/.package-lock.json" ]; then
        (cd "$VERIFIER" && npm ci --no-audit --no-fund --prefer-offline)
    fi
else
    echo "setup: npm not found; tests/interop needs Node.js 20 and npm" >&2
fi
