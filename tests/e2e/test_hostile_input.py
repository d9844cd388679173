"""Hostile input at the edge of a real server, on both stores (issue 10, items 1, 5, 6).

Every one of these once gave a 500 or was stored: each must now be a 4xx
problem+json that carries ``X-Request-ID`` and changes nothing.
"""

from __future__ import annotations

import json
import time
from typing import Any
from uuid import uuid4

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.e2e.conftest import Server
from tests.e2e.test_api import PROBLEM, issue, setup_issuer

LATER = "2031-01-01T00:00:00Z"
BAD_INSTANTS = ["2099-01-01T00:00:00", "2025-01-01", "9999-12-31T23:59:59-14:00"]


def refused(response: Any, status: int = 422) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.headers.get("x-request-id")
    return response.json()  # type: ignore[no-any-return]


def world(server: Server) -> dict[str, Any]:
    issuer_id, admin, achievement_id = setup_issuer(server)
    credential_id = issue(server, issuer_id, admin, achievement_id, "learner-h")
    return {
        "issuer_id": issuer_id,
        "admin": admin,
        "achievement_id": achievement_id,
        "credential_id": credential_id,
        "learner": server.token("learner", "learner-h"),
        "auditor": server.token("auditor", "auditor@example"),
        "verifier": server.token("verifier", "hr@employer.example"),
    }


def test_control_characters_are_refused_in_every_text_field(server: Server) -> None:
    w = world(server)
    head = server.ledger.recorder.max_notification_id()
    client = server.client
    for text in ("a\x00b", "bell\x07", "esc\x1b["):
        bodies: list[tuple[str, dict[str, Any], dict[str, str]]] = [
            (
                "/v1/me/exemption-claims",
                {
                    "institution_id": str(w["issuer_id"]),
                    "programme": text,
                    "credential_ids": [w["credential_id"]],
                },
                w["learner"],
            ),
            (
                "/v1/me/consents",
                {
                    "grantee": text,
                    "purpose": "hiring",
                    "all_credentials": True,
                    "expires_at": LATER,
                },
                w["learner"],
            ),
            (
                "/v1/me/consents",
                {
                    "grantee": "hr",
                    "purpose": text,
                    "all_credentials": True,
                    "expires_at": LATER,
                },
                w["learner"],
            ),
            (
                f"/v1/credentials/{w['credential_id']}/suspend",
                {"reason": text},
                w["admin"],
            ),
            (
                f"/v1/issuers/{w['issuer_id']}/credentials",
                {
                    "achievement_id": w["achievement_id"],
                    "credential": {"learner_subject": "x", "result": {"grade": text}},
                },
                w["admin"],
            ),
            (
                "/v1/lookups",
                {
                    "learner_id": str(uuid4()),
                    "credential_id": w["credential_id"],
                    "purpose": text,
                },
                w["verifier"],
            ),
        ]
        for path, body, headers in bodies:
            refused(client.post(path, json=body, headers=headers))
    # Query strings and paths, percent-encoded or not.
    refused(client.get(f"/v1/issuers/{w['issuer_id']}/credentials?after=%00", headers=w["admin"]))
    refused(
        client.get(
            f"/v1/issuers/{w['issuer_id']}/exemption-claims?programme=a%00b", headers=w["admin"]
        )
    )
    refused(client.get("/v1/audit/trails/actor/a%00b", headers=w["auditor"]))
    refused(client.get("/v1/status-lists/x/1/revocation?x=%07"))
    assert server.ledger.recorder.max_notification_id() == head, "nothing was written"


def test_bad_instants_are_refused_in_every_datetime_field(server: Server) -> None:
    w = world(server)
    client = server.client
    for instant in BAD_INSTANTS:
        refused(
            client.post(
                "/v1/me/consents",
                json={
                    "grantee": "hr",
                    "purpose": "hiring",
                    "all_credentials": True,
                    "expires_at": instant,
                },
                headers=w["learner"],
            )
        )
        refused(
            client.post(
                "/v1/me/share-links",
                json={"credential_ids": [w["credential_id"]], "expires_at": instant},
                headers=w["learner"],
            )
        )
        for field in ("valid_from", "valid_until"):
            refused(
                client.post(
                    f"/v1/issuers/{w['issuer_id']}/credentials",
                    json={
                        "achievement_id": w["achievement_id"],
                        "credential": {"learner_subject": "x", field: instant},
                    },
                    headers=w["admin"],
                )
            )
        refused(
            client.post(
                f"/v1/credentials/{w['credential_id']}/amend",
                json={"reason": "fix", "valid_until": instant},
                headers=w["admin"],
            )
        )
        refused(
            client.get(
                f"/v1/audit/credentials/{w['credential_id']}/state",
                params={"at": instant},
                headers=w["auditor"],
            )
        )
    good = client.post(
        "/v1/me/consents",
        json={"grantee": "hr", "purpose": "hiring", "all_credentials": True, "expires_at": LATER},
        headers=w["learner"],
    )
    assert good.status_code == 201, good.text
    state = client.get(
        f"/v1/audit/credentials/{w['credential_id']}/state",
        params={"at": "2030-01-01T00:00:00+02:00"},
        headers=w["auditor"],
    )
    assert state.status_code == 200, state.text


def _forged(key: Any, algorithm: str, headers: dict[str, Any], **claims: Any) -> str:
    now = int(time.time())
    payload = {
        "iss": "ledger-dev",
        "aud": "ledger",
        "sub": "x",
        "iat": now,
        "exp": now + 60,
        "ledger_role": "auditor",
        **claims,
    }
    return jwt.PyJWS().encode(
        json.dumps(payload).encode(), key, algorithm=algorithm, headers=headers
    )


def test_hostile_tokens_are_401_with_a_request_id(server: Server) -> None:
    tokens = [
        _forged(ec.generate_private_key(ec.SECP256R1()), "ES256", {}),
        _forged(rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256", {}),
        _forged(ec.generate_private_key(ec.SECP256R1()), "ES256", {}, iss=5),
        _forged(ec.generate_private_key(ec.SECP256R1()), "ES256", {}, iss=["ledger-dev"]),
        "not.a.token",
    ]
    for token in tokens:
        response = server.client.get(
            "/v1/audit/log", headers={"Authorization": f"Bearer {token}", "X-Request-ID": "abc-1"}
        )
        refused(response, 401)
        assert response.headers["x-request-id"] == "abc-1"


@pytest.mark.parametrize("index", ["²", "1" * 5000, "-1", "0x10"])
def test_a_malformed_status_index_is_reported_not_a_crash(server: Server, index: str) -> None:
    w = world(server)
    exported = server.client.get(f"/v1/credentials/{w['credential_id']}/export", headers=w["admin"])
    assert exported.status_code == 200, exported.text
    document = exported.json()
    status = document["credentialStatus"]
    for entry in status if isinstance(status, list) else [status]:
        entry["statusListIndex"] = index
    response = server.client.post("/v1/credentials/check", json=document)
    assert response.status_code == 200, response.text
    assert response.json()["verified"] is False


def test_bodies_are_bounded_per_route(server: Server) -> None:
    w = world(server)
    big = {"grantee": "hr", "purpose": "x" * 1000, "expires_at": LATER, "pad": "y" * 200_000}
    refused(server.client.post("/v1/me/consents", json=big, headers=w["learner"]), 413)
    huge = {"@context": ["https://www.w3.org/ns/credentials/v2"], "pad": "z" * 5_000_000}
    refused(server.client.post("/v1/credentials/check", json=huge), 413)

    # A chunked body without a length is cut off at the limit as it arrives.
    def chunks() -> Any:
        for _ in range(100):
            yield b"x" * 10_000

    response = server.client.post(
        "/v1/me/consents",
        content=chunks(),
        headers={**w["learner"], "content-type": "application/json"},
    )
    refused(response, 413)


def test_unparsable_json_is_400(server: Server) -> None:
    w = world(server)
    response = server.client.post(
        "/v1/me/consents",
        content=b'{"grantee": ',
        headers={**w["learner"], "content-type": "application/json"},
    )
    body = refused(response, 400)
    assert body["type"] == "urn:ledger:problem:malformed-body"
    document = server.client.get("/openapi.json").json()
    responses = document["paths"]["/v1/me/consents"]["post"]["responses"]
    assert "400" in responses


def test_metric_labels_come_from_a_fixed_set(server: Server) -> None:
    for n in range(30):
        server.client.request(f"BREW{n}", "/healthz")
        server.client.get(f"/no/such/path/{n}")
    metrics = server.client.get("/metrics").text
    lines = [
        line for line in metrics.splitlines() if line.startswith("ledger_http_requests_total{")
    ]
    assert not any("BREW" in line for line in lines)
    assert not any("/no/such/path" in line for line in lines)
    assert any('method="OTHER"' in line for line in lines)
    assert any('route="unmatched"' in line for line in lines)


def test_presented_credentials_and_free_text_are_bounded(server: Server) -> None:
    w = world(server)
    costly = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "credentialSubject": {"items": [{"n": n} for n in range(600)]},
    }
    body = refused(server.client.post("/v1/credentials/check", json=costly), 422)
    assert body["type"] == "urn:ledger:problem:credential-too-costly"
    from tests.e2e.test_api import achievement_body

    long_criteria = achievement_body(criteria="c" * 20_000)
    refused(
        server.client.post(
            f"/v1/issuers/{w['issuer_id']}/achievements", json=long_criteria, headers=w["admin"]
        )
    )
    many_results = {f"r{n}": "x" for n in range(51)}
    refused(
        server.client.post(
            f"/v1/issuers/{w['issuer_id']}/credentials",
            json={
                "achievement_id": w["achievement_id"],
                "credential": {"learner_subject": "x", "result": many_results},
            },
            headers=w["admin"],
        )
    )
    refused(
        server.client.post(
            f"/v1/issuers/{w['issuer_id']}/credentials",
            json={
                "achievement_id": w["achievement_id"],
                "credential": {"learner_subject": "x", "evidence": ["e" * 2001]},
            },
            headers=w["admin"],
        )
    )
