"""A lookup for another purpose than the consent's is refused, recorded and shown to the
learner (issue 10, item 9), on both stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.e2e.conftest import Server
from tests.e2e.test_api import assert_problem, issue, setup_issuer


def test_a_lookup_for_another_purpose_is_refused_and_recorded(server: Server) -> None:
    issuer_id, admin, achievement_id = setup_issuer(server)
    credential_id = issue(server, issuer_id, admin, achievement_id, "pia")
    learner = server.token("learner", "pia")
    employer = server.token("verifier", "hr@acme")
    consent = server.client.post(
        "/v1/me/consents",
        json={
            "grantee": "hr@acme",
            "credential_ids": [credential_id],
            "purpose": "Job application: data analyst",
            "expires_at": (datetime.now(UTC) + timedelta(days=3)).isoformat(),
        },
        headers=learner,
    )
    assert consent.status_code == 201, consent.text
    lookup = {
        "learner_id": str(server.ledger.learner_ids.of("pia")),
        "credential_id": credential_id,
    }

    other = server.client.post(
        "/v1/lookups", json={**lookup, "purpose": "Marketing research"}, headers=employer
    )
    body = assert_problem(other, 403, "forbidden")
    assert "purpose" in body["detail"]
    assert "achievement" not in body

    same = server.client.post(
        "/v1/lookups",
        json={**lookup, "purpose": "job application:  Data Analyst"},
        headers=employer,
    )
    assert same.status_code == 200, same.text

    seen = server.client.get("/v1/me/backpack", headers=learner).json()["lookups"]
    assert [(s["purpose"], s["outcome"]) for s in seen] == [
        ("Marketing research", "refused"),
        ("job application:  Data Analyst", "shown"),
    ]
    auditor = server.token("auditor", "auditor@example")
    trail = server.client.get(
        f"/v1/audit/trails/learner/{server.ledger.learner_ids.of('pia')}", headers=auditor
    ).json()["items"]
    assert any(item["topic"] == "ledger/Learner/LookupRefused" for item in trail)
