"""Shared fixtures: real stores (a SQLite file, a fresh PostgreSQL schema) and keys.

PostgreSQL tests run against the server named by ``LEDGER_TEST_POSTGRES``
(default ``postgresql://postgres@127.0.0.1:5432/test``). When it is unreachable
they are skipped on a developer's machine, but ``LEDGER_REQUIRE_POSTGRES=1`` (set
by CI) turns that skip into a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from hypothesis import settings as hypothesis_settings

from ledger.application.actor import CLI_OPERATOR, acting_as
from ledger.application.ledger import Ledger
from ledger.eventlog.signing_keys import FileKeyStore

# Hypothesis' per-example deadline (200 ms) measures the shared machine's load, not the
# code: at load 20 an example that takes 5 ms can take 300. Properties stay checked;
# only the timing luck goes.
hypothesis_settings.register_profile("ledger", deadline=None)
hypothesis_settings.load_profile("ledger")

POSTGRES_URL = os.environ.get("LEDGER_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_POSTGRES = os.environ.get("LEDGER_REQUIRE_POSTGRES") == "1"


def _postgres_available() -> str | None:
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        return str(error)
    return None


_POSTGRES_PROBLEM: str | bool | None = False


def require_postgres() -> None:
    """Skip (or, in CI, fail) when the PostgreSQL server cannot be reached."""
    global _POSTGRES_PROBLEM
    if _POSTGRES_PROBLEM is False:
        _POSTGRES_PROBLEM = _postgres_available()
    if _POSTGRES_PROBLEM:
        message = f"PostgreSQL unreachable at {POSTGRES_URL}: {_POSTGRES_PROBLEM}"
        if REQUIRE_POSTGRES:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def postgres_schema() -> Iterator[str]:
    """A fresh schema in the test database, dropped afterwards."""
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield schema
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def postgres_store_url(schema: str) -> str:
    """The store URL of a test schema."""
    return f"{POSTGRES_URL}?schema={schema}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store URL for each kind of store: every test using it runs on both."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    schema = request.getfixturevalue("postgres_schema")
    return postgres_store_url(schema)


@pytest.fixture
def key_store(tmp_path: Path) -> FileKeyStore:
    """Real key files in a temporary directory."""
    return FileKeyStore(tmp_path / "keys")


@pytest.fixture
def ledger(store_url: str, key_store: FileKeyStore) -> Iterator[Ledger]:
    """An established ledger on each store."""
    app = Ledger(store_url, key_store=key_store)
    with acting_as(CLI_OPERATOR):
        app.establish()
    yield app
    app.close()
