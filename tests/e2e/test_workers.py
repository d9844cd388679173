"""Several workers and a separate projector on PostgreSQL, through real processes.

``ledger serve --workers 2`` and ``ledger project`` share one fresh schema. Concurrent
clients issue, suspend and read through both workers: every write must be visible to
the very next read (a writer waits for the projector), nothing may be lost or counted
twice, and every credential keeps a status list index of its own.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from uuid import UUID

import httpx
import orjson
import pytest
from ledger.projections.runner import ProjectionRunner

from ledger.demo import MICRO_DATA_SCIENCE
from tests.e2e.conftest import Cluster

CLIENTS = 6
PER_CLIENT = 8
COHORT = 40


def _issue_and_read(
    cluster: Cluster, issuer_id: UUID, achievement_id: str, client: int
) -> list[str]:
    """One client's own connection: issue, read at once, suspend, read at once."""
    admin = cluster.token("administrator", "alice", issuer_id)
    verifier = cluster.token("verifier", "hr@employer.example")
    issued: list[str] = []
    with httpx.Client(base_url=cluster.url, timeout=30) as http:
        for n in range(PER_CLIENT):
            subject = f"learner-{client}-{n}"
            created = http.post(
                f"/v1/issuers/{issuer_id}/credentials",
                json={"achievement_id": achievement_id, "credential": {"learner_subject": subject}},
                headers=admin,
            )
            assert created.status_code == 201, created.text
            credential_id = created.json()["id"]
            issued.append(credential_id)
            status = http.get(f"/v1/status/{credential_id}", headers=verifier)
            assert status.status_code == 200, status.text
            assert status.json()["status"] == "active"
            mine = http.get(
                f"/v1/me/credentials/{credential_id}", headers=cluster.token("learner", subject)
            )
            assert mine.status_code == 200, mine.text
            if n % 2:
                suspended = http.post(
                    f"/v1/credentials/{credential_id}/suspend",
                    json={"reason": "checking"},
                    headers=admin,
                )
                assert suspended.status_code == 204, suspended.text
                after = http.get(f"/v1/status/{credential_id}", headers=verifier)
                assert after.json()["status"] == "suspended"
    return issued


def _cohort(cluster: Cluster, issuer_id: UUID, achievement_id: str) -> list[str]:
    """The same cohort and Idempotency-Key, sent by a fresh connection each time."""
    with httpx.Client(base_url=cluster.url, timeout=60) as http:
        response = http.post(
            f"/v1/issuers/{issuer_id}/cohorts",
            json={
                "achievement_id": achievement_id,
                "credentials": [{"learner_subject": f"cohort-{n}"} for n in range(COHORT)],
            },
            headers={**cluster.token("administrator", "alice", issuer_id), "Idempotency-Key": "c1"},
        )
    assert response.status_code == 201, response.text
    return [str(i) for i in response.json()["credential_ids"]]


@pytest.mark.postgres
def test_workers_and_projector_keep_read_after_write_and_lose_nothing(cluster: Cluster) -> None:
    issuer_id = cluster.register_issuer("Uni", "alice")
    defined = cluster.client.post(
        f"/v1/issuers/{issuer_id}/achievements",
        json={**MICRO_DATA_SCIENCE, "ects": "5"},
        headers=cluster.token("administrator", "alice", issuer_id),
    )
    assert defined.status_code == 201, defined.text
    achievement_id = defined.json()["id"]

    with ThreadPoolExecutor(CLIENTS + 2) as pool:
        singles = [
            pool.submit(_issue_and_read, cluster, issuer_id, achievement_id, client)
            for client in range(CLIENTS)
        ]
        cohorts = [pool.submit(_cohort, cluster, issuer_id, achievement_id) for _ in range(2)]
        issued = [i for future in singles for i in future.result()]
        first, again = (future.result() for future in cohorts)

    assert first == again  # one cohort, however many times and through whichever worker
    expected = set(issued) | set(first)
    assert len(issued) == CLIENTS * PER_CLIENT and len(expected) == len(issued) + COHORT

    # The log: one Issued event per credential, no more.
    recorder = cluster.ledger.recorder
    notifications = recorder.select_notifications(0, limit=100_000)
    issued_events = [
        str(n.originator_id) for n in notifications if n.topic == "ledger/Credential/Issued"
    ]
    assert sorted(issued_events) == sorted(expected)

    # The projections (the projector has reached the head: every writer waited for it).
    runner = ProjectionRunner(cluster.ledger)
    assert set(runner.positions().values()) == {recorder.max_notification_id()}
    entries = runner.query("SELECT credential_id, list_number, status_index FROM status_entries")
    assert sorted(str(e[0]) for e in entries) == sorted(expected)
    assert len({(e[1], e[2]) for e in entries}) == len(entries)  # indexes unique
    states = dict(runner.query("SELECT credential_id, state FROM backpack_credentials"))
    assert set(states) == expected
    assert sum(1 for s in states.values() if s == "suspended") == CLIENTS * PER_CLIENT // 2

    # Both workers served: each access log line names its process.
    pids = {
        orjson.loads(line)["pid"]
        for line in cluster.log.read_text().splitlines()
        if line.startswith("{") and '"request_id"' in line
    }
    assert len(pids) == 2, pids
