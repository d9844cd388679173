"""The claims inbox over real HTTP, on both stores: pending claims with their evidence
checked live, decisions with a reason, decided claims searchable; other institutions
see nothing of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from tests.e2e.conftest import Server
from tests.e2e.test_api import achievement_body, assert_problem, issue
from tests.e2e.test_console_institutions import onboard


def submit(server: Server, learner: str, institution: UUID, programme: str, ids: list[str]) -> str:
    response = server.client.post(
        "/v1/me/exemption-claims",
        json={"institution_id": str(institution), "programme": programme, "credential_ids": ids},
        headers=server.token("learner", learner),
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def inbox(server: Server, issuer_id: UUID, headers: dict[str, str], **params: Any) -> Any:
    response = server.client.get(f"/v1/issuers/{issuer_id}/claims", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_inbox_checks_evidence_live_and_decisions_are_searchable(server: Server) -> None:
    client = server.client
    university = onboard(server, "Universiteit", "alice")
    college = onboard(server, "Hogeschool", "carol")
    alice = server.token("administrator", "alice", university)
    carol = server.token("administrator", "carol", college)
    achievement = client.post(
        f"/v1/issuers/{university}/achievements", json=achievement_body(), headers=alice
    ).json()["id"]
    good = issue(server, university, alice, achievement, "lea@student.example")
    later_revoked = issue(server, university, alice, achievement, "lea@student.example")
    other = issue(server, university, alice, achievement, "max@student.example")
    first = submit(server, "lea@student.example", college, "HBO-ICT", [good])
    second = submit(server, "lea@student.example", college, "HBO-ICT", [later_revoked])
    third = submit(server, "max@student.example", college, "Bedrijfskunde", [other])
    client.post(
        f"/v1/credentials/{later_revoked}/revoke", json={"reason": "fraud"}, headers=alice
    ).raise_for_status()

    pending = inbox(server, college, carol)["items"]
    by_id = {c["claim_id"]: c for c in pending}
    assert set(by_id) == {first, second, third}
    ok = by_id[first]["evidence"][0]
    assert ok["state"] == "active" and ok["signatures"].startswith("verified")
    assert ok["issuer_name"] == "Universiteit" and ok["held_by_claimant"] and ok["usable"]
    assert ok["achievement"] == achievement_body()["title"]
    # Revoked after the claim was made: the inbox reads the state now.
    gone = by_id[second]["evidence"][0]
    assert gone["state"] == "revoked" and not gone["usable"]

    for claim_id, approve, reason in (
        (first, True, "covers module 1"),
        (second, False, "the credential was revoked"),
    ):
        decided = client.post(
            f"/v1/exemption-claims/{claim_id}/decision",
            json={"approve": approve, "reason": reason},
            headers=carol,
        )
        assert decided.status_code == 204, decided.text
    no_reason = client.post(
        f"/v1/exemption-claims/{third}/decision", json={"approve": True}, headers=carol
    )
    assert_problem(no_reason, 422, "invalid-input")
    again = client.post(
        f"/v1/exemption-claims/{first}/decision",
        json={"approve": False, "reason": "changed my mind"},
        headers=carol,
    )
    assert again.status_code == 409, again.text

    assert [c["claim_id"] for c in inbox(server, college, carol)["items"]] == [third]
    approved = inbox(server, college, carol, state="approved")["items"]
    assert [(c["claim_id"], c["reason"]) for c in approved] == [(first, "covers module 1")]
    rejected = inbox(server, college, carol, state="rejected", programme="HBO-ICT")["items"]
    assert [c["claim_id"] for c in rejected] == [second]
    today = datetime.now(UTC)
    window = {
        "state": "approved",
        "decided_from": (today - timedelta(hours=1)).isoformat(),
        "decided_until": (today + timedelta(hours=1)).isoformat(),
    }
    assert len(inbox(server, college, carol, **window)["items"]) == 1
    window["decided_from"] = (today + timedelta(minutes=30)).isoformat()
    assert inbox(server, college, carol, **window)["items"] == []
    paged = inbox(server, college, carol, state="any", limit=2)
    assert len(paged["items"]) == 2 and paged["next"]
    rest = inbox(server, college, carol, state="any", limit=2, after=paged["next"])["items"]
    assert {c["claim_id"] for c in paged["items"] + rest} == {first, second, third}

    one = client.get(f"/v1/exemption-claims/{first}", headers=carol).json()
    assert one["state"] == "approved" and one["evidence"][0]["state"] == "active"

    # The issuing university is not the receiving institution: it sees nothing of the inbox.
    for headers in (alice, server.token("administrator", "alice", college)):
        assert_problem(
            client.get(f"/v1/issuers/{college}/claims", headers=headers), 403, "forbidden"
        )
        assert client.get(f"/v1/exemption-claims/{first}", headers=headers).status_code in (
            403,
            404,
        )
        refused = client.post(
            f"/v1/exemption-claims/{third}/decision",
            json={"approve": True, "reason": "x"},
            headers=headers,
        )
        assert refused.status_code in (403, 404), refused.text
    learner = server.token("learner", "max@student.example")
    assert_problem(client.get(f"/v1/issuers/{college}/claims", headers=learner), 403, "forbidden")
    assert inbox(server, college, carol)["items"][0]["state"] == "pending"
