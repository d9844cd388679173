"""Issue, export, verify, revoke, verify again: through a real server, on both stores."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

from ledger.standards.bitstring_status_list import Bitstring
from tests.e2e.conftest import Server
from tests.e2e.test_api import assert_problem, issue, setup_issuer


def outcomes(report: dict[str, object]) -> dict[str, str]:
    return {c["check"]: c["outcome"] for c in report["checks"]}  # type: ignore[attr-defined]


def test_issue_export_verify_revoke_verify(server: Server, tmp_path: Path) -> None:
    client = server.client
    issuer_id, headers, achievement_id = setup_issuer(server)
    credential_id = issue(server, issuer_id, headers, achievement_id, "learner-a")

    exported = client.get(f"/v1/credentials/{credential_id}/export", headers=headers)
    assert exported.status_code == 200, exported.text
    document = exported.json()
    assert document["issuer"]["id"] == f"did:web:ledger.test:issuers:{issuer_id}"
    learner = server.token("learner", "learner-a")
    download = client.get(f"/v1/me/credentials/{credential_id}/export", headers=learner)
    assert download.status_code == 200
    assert "attachment" in download.headers["content-disposition"]
    assert download.json() == document

    report = client.post("/v1/credentials/check", json=document)
    assert report.status_code == 200, report.text
    assert report.json()["verified"], report.text

    tampered = json.loads(json.dumps(document))
    tampered["credentialSubject"]["achievement"]["creditsAvailable"] = 60.0
    assert not client.post("/v1/credentials/check", json=tampered).json()["verified"]

    path = tmp_path / "credential.json"
    path.write_text(json.dumps(document))
    cli = [
        sys.executable,
        "-m",
        "ledger.cli.main",
        "--store",
        server.settings.store.url,
        "check",
        str(path),
    ]
    env = {
        "LEDGER_PUBLIC_URL": "https://ledger.test",
        "LEDGER_ENV": "development",
        "LEDGER_KEY_DIR": str(server.settings.key_dir),
        "PATH": "",
    }
    result = subprocess.run(cli, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("VERIFIED")

    revoked = client.post(
        f"/v1/credentials/{credential_id}/revoke", json={"reason": "fraud"}, headers=headers
    )
    assert revoked.status_code == 204
    report = client.post("/v1/credentials/check", json=document).json()
    assert not report["verified"]
    # Issue 14: one two-bit "message" entry replaces the two one-bit entries.
    assert outcomes(report)["status:message"] == "failed"
    assert outcomes(report)["proof"] == "passed"
    result = subprocess.run(cli, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert result.returncode == 3, result.stdout + result.stderr


def test_exports_are_for_owners_only(server: Server) -> None:
    issuer_id, headers, achievement_id = setup_issuer(server)
    credential_id = issue(server, issuer_id, headers, achievement_id, "learner-a")
    other_issuer = server.register_issuer("Other", "mallory")
    other_admin = server.token("administrator", "mallory", other_issuer)
    other_learner = server.token("learner", "learner-b")
    client = server.client
    assert_problem(
        client.get(f"/v1/credentials/{credential_id}/export", headers=other_admin), 404, "not-found"
    )
    assert_problem(
        client.get(f"/v1/me/credentials/{credential_id}/export", headers=other_learner),
        404,
        "not-found",
    )
    assert_problem(
        client.get(f"/v1/me/credentials/{uuid4()}/export", headers=other_learner), 404, "not-found"
    )
    assert_problem(
        client.get(f"/v1/credentials/{credential_id}/export", headers=other_learner),
        403,
        "forbidden",
    )
    assert_problem(client.get(f"/v1/credentials/{credential_id}/export"), 401, "unauthenticated")
    assert_problem(
        client.post(f"/v1/me/credentials/{credential_id}/linkedin", headers=other_learner),
        404,
        "not-found",
    )
    assert_problem(
        client.post(
            "/v1/credentials/check", content=b"[1, 2]", headers={"content-type": "application/json"}
        ),
        422,
        "invalid-input",
    )
    assert_problem(
        client.post("/v1/credentials/check?tolerate=everything", json={}), 422, "invalid-input"
    )


def test_status_list_credentials_dids_and_linkedin(server: Server) -> None:
    client = server.client
    issuer_id, headers, achievement_id = setup_issuer(server)
    credential_id = issue(server, issuer_id, headers, achievement_id, "learner-a")
    url = f"/v1/status-lists/{issuer_id}/1/suspension/credential"
    first = client.get(url)
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("application/vc")
    assert "max-age" in first.headers["cache-control"]
    etag = first.headers["etag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    client.post(
        f"/v1/credentials/{credential_id}/suspend", json={"reason": "check"}, headers=headers
    )
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert_problem(
        client.get(f"/v1/status-lists/{uuid4()}/1/suspension/credential"), 404, "not-found"
    )
    # The two-bit list that exports from context v2 on name: suspended is 0b01.
    message = client.get(f"/v1/status-lists/{issuer_id}/1/message/credential").json()
    assert message["credentialSubject"]["statusPurpose"] == "message"
    entry = client.get(f"/v1/credentials/{credential_id}/export", headers=headers).json()[
        "credentialStatus"
    ]
    bits = Bitstring.decode(message["credentialSubject"]["encodedList"], status_size=2)
    assert bits.get_status(int(entry["statusListIndex"]), 2) == 1

    did = client.get(f"/issuers/{issuer_id}/did.json").json()
    assert did["id"] == f"did:web:ledger.test:issuers:{issuer_id}"
    assert did["verificationMethod"][0]["type"] == "Multikey"
    assert client.get("/.well-known/did.json").json()["id"] == "did:web:ledger.test"
    assert_problem(client.get(f"/issuers/{uuid4()}/did.json"), 404, "not-found")
    assert "studyLoad" in client.get("/contexts/ob-extensions-v1.json").json()["@context"]

    learner = server.token("learner", "learner-a")
    shared = client.post(f"/v1/me/credentials/{credential_id}/linkedin", headers=learner)
    assert shared.status_code == 201, shared.text
    link = shared.json()
    query = parse_qs(urlsplit(link["url"]).query)
    assert link["url"].startswith("https://www.linkedin.com/profile/add?")
    assert query["startTask"] == ["CERTIFICATION_NAME"]
    assert query["organizationName"] == ["Uni"]
    assert query["certUrl"] == [link["cert_url"]]
    token = link["cert_url"].rsplit("/", 1)[1]
    assert client.get(f"/v1/shared/{token}").status_code == 200
