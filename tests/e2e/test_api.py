"""The HTTP API through a real server, on both stores: flows, crossings, problems, caching."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from ledger.cli.demo import EDUBADGE_BOARD, MICRO_DATA_SCIENCE
from ledger.standards.bitstring_status_list import Bitstring
from tests.e2e.conftest import Server

PROBLEM = "application/problem+json"


def achievement_body(**overrides: Any) -> dict[str, Any]:
    body = {**MICRO_DATA_SCIENCE, "ects": "5", **overrides}
    return body


def assert_problem(response: Any, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["type"] == f"urn:ledger:problem:{kind}"
    assert body["status"] == status
    return body  # type: ignore[no-any-return]


def setup_issuer(
    server: Server, name: str = "Uni", admin: str = "alice"
) -> tuple[UUID, dict[str, str], str]:
    issuer_id = server.register_issuer(name, admin)
    headers = server.token("administrator", admin, issuer_id)
    response = server.client.post(
        f"/v1/issuers/{issuer_id}/achievements", json=achievement_body(), headers=headers
    )
    assert response.status_code == 201, response.text
    return issuer_id, headers, response.json()["id"]


def issue(
    server: Server, issuer_id: UUID, headers: dict[str, str], achievement_id: str, subject: str
) -> str:
    response = server.client.post(
        f"/v1/issuers/{issuer_id}/credentials",
        json={
            "achievement_id": achievement_id,
            "credential": {"learner_subject": subject, "result": {"grade": "8"}},
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_administrator_flow(server: Server) -> None:
    issuer_id, headers, achievement_id = setup_issuer(server)
    client = server.client
    credential_id = issue(server, issuer_id, headers, achievement_id, "learner-a")
    for action in ("suspend", "reinstate", "revoke"):
        response = client.post(
            f"/v1/credentials/{credential_id}/{action}",
            json={"reason": f"{action} it"},
            headers=headers,
        )
        assert response.status_code == 204, response.text
    assert_problem(
        client.post(
            f"/v1/credentials/{credential_id}/reinstate", json={"reason": "again"}, headers=headers
        ),
        409,
        "credential-revoked",
    )
    cohort = {
        "achievement_id": achievement_id,
        "credentials": [{"learner_subject": f"c{n}"} for n in range(50)],
    }
    first = client.post(
        f"/v1/issuers/{issuer_id}/cohorts",
        json=cohort,
        headers={**headers, "Idempotency-Key": "k1"},
    )
    assert first.status_code == 201, first.text
    again = client.post(
        f"/v1/issuers/{issuer_id}/cohorts",
        json=cohort,
        headers={**headers, "Idempotency-Key": "k1"},
    )
    assert again.json() == first.json()
    other = {**cohort, "credentials": cohort["credentials"][:-1]}
    assert_problem(
        client.post(
            f"/v1/issuers/{issuer_id}/cohorts",
            json=other,
            headers={**headers, "Idempotency-Key": "k1"},
        ),
        422,
        "idempotency-key-reused",
    )
    assert_problem(
        client.post(f"/v1/issuers/{issuer_id}/cohorts", json=cohort, headers=headers),
        422,
        "invalid-input",
    )
    page = client.get(
        f"/v1/issuers/{issuer_id}/credentials", params={"limit": 20}, headers=headers
    ).json()
    assert len(page["items"]) == 20 and page["next"]
    rest = client.get(
        f"/v1/issuers/{issuer_id}/credentials",
        params={"limit": 500, "after": page["next"]},
        headers=headers,
    ).json()
    assert len(page["items"]) + len(rest["items"]) == 51
    revoked = client.get(
        f"/v1/issuers/{issuer_id}/credentials", params={"state": "revoked"}, headers=headers
    ).json()
    assert [i["credential_id"] for i in revoked["items"]] == [credential_id]
    rotated = client.post(f"/v1/issuers/{issuer_id}/keys/rotate", headers=headers)
    assert rotated.status_code == 201 and rotated.json()["kid"].startswith("ed25519:")
    revision = client.post(
        f"/v1/achievements/{achievement_id}/revisions",
        json={
            "achievement": achievement_body(title="Data Science Foundations II"),
            "reason": "new title",
        },
        headers=headers,
    )
    assert revision.json() == {"revision": 2}


def test_bad_input_names_the_field_and_changes_nothing(server: Server) -> None:
    issuer_id, headers, _ = setup_issuer(server)
    before = server.ledger.recorder.max_notification_id()
    body = assert_problem(
        server.client.post(
            f"/v1/issuers/{issuer_id}/achievements",
            json=achievement_body(eqf_level=11),
            headers=headers,
        ),
        422,
        "invalid-input",
    )
    assert "eqf_level" in body["detail"]
    low = assert_problem(
        server.client.post(
            f"/v1/issuers/{issuer_id}/achievements",
            json=achievement_body(study_load_hours=28, ects="1"),
            headers=headers,
        ),
        409,
        "study-load-too-low",
    )
    assert "84" in low["detail"]
    assert_problem(
        server.client.post(
            f"/v1/issuers/{issuer_id}/achievements", content=b"{not json", headers=headers
        ),
        422,
        "invalid-input",
    )
    assert server.ledger.recorder.max_notification_id() == before


def test_authentication_is_required_and_checked(server: Server) -> None:
    issuer_id, _, _ = setup_issuer(server)
    client = server.client
    assert_problem(client.get("/v1/me/backpack"), 401, "unauthenticated")
    assert_problem(
        client.get("/v1/me/backpack", headers={"Authorization": "Bearer nonsense"}),
        401,
        "unauthenticated",
    )
    expired = server.token("learner", "x", ttl=-120)
    assert_problem(client.get("/v1/me/backpack", headers=expired), 401, "unauthenticated")
    assert_problem(
        client.post(f"/v1/issuers/{issuer_id}/keys/rotate", headers=server.token("learner", "x")),
        403,
        "forbidden",
    )


def test_crossings_get_403_or_404_never_data(server: Server) -> None:
    ours, our_headers, our_achievement = setup_issuer(server, "Ours", "alice")
    theirs, their_headers, their_achievement = setup_issuer(server, "Theirs", "bob")
    theirs_credential = issue(server, theirs, their_headers, their_achievement, "bobs-learner")
    client = server.client
    assert_problem(
        client.post(
            f"/v1/credentials/{theirs_credential}/revoke", json={"reason": "x"}, headers=our_headers
        ),
        404,
        "not-found",
    )
    assert_problem(
        client.post(
            f"/v1/issuers/{theirs}/credentials",
            json={"achievement_id": their_achievement, "credential": {"learner_subject": "z"}},
            headers=our_headers,
        ),
        403,
        "forbidden",
    )
    assert_problem(
        client.get(f"/v1/issuers/{theirs}/credentials", headers=our_headers), 403, "forbidden"
    )
    assert_problem(
        client.get(f"/v1/issuers/{theirs}/exemption-claims", headers=our_headers), 403, "forbidden"
    )
    stranger = server.token("learner", "someone-else")
    assert_problem(
        client.get(f"/v1/me/credentials/{theirs_credential}", headers=stranger), 404, "not-found"
    )
    assert client.get("/v1/me/backpack", headers=stranger).json()["credentials"] == []
    assert_problem(
        client.post(
            "/v1/me/share-links", json={"credential_ids": [theirs_credential]}, headers=stranger
        ),
        404,
        "not-found",
    )
    unknown_admin = server.token("administrator", "mallory", ours)
    assert_problem(
        client.post(
            f"/v1/issuers/{ours}/credentials",
            json={"achievement_id": our_achievement, "credential": {"learner_subject": "z"}},
            headers=unknown_admin,
        ),
        403,
        "forbidden",
    )
    assert_problem(
        client.get(f"/v1/status/{theirs_credential}", headers=stranger), 403, "forbidden"
    )
    assert_problem(
        client.get("/v1/audit/log", headers=server.token("verifier", "v")), 403, "forbidden"
    )


def test_reads_follow_the_write_rule_and_refusals_hide_records(server: Server) -> None:
    """Two institutions, two learners (issue 10 item 4): an administrator token whose
    subject is not on its institution's list reads nothing of it; where a 403 would
    confirm that another institution's or learner's record exists the answer is 404,
    and no answer names the owning issuer."""
    ours, our_headers, our_achievement = setup_issuer(server, "Ours", "alice")
    theirs, their_headers, their_achievement = setup_issuer(server, "Theirs", "bob")
    client = server.client
    our_credential = issue(server, ours, our_headers, our_achievement, "lina")
    their_credential = issue(server, theirs, their_headers, their_achievement, "lina")
    karel_credential = issue(server, ours, our_headers, our_achievement, "karel")
    lina, karel = server.token("learner", "lina"), server.token("learner", "karel")
    claim = client.post(
        "/v1/me/exemption-claims",
        json={"institution_id": str(theirs), "programme": "B", "credential_ids": [our_credential]},
        headers=lina,
    )
    assert claim.status_code == 201, claim.text
    claim_id = claim.json()["id"]

    def hidden(response: Any) -> None:
        body = assert_problem(response, 404, "not-found")
        assert str(theirs) not in response.text and str(ours) not in body["detail"]

    # Reads: a subject the institution never admitted, with a token scoped to it.
    mallory = server.token("administrator", "mallory", ours)
    for path in (f"/v1/issuers/{ours}/credentials", f"/v1/issuers/{ours}/exemption-claims"):
        assert_problem(client.get(path, headers=mallory), 403, "forbidden")
    mallory_theirs = server.token("administrator", "mallory", theirs)
    assert_problem(
        client.get(f"/v1/issuers/{theirs}/exemption-claims", headers=mallory_theirs),
        403,
        "forbidden",
    )
    hidden(client.get(f"/v1/credentials/{our_credential}/export", headers=mallory))
    assert client.get(f"/v1/issuers/{ours}/credentials", headers=our_headers).status_code == 200

    # Another institution's records, named by an administrator of ours.
    revision = {"achievement": achievement_body(), "reason": "mine now"}
    hidden(
        client.post(
            f"/v1/achievements/{their_achievement}/revisions", json=revision, headers=our_headers
        )
    )
    hidden(
        client.post(
            f"/v1/issuers/{ours}/credentials",
            json={"achievement_id": their_achievement, "credential": {"learner_subject": "z"}},
            headers=our_headers,
        )
    )
    hidden(
        client.post(
            f"/v1/exemption-claims/{claim_id}/decision",
            json={"approve": True, "reason": "x"},
            headers=our_headers,
        )
    )
    hidden(
        client.post(
            f"/v1/credentials/{their_credential}/revoke", json={"reason": "x"}, headers=our_headers
        )
    )

    # Another learner's records, named by a learner.
    hidden(client.post(f"/v1/me/exemption-claims/{claim_id}/withdraw", json={}, headers=karel))
    hidden(
        client.post(
            "/v1/me/exemption-claims",
            json={
                "institution_id": str(theirs),
                "programme": "B",
                "credential_ids": [our_credential],
            },
            headers=karel,
        )
    )
    expires = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    hidden(
        client.post(
            "/v1/me/consents",
            json={
                "grantee": "hr",
                "credential_ids": [our_credential],
                "purpose": "p",
                "expires_at": expires,
            },
            headers=karel,
        )
    )
    hidden(client.get(f"/v1/me/credentials/{our_credential}/export", headers=karel))
    assert client.get(f"/v1/me/credentials/{karel_credential}", headers=karel).status_code == 200
    # Nothing changed: the claim is still pending, the revision was not added.
    pending = client.get(f"/v1/issuers/{theirs}/exemption-claims", headers=their_headers).json()
    assert [c["claim_id"] for c in pending["items"]] == [claim_id]


def test_an_amendment_is_checked_like_an_issuance(server: Server) -> None:
    """``"result": null`` (issue 10 item 3) and every other invalid field of an amendment
    is refused with 422 and changes nothing; the learner's backpack keeps working."""
    issuer_id, headers, achievement_id = setup_issuer(server)
    credential_id = issue(server, issuer_id, headers, achievement_id, "amy")
    client = server.client
    amend = f"/v1/credentials/{credential_id}/amend"
    for bad in (
        {"result": None},
        {"result": {"grade": 9}},
        {"result": ["9"]},
        {"achievement_revision": None},
        {"achievement_revision": 0},
        {"evidence": None},
        {"evidence": [1]},
        {"valid_until": "2030-01-01"},
        {"learner_id": str(uuid4())},
        {},
    ):
        response = client.post(amend, json={"reason": "x", **bad}, headers=headers)
        assert_problem(response, 422, "invalid-input")
    learner = server.token("learner", "amy")
    backpack = client.get("/v1/me/backpack", headers=learner)
    assert backpack.status_code == 200, backpack.text
    [credential] = backpack.json()["credentials"]
    assert credential["result"] == {"grade": "8"} and credential["amendments"] == 0
    fixed = client.post(
        amend, json={"reason": "regraded", "result": {"grade": "9"}}, headers=headers
    )
    assert fixed.status_code == 204, fixed.text
    open_ended = client.post(amend, json={"reason": "no end", "valid_until": None}, headers=headers)
    assert open_ended.status_code == 204, open_ended.text
    for path in (
        f"/v1/me/credentials/{credential_id}",
        f"/v1/me/credentials/{credential_id}/export",
    ):
        assert client.get(path, headers=learner).status_code == 200
    assert client.get(f"/v1/me/credentials/{credential_id}", headers=learner).json()["result"] == {
        "grade": "9"
    }


def test_learner_sharing_consent_and_lookup(server: Server) -> None:
    issuer_id, headers, achievement_id = setup_issuer(server)
    client = server.client
    credential_id = issue(server, issuer_id, headers, achievement_id, "lea")
    learner = server.token("learner", "lea")
    backpack = client.get("/v1/me/backpack", headers=learner).json()
    assert [c["credential_id"] for c in backpack["credentials"]] == [credential_id]
    assert backpack["credentials"][0]["achievement"]["title"] == MICRO_DATA_SCIENCE["title"]
    link = client.post(
        "/v1/me/share-links", json={"credential_ids": [credential_id]}, headers=learner
    ).json()
    assert link["url"].startswith("https://ledger.test/v1/shared/")
    shared = client.get(f"/v1/shared/{link['token']}")
    assert shared.status_code == 200 and "learner_id" not in shared.json()["credentials"][0]
    assert client.delete(f"/v1/me/share-links/{link['id']}", headers=learner).status_code == 204
    assert_problem(client.get(f"/v1/shared/{link['token']}"), 404, "not-found")

    employer = server.token("verifier", "hr@acme")
    lookup = {
        "learner_id": str(server.ledger.learner_ids.of("lea")),
        "credential_id": credential_id,
        "purpose": "hiring",
    }
    assert_problem(client.post("/v1/lookups", json=lookup, headers=employer), 403, "forbidden")
    expires = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    consent = client.post(
        "/v1/me/consents",
        json={
            "grantee": "hr@acme",
            "credential_ids": [credential_id],
            "purpose": "hiring",
            "expires_at": expires,
        },
        headers=learner,
    )
    assert consent.status_code == 201, consent.text
    found = client.post("/v1/lookups", json=lookup, headers=employer)
    assert found.status_code == 200, found.text
    assert found.json()["achievement"]["eqf_level"] == 6
    assert_problem(
        client.post("/v1/lookups", json=lookup, headers=server.token("verifier", "hr@other")),
        403,
        "forbidden",
    )
    seen = client.get("/v1/me/backpack", headers=learner).json()
    assert [entry["grantee"] for entry in seen["lookups"]] == ["hr@acme"]
    assert (
        client.delete(f"/v1/me/consents/{consent.json()['id']}", headers=learner).status_code == 204
    )
    assert_problem(client.post("/v1/lookups", json=lookup, headers=employer), 403, "forbidden")
    status = client.get(f"/v1/status/{credential_id}", headers=employer).json()
    assert status == {"credential_id": credential_id, "status": "active"}


def test_exemption_claims_over_http(server: Server) -> None:
    home, home_headers, achievement_id = setup_issuer(server, "Home", "alice")
    receiver, receiver_headers, _ = setup_issuer(server, "Receiver", "rita")
    credential_id = issue(server, home, home_headers, achievement_id, "lars")
    learner = server.token("learner", "lars")
    claim = server.client.post(
        "/v1/me/exemption-claims",
        json={
            "institution_id": str(receiver),
            "programme": "B ICT",
            "credential_ids": [credential_id],
        },
        headers=learner,
    )
    assert claim.status_code == 201, claim.text
    pending = server.client.get(
        f"/v1/issuers/{receiver}/exemption-claims", headers=receiver_headers
    ).json()["items"]
    assert [c["claim_id"] for c in pending] == [claim.json()["id"]]
    assert_problem(
        server.client.post(
            f"/v1/exemption-claims/{claim.json()['id']}/decision",
            json={"approve": True, "reason": "x"},
            headers=home_headers,
        ),
        404,
        "not-found",
    )
    decided = server.client.post(
        f"/v1/exemption-claims/{claim.json()['id']}/decision",
        json={"approve": False, "reason": "no match"},
        headers=receiver_headers,
    )
    assert decided.status_code == 204
    assert (
        server.client.get("/v1/me/backpack", headers=learner).json()["exemption_claims"][0]["state"]
        == "rejected"
    )


def test_status_lists_are_cacheable(server: Server) -> None:
    issuer_id, headers, achievement_id = setup_issuer(server)
    credential_id = issue(server, issuer_id, headers, achievement_id, "s1")
    url = f"/v1/status-lists/{issuer_id}/1/revocation"
    first = server.client.get(url)
    assert first.status_code == 200
    assert "max-age" in first.headers["cache-control"]
    etag = first.headers["etag"]
    assert server.client.get(url, headers={"If-None-Match": etag}).status_code == 304
    server.client.post(
        f"/v1/credentials/{credential_id}/revoke", json={"reason": "fraud"}, headers=headers
    )
    changed = server.client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert Bitstring.decode(changed.json()["encodedList"]).count() == 1
    assert_problem(server.client.get(f"/v1/status-lists/{uuid4()}/1/revocation"), 404, "not-found")
    assert_problem(server.client.get(f"/v1/status-lists/{issuer_id}/1/other"), 422, "invalid-input")


def test_auditor_reads_the_signed_log(server: Server) -> None:
    issuer_id, headers, achievement_id = setup_issuer(server)
    credential_id = issue(server, issuer_id, headers, achievement_id, "s1")
    server.client.post(
        f"/v1/credentials/{credential_id}/suspend", json={"reason": "check"}, headers=headers
    )
    auditor = server.token("auditor", "eve")
    page = server.client.get("/v1/audit/log", params={"limit": 3}, headers=auditor).json()
    assert len(page["events"]) == 3 and page["next_after"] == page["events"][-1]["position"]
    rest = server.client.get(
        "/v1/audit/log", params={"after": page["next_after"], "limit": 1000}, headers=auditor
    ).json()
    positions = [e["position"] for e in page["events"] + rest["events"]]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    event = rest["events"][-1]
    assert event["topic"] == "ledger/Credential/Suspended" and len(event["hash"]) == 64
    trail = server.client.get(
        f"/v1/audit/trails/credential/{credential_id}", headers=auditor
    ).json()["items"]
    assert [t["reason"] for t in trail] == [None, "check"]
    state = server.client.get(
        f"/v1/audit/credentials/{credential_id}/state",
        params={"position": trail[0]["position"]},
        headers=auditor,
    ).json()
    assert state["state"]["status"] == "active"
    assert_problem(
        server.client.get(f"/v1/audit/trails/weather/{credential_id}", headers=auditor),
        422,
        "invalid-input",
    )


def test_operations_routes(server: Server) -> None:
    assert server.client.get("/healthz").json() == {"status": "ok"}
    ready = server.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    response = server.client.get("/healthz", headers={"X-Request-ID": "abc123"})
    assert response.headers["x-request-id"] == "abc123"
    metrics = server.client.get("/metrics").text
    assert "ledger_http_requests_total" in metrics and "ledger_projection_lag_events" in metrics
    spec = server.client.get("/openapi.json").json()
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
    assert "Problem" in spec["components"]["schemas"]
    assert "/v1/me/backpack" in spec["paths"]


def test_edubadge_over_http(server: Server) -> None:
    issuer_id = server.register_issuer("Badges", "b")
    headers = server.token("administrator", "b", issuer_id)
    response = server.client.post(
        f"/v1/issuers/{issuer_id}/achievements", json=EDUBADGE_BOARD, headers=headers
    )
    assert response.status_code == 201, response.text
