"""``ledger check`` as an outsider: an empty directory, no store, a running ledger trusted.

The ledger under test runs on 127.0.0.1 with its real address as public URL; the
checker is given that origin with ``--trust`` and the test-only switch that
allows plain HTTP to loopback (``LEDGER_TEST_ONLY_ALLOW_LOOPBACK_HTTP``). It must
fetch the did:web document, the status list and our context from the server,
create no ``ledger.db``, refuse untrusted origins, and say offline what it could
not check.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from ledger.api.auth import mint_dev_token

from ledger.application.actor import CLI_OPERATOR, acting_as
from ledger.application.ledger import Ledger
from ledger.settings import Settings
from ledger.standards.outsider_checking import TEST_ONLY_LOOPBACK, OutsiderFetcher
from tests.e2e.conftest import free_port, serving
from tests.e2e.test_api import achievement_body

CLI = [sys.executable, "-m", "ledger.cli.main"]


@pytest.fixture
def live(store_url: str, tmp_path: Path) -> Iterator[tuple[str, Settings]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "LEDGER_STORE": store_url,
        # As tests/e2e/conftest.py: development tokens on both stores, no public rate limit.
        "LEDGER_ENV": "development",
        "LEDGER_PUBLIC_RATE": "0",
        "LEDGER_KEY_DIR": str(tmp_path / "keys"),
        "LEDGER_PROJECT_IN_PROCESS": "yes",
        "LEDGER_PUBLIC_URL": url,
    }
    with serving(env, tmp_path, port=port):
        yield url, Settings.from_env(env)


def _issue_and_export(url: str, settings: Settings) -> tuple[dict[str, Any], str, dict[str, str]]:
    ledger = Ledger(settings.store, key_store=settings.key_store())
    with acting_as(CLI_OPERATOR):
        issuer_id = ledger.register_issuer(name="Uni", country="NL", administrators=["alice"])
    ledger.close()
    token = mint_dev_token(settings, role="administrator", subject="alice", issuer_id=issuer_id)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, timeout=60) as client:
        achievement = client.post(
            f"/v1/issuers/{issuer_id}/achievements", json=achievement_body(), headers=headers
        ).json()["id"]
        credential = client.post(
            f"/v1/issuers/{issuer_id}/credentials",
            json={"achievement_id": achievement, "credential": {"learner_subject": "l-1"}},
            headers=headers,
        ).json()["id"]
        document = client.get(f"/v1/credentials/{credential}/export", headers=headers).json()
    return document, credential, headers


def _check(cwd: Path, *args: str, loopback: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    if loopback:
        env[TEST_ONLY_LOOPBACK] = "1"
    return subprocess.run(
        [*CLI, "check", *args, "--json"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_outsider_checks_a_live_ledgers_credential_from_an_empty_directory(
    live: tuple[str, Settings], tmp_path: Path
) -> None:
    url, settings = live
    document, credential_id, headers = _issue_and_export(url, settings)
    empty = tmp_path / "outsider"
    empty.mkdir()
    path = empty / "credential.json"
    path.write_text(json.dumps(document))

    ok = _check(empty, str(path), "--trust", url)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    report = json.loads(ok.stdout)
    checks = {c["check"]: c for c in report["checks"]}
    assert (
        checks["proof"]["outcome"] == "passed" and "did:web (fetched)" in checks["proof"]["detail"]
    )
    assert checks["status:message"]["outcome"] == "passed"
    assert report["not_fetched"] == [] and report["context_problems"] == []
    assert sorted(p.name for p in empty.iterdir()) == ["credential.json"]  # no ledger.db

    # Not trusted: nothing is fetched from the ledger, and the report names why.
    untrusted = _check(empty, str(path))
    assert untrusted.returncode == 3
    assert "trusted origin" in untrusted.stdout
    # Without the test-only switch, plain HTTP to loopback is refused as well.
    assert _check(empty, str(path), "--trust", url, loopback=False).returncode == 3

    # Offline: every fetch refused, and the report says which were not made.
    offline = _check(empty, str(path), "--trust", url, "--offline")
    assert offline.returncode == 3
    report = json.loads(offline.stdout)
    assert f"{url}/contexts/ob-extensions-v2.json" in report["not_fetched"]
    assert any("offline" in p for p in report["context_problems"])

    # A URL works too: the issuer's signed status list credential is itself a credential.
    listed = document["credentialStatus"]["statusListCredential"]
    by_url = _check(empty, listed, "--trust", url)
    assert by_url.returncode == 0, by_url.stdout + by_url.stderr

    # The fetcher revalidates what it has by ETag (the server answers 304).
    fetcher = OutsiderFetcher.from_settings([url], env={TEST_ONLY_LOOPBACK: "1"})
    first = fetcher.fetch_bytes(f"{url}/contexts/ob-extensions-v2.json")
    assert fetcher.fetch_bytes(f"{url}/contexts/ob-extensions-v2.json") == first
    assert fetcher.revalidated == 1

    # Revoked at the ledger: the outsider sees it at the next check.
    with httpx.Client(base_url=url, timeout=60) as client:
        revoked = client.post(
            f"/v1/credentials/{credential_id}/revoke", json={"reason": "fraud"}, headers=headers
        )
        assert revoked.status_code == 204
    after = _check(empty, str(path), "--trust", url)
    assert after.returncode == 3
    status = next(c for c in json.loads(after.stdout)["checks"] if c["check"] == "status:message")
    assert status["outcome"] == "failed" and "'revoked'" in status["detail"]
    assert sorted(p.name for p in empty.iterdir()) == ["credential.json"]


@pytest.mark.parametrize(
    ("origin", "url", "switch", "reason"),
    [
        ("https://10.0.0.1", "https://10.0.0.1/did.json", "1", "non-public"),
        ("https://192.168.1.5", "https://192.168.1.5/x", "1", "non-public"),
        ("https://169.254.169.254", "https://169.254.169.254/latest", "1", "non-public"),
        ("https://127.0.0.1", "https://127.0.0.1/did.json", "0", "non-public"),
        # Only IP literals here: a refused URL must be refused before any name lookup.
        ("http://93.184.216.34", "http://93.184.216.34/x", "1", "HTTPS"),
        ("https://93.184.216.34", "https://93.184.215.14/x", "1", "trusted origin"),
    ],
)
def test_outsider_fetcher_refuses_before_connecting(
    origin: str, url: str, switch: str, reason: str
) -> None:
    from ledger.standards.remote_documents import RemoteRefused

    fetcher = OutsiderFetcher.from_settings([origin], env={TEST_ONLY_LOOPBACK: switch})
    with pytest.raises(RemoteRefused, match=reason):
        fetcher.fetch(url)
