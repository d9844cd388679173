#!/bin/sh
# Quick start 1: set up, then run the ledger on its embedded SQLite store with the demo.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
export LEDGER_STORE="${LEDGER_STORE:-sqlite:///demo/ledger.db}"
mkdir -p demo
.venv/bin/ledger init
.venv/bin/ledger demo --json > demo/demo.json
.venv/bin/ledger demo >/dev/null 2>&1 || true
AMENDED=$(.venv/bin/python -c "import json; print(json.load(open('demo/demo.json'))['credentials']['amended'])")
echo
echo "Demo world written to $LEDGER_STORE (ids in demo/demo.json)."
echo "The signed history of an amended credential:"
echo
.venv/bin/ledger history "$AMENDED"
