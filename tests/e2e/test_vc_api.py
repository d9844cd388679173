"""The W3C VC API verifier routes over real HTTP, on both stores."""

from __future__ import annotations

import copy
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.standards.dataintegrity import did_key_verification_method, sign
from ledger.standards.dataintegrity.loader import serve_own_context
from tests.e2e.conftest import Server
from tests.e2e.test_api import assert_problem, issue, setup_issuer


def _presentation(credentials: list[dict[str, Any]], holder: str) -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "holder": holder,
        "verifiableCredential": credentials,
    }


def test_vc_api_verifies_credentials_and_presentations(server: Server) -> None:
    client = server.client
    issuer_id, headers, achievement_id = setup_issuer(server)
    ids = [issue(server, issuer_id, headers, achievement_id, f"learner-{n}") for n in range(2)]
    exported = [client.get(f"/v1/credentials/{i}/export", headers=headers).json() for i in ids]

    ok = client.post("/credentials/verify", json={"verifiableCredential": exported[0]})
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert body["verified"] is True and body["errors"] == []
    assert {"proof", "status:message", "validity-period"} <= set(body["checks"])
    assert body["report"]["verified"] is True

    tampered = copy.deepcopy(exported[0])
    tampered["name"] = "Something else"
    refused = client.post("/credentials/verify", json={"verifiableCredential": tampered})
    assert refused.status_code == 400
    assert refused.json()["verified"] is False
    assert [e["title"] for e in refused.json()["errors"]] == ["proof"]

    # A presentation signed by its holder (did:key), bound to the verifier's challenge;
    # the wallet signing it knows the context its credentials name.
    serve_own_context(server.settings.public_url)
    holder_key = Ed25519PrivateKey.generate()
    method = did_key_verification_method(holder_key.public_key())
    holder = method.split("#")[0]
    signed = sign(
        _presentation(exported, holder),
        private_key=holder_key,
        verification_method=method,
        created=None,
        proof_purpose="authentication",
        challenge="nonce-123",
        domain="https://employer.example",
    )
    options = {"challenge": "nonce-123", "domain": "https://employer.example"}
    answer = client.post(
        "/presentations/verify", json={"verifiablePresentation": signed, "options": options}
    )
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["verified"] is True and result["checks"] == ["proof"]
    assert [r["verified"] for r in result["credentialResults"]] == [True, True]

    replayed = client.post(
        "/presentations/verify",
        json={"verifiablePresentation": signed, "options": {**options, "challenge": "other"}},
    )
    assert replayed.status_code == 400
    assert "challenge" in replayed.json()["errors"][0]["detail"]
    stolen = {**signed, "holder": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"}
    assert (
        client.post(
            "/presentations/verify", json={"verifiablePresentation": stolen, "options": options}
        ).status_code
        == 400
    )

    # Unsigned: checked credential by credential, with a warning; a revoked one fails it.
    unsigned = _presentation(exported, holder)
    plain = client.post("/presentations/verify", json={"verifiablePresentation": unsigned})
    assert plain.status_code == 200 and plain.json()["warnings"][0]["type"] == "NO_PROOF"
    assert (
        client.post(
            "/presentations/verify", json={"verifiablePresentation": unsigned, "options": options}
        ).status_code
        == 400
    )
    client.post(f"/v1/credentials/{ids[1]}/revoke", json={"reason": "fraud"}, headers=headers)
    after = client.post("/presentations/verify", json={"verifiablePresentation": unsigned})
    assert after.status_code == 400
    assert [r["verified"] for r in after.json()["credentialResults"]] == [True, False]

    assert_problem(
        client.post("/credentials/verify", json={"credential": {}}), 422, "invalid-input"
    )
    paths = client.get("/openapi.json").json()["paths"]
    assert "/credentials/verify" in paths and "/presentations/verify" in paths
    assert "400" in paths["/credentials/verify"]["post"]["responses"]
