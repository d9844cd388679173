"""The audit log route never serves a tampered event as valid (issue 10, item 2)."""

from __future__ import annotations

from tests.e2e.conftest import Server
from tests.e2e.test_api import issue, setup_issuer
from tests.rawstore import RawEvents


def test_the_audit_log_marks_a_tampered_event(server: Server) -> None:
    issuer_id, admin, achievement_id = setup_issuer(server)
    credential_id = issue(server, issuer_id, admin, achievement_id, "learner-t")
    auditor = server.token("auditor", "auditor@example")
    before = server.client.get("/v1/audit/log", params={"limit": 1000}, headers=auditor).json()
    assert before["events"] and all(e["verified"] for e in before["events"])

    raw = RawEvents(server.settings.store)
    raw.disable_guard()
    (row,) = [r for r in raw.rows() if str(r[1]) == credential_id]
    raw.set_state(row[1], row[2], row[4].replace(b'"grade"', b'"grady"'))

    after = server.client.get("/v1/audit/log", params={"limit": 1000}, headers=auditor)
    assert after.status_code == 200, after.text
    by_position = {e["position"]: e for e in after.json()["events"]}
    tampered = by_position[row[0]]
    assert tampered["verified"] is False
    assert tampered["problem"]
    assert all(e["verified"] for p, e in by_position.items() if p != row[0])
