"""The embedded read side follows the log on its own (issue 10, item 8): a CLI erasure
while the server runs closes the learner's share links without another write."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from tests.e2e.conftest import Server
from tests.e2e.test_api import issue, setup_issuer


def test_a_cli_erasure_is_seen_by_a_running_server(server: Server) -> None:
    issuer_id, admin, achievement_id = setup_issuer(server)
    credential_id = issue(server, issuer_id, admin, achievement_id, "erase-me")
    learner = server.token("learner", "erase-me")
    link = server.client.post(
        "/v1/me/share-links", json={"credential_ids": [credential_id]}, headers=learner
    )
    assert link.status_code == 201, link.text
    token = link.json()["token"]
    assert server.client.get(f"/v1/shared/{token}").status_code == 200

    env = {
        **os.environ,
        "LEDGER_STORE": server.settings.store.url,
        "LEDGER_ENV": "development",
        "LEDGER_KEY_DIR": str(server.settings.key_dir),
    }
    erased = subprocess.run(
        [
            sys.executable,
            "-m",
            "ledger.cli.main",
            "erase-learner",
            "--subject",
            "erase-me",
            "--reason",
            "the learner asked",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert erased.returncode == 0, erased.stderr
    deadline = time.monotonic() + 60
    while server.client.get(f"/v1/shared/{token}").status_code != 404:
        assert time.monotonic() < deadline, "the server never saw the erasure"
        time.sleep(0.2)
    backpack = server.client.get("/v1/me/backpack", headers=learner).json()
    assert backpack["erased_at"] is not None
