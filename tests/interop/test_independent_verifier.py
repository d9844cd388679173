"""Every demo credential verifies in Digital Bazaar's verifier, against a live ``ledger serve``.

The verifier (``tests/interop/verifier``: ``@digitalbazaar/vc`` with
``eddsa-rdfc-2022``, Data Integrity and the Bitstring Status List decoder, pinned
by ``package-lock.json`` and installed with ``npm ci``) carries only the published
contexts; it fetches our context, the issuers' did:web documents and the status
list credentials from the server, whose ``LEDGER_PUBLIC_URL`` is its real
address on 127.0.0.1, exactly as a verifier on the internet would over HTTPS.
The revoked credential must verify as signed but read ``revoked``, the suspended
one ``suspended``, every other ``valid``; on both stores.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from ledger.api.auth import mint_dev_token

from ledger.settings import Settings
from tests.e2e.conftest import free_port, serving

VERIFIER = Path(__file__).resolve().parent / "verifier"
CLI = [sys.executable, "-m", "ledger.cli.main"]


def ensure_verifier_installed() -> None:
    """``npm ci`` from the lockfile once (scripts/setup.sh does it too); fail clearly without Node."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("Node.js 20 and npm are needed for the independent verifier test")
    marker = VERIFIER / "node_modules" / ".package-lock.json"
    lock = VERIFIER / "package-lock.json"
    if marker.is_file() and marker.stat().st_mtime >= lock.stat().st_mtime:
        return
    installed = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--prefer-offline"],
        cwd=VERIFIER,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if installed.returncode != 0:
        pytest.fail(f"npm ci failed in {VERIFIER}: {installed.stderr[-2000:]}")


@pytest.fixture
def demo_server(store_url: str, tmp_path: Path) -> Iterator[tuple[str, dict[str, Any], Settings]]:
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
    subprocess.run([*CLI, "init"], env=env, check=True, capture_output=True, timeout=120)
    made = subprocess.run(
        [*CLI, "demo", "--json"], env=env, check=True, capture_output=True, text=True, timeout=300
    )
    with serving(env, tmp_path, port=port) as served:
        assert served == url
        yield url, json.loads(made.stdout), Settings.from_env(env)


def _exports(url: str, made: dict[str, Any], settings: Settings) -> list[dict[str, Any]]:
    """Every demo credential, exported over HTTP by an administrator of its issuer."""
    credentials = made["credentials"]
    university, college = made["issuers"]["university"], made["issuers"]["college"]
    wanted = [
        *((f"cohort-{n}", cid, university) for n, cid in enumerate(credentials["cohort"])),
        ("badge", credentials["badge"], university),
        ("energy", credentials["energy"], college),
    ]
    admins = {university: "alice@uni.example", college: "bob@hs.example"}
    exports = []
    with httpx.Client(base_url=url, timeout=60) as client:
        for name, credential_id, issuer_id in wanted:
            token = mint_dev_token(
                settings, role="administrator", subject=admins[issuer_id], issuer_id=issuer_id
            )
            response = client.get(
                f"/v1/credentials/{credential_id}/export",
                headers={"Authorization": f"Bearer {token}"},
            )
            assert response.status_code == 200, response.text
            exports.append({"name": name, "id": credential_id, "document": response.json()})
    return exports


def test_every_demo_credential_verifies_in_digital_bazaars_verifier(
    demo_server: tuple[str, dict[str, Any], Settings], tmp_path: Path
) -> None:
    ensure_verifier_installed()
    url, made, settings = demo_server
    exports = _exports(url, made, settings)
    assert len(exports) == 14
    # Our exports name our context at this server, not a URL that does not resolve.
    assert exports[0]["document"]["@context"][2] == f"{url}/contexts/ob-extensions-v2.json"
    tampered = json.loads(json.dumps(exports[0]))
    tampered["name"] = "tampered"
    tampered["document"]["credentialSubject"]["achievement"]["name"] = "Something else"
    items = [*exports, tampered]
    path = tmp_path / "input.json"
    path.write_text(json.dumps({"base": url, "credentials": items}))
    result = subprocess.run(
        ["node", str(VERIFIER / "verify.mjs"), str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    results = {r["name"]: r for r in json.loads(result.stdout)["results"]}
    revoked = made["credentials"]["revoked"]
    suspended = made["credentials"]["suspended"]
    for item in exports:
        found = results[item["name"]]
        assert found["verified"], found
        expected = {revoked: "revoked", suspended: "suspended"}.get(item["id"], "valid")
        assert found["status"] == expected, (item["name"], found)
    assert results["tampered"]["verified"] is False
    assert "tampered" not in {r["name"] for r in results.values() if r["verified"]}
