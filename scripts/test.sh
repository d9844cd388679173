#!/bin/sh
# Quick start 2: set up, then run linters, the type checker and the whole test suite.
# PostgreSQL tests use LEDGER_TEST_POSTGRES (default postgresql://postgres@127.0.0.1:5432/test);
# with LEDGER_REQUIRE_POSTGRES=1 (as CI sets it) an unreachable server fails the run.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
.venv/bin/ruff check src projections api tests scripts
.venv/bin/ruff format --check src projections api tests scripts || { echo "run: .venv/bin/ruff format src projections api tests scripts"; exit 1; }
# mypy --strict over src/, projections/, api/ and tests/ (the script maps the folders to their packages)
.venv/bin/python scripts/typecheck.py
exec .venv/bin/python -m pytest -n 2 --dist loadfile "$@"
