"""Cohort CSV import over real HTTP, on both stores: template, dry run, text/csv and
multipart uploads, the atomic import under an Idempotency-Key, the result CSV."""

from __future__ import annotations

import csv
import io

from tests.e2e.conftest import Server
from tests.e2e.test_api import achievement_body, assert_problem
from tests.e2e.test_console_institutions import onboard

HEADER = "learner_subject,valid_from,valid_until,result.grade,evidence\r\n"


def body(*subjects: str) -> bytes:
    return (HEADER + "".join(f"{s},,,8,\r\n" for s in subjects)).encode()


def test_template_dry_run_import_and_result(server: Server) -> None:
    client = server.client
    issuer_id = onboard(server, "Uni", "alice")
    alice = server.token("administrator", "alice", issuer_id)
    achievement = client.post(
        f"/v1/issuers/{issuer_id}/achievements", json=achievement_body(), headers=alice
    ).json()["id"]
    url = f"/v1/issuers/{issuer_id}/cohorts/csv"
    template = client.get("/v1/cohorts/template.csv")
    assert template.status_code == 200
    assert template.headers["content-type"].startswith("text/csv")
    assert "attachment" in template.headers["content-disposition"]

    csv_headers = {**alice, "Content-Type": "text/csv"}
    bad = HEADER.replace("evidence", "nickname").encode() + b"a,,,8,x\r\nb c,,,8,\r\na,,,8,\r\n"
    dry = client.post(
        url,
        params={"achievement_id": achievement, "dry_run": "true"},
        content=bad,
        headers=csv_headers,
    )
    assert dry.status_code == 200, dry.text
    report = dry.json()
    assert not report["valid"] and report["rows"] == 3
    assert any("unknown column 'nickname'" in p for p in report["header_problems"])
    assert {p["row"] for p in report["problems"]} == {3, 4}
    refused = client.post(
        url,
        params={"achievement_id": achievement},
        content=bad,
        headers={**csv_headers, "Idempotency-Key": "k-bad"},
    )
    problem = assert_problem(refused, 422, "invalid-cohort")
    assert problem["report"]["rows_with_problems"] == 2
    no_key = client.post(
        url, params={"achievement_id": achievement}, content=body("x"), headers=csv_headers
    )
    assert "Idempotency-Key" in assert_problem(no_key, 422, "invalid-input")["detail"]
    wrong_type = client.post(
        url,
        params={"achievement_id": achievement, "dry_run": "true"},
        content=b"{}",
        headers={**alice, "Content-Type": "application/json"},
    )
    assert_problem(wrong_type, 422, "invalid-input")

    subjects = [f"learner-{n}@student.example" for n in range(50)]
    upload = {"file": ("cohort.csv", body(*subjects), "text/csv")}
    imported = client.post(
        url,
        params={"achievement_id": achievement},
        files=upload,
        headers={**alice, "Idempotency-Key": "cohort-2026", "Accept": "text/csv"},
    )
    assert imported.status_code == 201, imported.text
    assert imported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(imported.text)))
    assert [r["learner_subject"] for r in rows] == subjects
    assert [int(r["row"]) for r in rows] == list(range(2, 52))
    # A retry with the same key and file: the same credentials, as JSON this time.
    retried = client.post(
        url,
        params={"achievement_id": achievement},
        content=body(*subjects),
        headers={**csv_headers, "Idempotency-Key": "cohort-2026"},
    )
    assert retried.status_code == 201, retried.text
    assert retried.json()["credential_ids"] == [r["credential_id"] for r in rows]
    issued = client.get(
        f"/v1/issuers/{issuer_id}/credentials", params={"limit": 500}, headers=alice
    )
    assert len(issued.json()["items"]) == 50
    # Now they hold it: a new file naming one of them is refused, row by row.
    overlap = client.post(
        url,
        params={"achievement_id": achievement, "dry_run": "true"},
        content=body("new@student.example", subjects[3]),
        headers=csv_headers,
    )
    assert overlap.json()["problems"] == [
        {"row": 3, "problems": ["this learner already holds this achievement"]}
    ]


def test_another_institution_cannot_import_or_dry_run(server: Server) -> None:
    client = server.client
    mine = onboard(server, "Mine", "alice")
    other = onboard(server, "Other", "dave")
    dave = server.token("administrator", "dave", other)
    theirs = client.post(
        f"/v1/issuers/{other}/achievements", json=achievement_body(), headers=dave
    ).json()["id"]
    client.post(
        f"/v1/issuers/{other}/cohorts/csv",
        params={"achievement_id": theirs},
        content=body("held@student.example"),
        headers={**dave, "Content-Type": "text/csv", "Idempotency-Key": "k"},
    ).raise_for_status()
    alice_own = server.token("administrator", "alice", mine)
    alice_other = server.token("administrator", "alice", other)
    for headers, path in (
        (alice_own, f"/v1/issuers/{other}/cohorts/csv"),
        (alice_other, f"/v1/issuers/{other}/cohorts/csv"),
        (alice_own, f"/v1/issuers/{mine}/cohorts/csv"),  # her issuer, their achievement
        (server.token("learner", "held@student.example"), f"/v1/issuers/{other}/cohorts/csv"),
    ):
        for dry_run in ("true", "false"):
            response = client.post(
                path,
                params={"achievement_id": theirs, "dry_run": dry_run},
                content=body("held@student.example"),
                headers={**headers, "Content-Type": "text/csv", "Idempotency-Key": "k2"},
            )
            assert response.status_code in (403, 404), response.text
            assert "already holds" not in response.text
    items = client.get(f"/v1/issuers/{other}/credentials", headers=dave).json()["items"]
    assert len(items) == 1
