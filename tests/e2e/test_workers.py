"""Several workers and a separate projector on PostgreSQL, through real processes.

``ledger serve --workers 2`` and ``ledger project`` share one fresh schema with a second
``ledger serve`` process. Concurrent clients issue and suspend through the two workers
and read at once from the other process: every write must be visible to the very next
read (a writer waits for the projector), nothing may be lost or counted twice, and
every credential keeps a status list index of its own.
"""

from __future__ import annotations

import contextlib
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import orjson
import pytest
from ledger.projections.runner import ProjectionRunner

from ledger.cli.demo import MICRO_DATA_SCIENCE
from tests.e2e.conftest import Cluster

#: How long the access lines may take to reach the log on a busy machine.
LOG_DEADLINE_SECONDS = 60.0

CLIENTS = 6
READERS = 4  # reading connections per client
PER_CLIENT = 8
COHORT = 40


def _issue_and_read(
    cluster: Cluster, issuer_id: UUID, achievement_id: str, client: int
) -> list[str]:
    """One client: writes on its own keep-alive connection to the workers, reads at once
    on others to the second server process.

    Every request names itself in ``X-Request-ID``; the access logs tell which process
    served it.
    """
    admin = cluster.token("administrator", "alice", issuer_id)
    verifier = cluster.token("verifier", "hr@employer.example")
    with contextlib.ExitStack() as stack:
        writer = stack.enter_context(httpx.Client(base_url=cluster.url, timeout=30))
        readers = [
            stack.enter_context(httpx.Client(base_url=cluster.reader_url, timeout=30))
            for _ in range(READERS)
        ]
        for reader in readers:  # open each connection before the clock matters
            assert reader.get("/healthz").status_code == 200

        def read(n: int, path: str, headers: dict[str, str], request_id: str) -> Any:
            response = readers[n % READERS].get(
                path, headers={**headers, "X-Request-ID": request_id}
            )
            assert response.status_code == 200, response.text
            return response.json()

        issued: list[str] = []
        for n in range(PER_CLIENT):
            subject = f"learner-{client}-{n}"
            learner = cluster.token("learner", subject)
            created = writer.post(
                f"/v1/issuers/{issuer_id}/credentials",
                json={"achievement_id": achievement_id, "credential": {"learner_subject": subject}},
                headers={**admin, "X-Request-ID": f"{subject}-issue"},
            )
            assert created.status_code == 201, created.text
            credential_id = created.json()["id"]
            issued.append(credential_id)
            status = read(n, f"/v1/status/{credential_id}", verifier, f"{subject}-status")
            assert status["status"] == "active"
            read(n + 1, f"/v1/me/credentials/{credential_id}", learner, f"{subject}-mine")
            if n % 2:
                suspended = writer.post(
                    f"/v1/credentials/{credential_id}/suspend",
                    json={"reason": "checking"},
                    headers={**admin, "X-Request-ID": f"{subject}-suspend"},
                )
                assert suspended.status_code == 204, suspended.text
                after = read(n, f"/v1/status/{credential_id}", verifier, f"{subject}-suspended")
                assert after["status"] == "suspended"
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

    # Every write was taken by the workers and every read answered by the other process,
    # so read-after-write held across processes.
    def served_by(log: Path) -> dict[str, int]:
        return {
            entry["request_id"]: entry["pid"]
            for entry in (
                orjson.loads(line)
                for line in log.read_text().splitlines()
                if line.startswith('{"request_id"')
            )
        }

    # Access lines are written by the log's thread a little after each answer: wait
    # (bounded) until every request's line is there.
    subjects = [f"learner-{c}-{n}" for c in range(CLIENTS) for n in range(PER_CLIENT)]
    deadline = time.monotonic() + LOG_DEADLINE_SECONDS
    while True:
        writes, reads = served_by(cluster.log), served_by(cluster.reader_log)
        logged = all(f"{s}-issue" in writes and f"{s}-status" in reads for s in subjects)
        if logged or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert not set(writes.values()) & set(reads.values())
    for subject in subjects:
        assert f"{subject}-issue" in writes and f"{subject}-status" in reads
