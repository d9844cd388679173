"""A small world for the auditor's page tests: a credential issued and revoked, sessions,
checkpoints published beside the server."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import httpx

from tests.browser.conftest import Web
from tests.integration.test_cli import run

AUDITOR = "auditor@audit.example"
LEARNER = "learner-anna@eduid.example"
FRAUD = "Exam fraud established"
DEADLINE = 180.0


def session(web: Web, subject: str = AUDITOR, role: str = "auditor", issuer: str = "") -> Any:
    """A browser-like client signed in through the development form."""
    client = httpx.Client(base_url=web.url, timeout=60)
    page = client.get("/signin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    data = {"subject": subject, "role": role, "csrf_token": token[1], "issuer": issuer}
    response = client.post("/signin/dev", data=data)
    assert response.status_code == 303, response.text
    return client


def csrf(client: httpx.Client, path: str = "/audit/trail") -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert found is not None
    return found[1]


def world(web: Web) -> dict[str, Any]:
    """An institution with one credential issued to the learner and then revoked."""
    issuer_id, admin, achievement_id = web.issuer_with_achievement()
    credential_id = web.issue(issuer_id, admin, achievement_id, LEARNER)
    revoked = web.client.post(
        f"/v1/credentials/{credential_id}/revoke", json={"reason": FRAUD}, headers=admin
    )
    assert revoked.status_code == 204, revoked.text
    trail = web.client.get(
        f"/v1/audit/trails/credential/{credential_id}", headers=web.token("auditor", AUDITOR)
    ).json()["items"]
    return {
        "issuer_id": issuer_id,
        "admin": admin,
        "achievement_id": achievement_id,
        "credential_id": credential_id,
        "issued": trail[0],
        "revoked": trail[1],
    }


def cli_env(web: Web) -> dict[str, str]:
    return {
        "LEDGER_STORE": web.settings.store.url,
        "LEDGER_KEY_DIR": str(web.settings.key_dir),
        "LEDGER_ENV": "development",
    }


def publish_checkpoint(web: Web, tmp_path: Path) -> int:
    """``ledger checkpoint`` beside the server; wait until the server's pages serve it."""
    done = run("checkpoint", "--json", cwd=tmp_path, env=cli_env(web))
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    # The server may have published first (its own policy): then that one is the newest.
    size = int(answer["tree_size"] if answer["published"] else answer["latest"]["tree_size"])
    auditor = web.token("auditor", AUDITOR)
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        served = web.client.get("/v1/audit/checkpoints", headers=auditor).json()["checkpoints"]
        if any(c["tree_size"] == size for c in served):
            return size
        time.sleep(0.2)
    raise AssertionError(f"the server never served the checkpoint of {size}")
