"""Learners of a log written before keyed ids (issue 10, item 8) sign in to the same
backpack through a real server, on both stores, and can still be erased; a new learner
gets a keyed id."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from uuid import UUID

import pytest

from ledger.application.actor import CLI_OPERATOR, acting_as
from ledger.application.ledger import Ledger
from ledger.domain.learner import legacy_learner_id
from ledger.eventlog.signing_keys import FileKeyStore
from tests.e2e.conftest import Server
from tests.integration.test_keyed_learner_ids import (
    OLD_HOLDER,
    OLD_LEARNER,
    write_as_before_keyed_ids,
)

CLI = (sys.executable, "-m", "ledger.cli.main")


@pytest.fixture
def legacy(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, UUID]:
    """The store (and the key directory the server will use) as the old code left them."""
    ledger = Ledger(store_url, key_store=FileKeyStore(tmp_path / "keys"))
    try:
        with acting_as(CLI_OPERATOR):
            ledger.establish()
        return write_as_before_keyed_ids(ledger, monkeypatch)
    finally:
        ledger.close()


def test_legacy_learners_sign_in_to_their_backpack_and_can_be_erased(
    legacy: dict[str, UUID], server: Server
) -> None:
    for subject in (OLD_LEARNER, OLD_HOLDER):
        response = server.client.get("/v1/me/backpack", headers=server.token("learner", subject))
        assert response.status_code == 200, response.text
        backpack = response.json()
        assert backpack["learner_id"] == str(legacy_learner_id(subject))
        assert [c["credential_id"] for c in backpack["credentials"]] == [str(legacy[subject])]
        assert backpack["erased_at"] is None
    old = server.client.get("/v1/me/backpack", headers=server.token("learner", OLD_LEARNER))
    assert len(old.json()["consents"]) == 1

    fresh = server.client.get("/v1/me/backpack", headers=server.token("learner", "eduid-fresh"))
    assert UUID(fresh.json()["learner_id"]).version == 8

    env = {
        **os.environ,
        "LEDGER_STORE": server.settings.store.url,
        "LEDGER_ENV": "development",
        "LEDGER_KEY_DIR": str(server.settings.key_dir),
    }
    erased = subprocess.run(
        [*CLI, "erase-learner", "--subject", OLD_HOLDER, "--reason", "the learner asked"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert erased.returncode == 0, erased.stderr
    assert str(legacy_learner_id(OLD_HOLDER)) in erased.stdout
    holder = server.token("learner", OLD_HOLDER)
    deadline = time.monotonic() + 60
    while server.client.get("/v1/me/backpack", headers=holder).json()["erased_at"] is None:
        assert time.monotonic() < deadline, "the server never saw the erasure"
        time.sleep(0.2)
