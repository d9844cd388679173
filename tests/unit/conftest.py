"""The fast application path: the ``Ledger`` on a temporary SQLite file with keys in
memory, so that unit tests of commands (rules, authorization) take milliseconds.

Tests of what the stores do (both SQLite and PostgreSQL, concurrency, tampering with
rows) belong in tests/integration with the ``ledger`` fixture instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.application.actor import CLI_OPERATOR, acting_as
from ledger.application.ledger import Ledger
from ledger.eventlog.signing_keys import MemoryKeyStore


@pytest.fixture
def fast_ledger(tmp_path: Path) -> Iterator[Ledger]:
    """An established ledger on a temporary SQLite file, keys in memory."""
    app = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}", key_store=MemoryKeyStore())
    with acting_as(CLI_OPERATOR):
        app.establish()
    yield app
    app.close()
