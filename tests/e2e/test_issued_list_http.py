"""The issued list over real HTTP, on both stores: search by learner subject, filters by
achievement, state and issue date, paging that never ends early, CSV export, and
nothing of it for anyone who does not administer the institution."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from ledger.cli.demo import EDUBADGE_BOARD
from tests.e2e.conftest import Server
from tests.e2e.test_api import achievement_body, assert_problem
from tests.e2e.test_console_institutions import onboard


def import_cohort(
    server: Server, issuer_id: UUID, headers: dict[str, str], achievement: str, subjects: list[str]
) -> list[str]:
    text = "learner_subject\r\n" + "".join(f"{s}\r\n" for s in subjects)
    response = server.client.post(
        f"/v1/issuers/{issuer_id}/cohorts/csv",
        params={"achievement_id": achievement},
        content=text.encode(),
        headers={**headers, "Content-Type": "text/csv", "Idempotency-Key": f"k-{time.time()}"},
    )
    assert response.status_code == 201, response.text
    return [str(c) for c in response.json()["credential_ids"]]


def search(server: Server, issuer_id: UUID, headers: dict[str, str], **body: Any) -> Any:
    response = server.client.post(
        f"/v1/issuers/{issuer_id}/credentials/search", json=body, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_search_filter_page_and_export(server: Server) -> None:
    client = server.client
    issuer_id = onboard(server, "Uni", "alice")
    alice = server.token("administrator", "alice", issuer_id)
    micro = client.post(
        f"/v1/issuers/{issuer_id}/achievements", json=achievement_body(), headers=alice
    ).json()["id"]
    badge = client.post(
        f"/v1/issuers/{issuer_id}/achievements", json=EDUBADGE_BOARD, headers=alice
    ).json()["id"]
    subjects = [f"s{n:02d}@student.example" for n in range(30)]
    first = import_cohort(server, issuer_id, alice, micro, subjects)
    between = datetime.now(UTC)
    second = import_cohort(server, issuer_id, alice, badge, subjects[:5])
    revoked = sorted(first[n] for n in (3, 14, 27))
    for credential_id in revoked:
        client.post(
            f"/v1/credentials/{credential_id}/revoke", json={"reason": "fraud"}, headers=alice
        ).raise_for_status()

    # By learner subject: both of s02's credentials, and only theirs.
    found = search(server, issuer_id, alice, learner_subject="s02@student.example")
    assert sorted(i["credential_id"] for i in found["items"]) == sorted([first[2], second[2]])
    assert {i["learner_id"] for i in found["items"]} == {
        str(server.ledger.learner_ids.of("s02@student.example"))
    }
    assert search(server, issuer_id, alice, learner_subject="nobody@x")["items"] == []

    # A rare state, two per page: 2, then 1, then nothing; never a short page before the end.
    page = search(server, issuer_id, alice, achievement_id=micro, state="revoked", limit=2)
    assert len(page["items"]) == 2 and page["next"]
    rest = search(
        server, issuer_id, alice, achievement_id=micro, state="revoked", limit=2, after=page["next"]
    )
    assert [i["credential_id"] for i in page["items"] + rest["items"]] == revoked
    assert rest["next"] is None
    assert search(server, issuer_id, alice, achievement_id=badge, state="revoked")["items"] == []

    # Issue dates: from inclusive, until exclusive.
    later = search(server, issuer_id, alice, issued_from=between.isoformat(), limit=500)
    assert sorted(i["credential_id"] for i in later["items"]) == sorted(second)
    earlier = search(server, issuer_id, alice, issued_until=between.isoformat(), limit=500)
    assert len(earlier["items"]) == 30
    listed = client.get(
        f"/v1/issuers/{issuer_id}/credentials",
        params={"achievement_id": badge, "issued_from": between.isoformat()},
        headers=alice,
    ).json()
    assert sorted(i["credential_id"] for i in listed["items"]) == sorted(second)
    backwards = client.post(
        f"/v1/issuers/{issuer_id}/credentials/search",
        json={"issued_from": between.isoformat(), "issued_until": "2000-01-01T00:00:00Z"},
        headers=alice,
    )
    assert_problem(backwards, 422, "invalid-input")

    exported = client.get(f"/v1/issuers/{issuer_id}/credentials/export.csv", headers=alice)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == 35 and "learner_subject" not in rows[0]
    only_revoked = client.get(
        f"/v1/issuers/{issuer_id}/credentials/export.csv",
        params={"state": "revoked"},
        headers=alice,
    )
    assert [r["credential_id"] for r in csv.DictReader(io.StringIO(only_revoked.text))] == revoked


def test_nothing_of_the_list_for_another_institution(server: Server) -> None:
    client = server.client
    mine = onboard(server, "Mine", "alice")
    other = onboard(server, "Other", "dave")
    dave = server.token("administrator", "dave", other)
    achievement = client.post(
        f"/v1/issuers/{other}/achievements", json=achievement_body(), headers=dave
    ).json()["id"]
    import_cohort(server, other, dave, achievement, ["held@student.example"])
    callers = (
        server.token("administrator", "alice", mine),
        server.token("administrator", "alice", other),
        server.token("learner", "held@student.example"),
        server.token("auditor", "alice"),
    )
    for headers in callers:
        for response in (
            client.post(
                f"/v1/issuers/{other}/credentials/search",
                json={"learner_subject": "held@student.example"},
                headers=headers,
            ),
            client.get(f"/v1/issuers/{other}/credentials/export.csv", headers=headers),
            client.get(f"/v1/issuers/{other}/credentials", headers=headers),
        ):
            assert response.status_code == 403, response.text
            assert "credential_id" not in response.text
    # Searching her own institution for their learner finds nothing.
    alice = server.token("administrator", "alice", mine)
    assert search(server, mine, alice, learner_subject="held@student.example")["items"] == []
