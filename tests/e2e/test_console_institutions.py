"""The operator's and administrators' console over real HTTP, on both stores:
onboarding, profile, administrators, study-load policies, keys; reads as strict as writes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from tests.e2e.conftest import Server
from tests.e2e.test_api import achievement_body, assert_problem, issue

SMALL = {"study_load_hours": 28, "ects": "1"}  # a 1 EC microcredential


def operator(server: Server) -> dict[str, str]:
    return server.token("operator", "ops@ledger.example")


def onboard(server: Server, name: str, admin: str, **extra: Any) -> UUID:
    body = {
        "name": name,
        "country": "NL",
        "identifiers": {"BRIN": "21PB"},
        "homepage": "https://www.uni.example",
        "logo_url": "https://www.uni.example/logo.png",
        "administrators": [admin],
        **extra,
    }
    response = server.client.post("/v1/institutions", json=body, headers=operator(server))
    assert response.status_code == 201, response.text
    return UUID(response.json()["id"])


def trail_topics(server: Server, issuer_id: UUID) -> list[str]:
    auditor = server.token("auditor", "auditor@ledger.example")
    response = server.client.get(f"/v1/audit/trails/issuer/{issuer_id}", headers=auditor)
    assert response.status_code == 200, response.text
    return [item["topic"] for item in response.json()["items"]]


def test_operator_onboards_an_institution_and_every_step_is_in_the_trail(server: Server) -> None:
    client = server.client
    issuer_id = onboard(server, "Universiteit Een", "alice")
    ops = operator(server)
    alice = server.token("administrator", "alice", issuer_id)

    listed = client.get("/v1/institutions", headers=ops).json()["items"]
    assert [i["name"] for i in listed] == ["Universiteit Een"]
    assert listed[0]["identifiers"] == {"BRIN": "21PB"}

    shown = client.get(f"/v1/institutions/{issuer_id}", headers=alice).json()
    assert shown["homepage"] == "https://www.uni.example"
    assert shown["administrators"] == ["alice"]
    assert shown["policy_in_force"]["policy"] == "nl-microcredentials-pilot"
    assert len(shown["keys"]) == 1 and shown["keys"][0]["active"]

    edited = client.patch(
        f"/v1/institutions/{issuer_id}",
        json={"name": "Universiteit Eén", "identifiers": {"BRIN": "21PB", "OIN": "0" * 20}},
        headers=ops,
    )
    assert edited.status_code == 204, edited.text
    assert client.get("/v1/institutions", headers=ops).json()["items"][0]["name"] == (
        "Universiteit Eén"
    )
    added = client.post(
        f"/v1/institutions/{issuer_id}/administrators", json={"subject": "bob"}, headers=ops
    )
    assert added.status_code == 204, added.text
    admins = client.get(f"/v1/institutions/{issuer_id}/administrators", headers=alice).json()
    assert [a["subject"] for a in admins["items"]] == ["alice", "bob"]
    removed = client.delete(f"/v1/institutions/{issuer_id}/administrators/bob", headers=alice)
    assert removed.status_code == 204, removed.text
    # Bob's token names the institution, but he is off the list: he sees nothing.
    bob = server.token("administrator", "bob", issuer_id)
    assert_problem(client.get(f"/v1/institutions/{issuer_id}", headers=bob), 403, "forbidden")

    topics = trail_topics(server, issuer_id)
    assert topics == [
        "ledger/Issuer/Registered",
        "ledger/Issuer/ProfileEdited",
        "ledger/Issuer/AdministratorAdded",
        "ledger/Issuer/ProfileEdited",
        "ledger/Issuer/AdministratorAdded",
        "ledger/Issuer/AdministratorRemoved",
    ]


def test_bad_onboarding_input_is_refused_and_changes_nothing(server: Server) -> None:
    client, ops = server.client, operator(server)
    for body, field in (
        ({"name": "X", "country": "nl"}, "country"),
        ({"name": "X", "country": "NL", "identifiers": {"BRIN": "not-a-brin"}}, "BRIN"),
        ({"name": "X", "country": "NL", "identifiers": {"OIN": "123"}}, "OIN"),
        ({"name": "X", "country": "NL", "homepage": "javascript:alert(1)"}, "homepage"),
        ({"name": "X", "country": "NL", "logo_url": "http://evil.example/x.png"}, "logo_url"),
        ({"name": "X\x00", "country": "NL"}, "name"),
        ({"name": "X", "country": "NL", "administrators": [" "]}, "administrators"),
    ):
        refused = assert_problem(
            client.post("/v1/institutions", json=body, headers=ops), 422, "invalid-input"
        )
        assert field in refused["detail"], refused
    assert client.get("/v1/institutions", headers=ops).json()["items"] == []
    # Only the operator registers institutions.
    issuer_id = onboard(server, "Uni", "alice")
    alice = server.token("administrator", "alice", issuer_id)
    assert_problem(
        client.post("/v1/institutions", json={"name": "Mine", "country": "NL"}, headers=alice),
        403,
        "forbidden",
    )
    assert_problem(client.get("/v1/institutions", headers=alice), 403, "forbidden")


def test_study_load_refusal_names_the_policy_and_the_experiment_can_be_adopted(
    server: Server,
) -> None:
    client = server.client
    issuer_id = onboard(server, "Hogeschool", "carol")
    carol = server.token("administrator", "carol", issuer_id)
    small = achievement_body(**SMALL)
    refused = assert_problem(
        client.post(f"/v1/issuers/{issuer_id}/achievements", json=small, headers=carol),
        409,
        "study-load-too-low",
    )
    assert "nl-microcredentials-pilot@v1" in refused["detail"]
    assert "nl-microcredentials-experiment-1ec" in refused["detail"]
    assert f"/v1/institutions/{issuer_id}/policies" in refused["detail"]

    # Outside the experiment's window: refused, nothing adopted.
    outside = client.post(
        f"/v1/institutions/{issuer_id}/policies",
        json={
            "policy": "nl-microcredentials-experiment-1ec",
            "in_force_from": "2025-05-01T00:00:00Z",
            "in_force_until": "2028-01-01T00:00:00Z",
        },
        headers=carol,
    )
    assert "2025-05-01 to 2027-04-30" in assert_problem(outside, 422, "invalid-input")["detail"]
    assert (
        client.get(f"/v1/institutions/{issuer_id}/policies", headers=carol).json()["adopted"] == []
    )
    unknown = client.post(
        f"/v1/institutions/{issuer_id}/policies", json={"policy": "lenient"}, headers=carol
    )
    assert_problem(unknown, 422, "invalid-input")

    adopted = client.post(
        f"/v1/institutions/{issuer_id}/policies",
        json={"policy": "nl-microcredentials-experiment-1ec"},
        headers=carol,
    )
    assert adopted.status_code == 201, adopted.text
    policies = client.get(f"/v1/institutions/{issuer_id}/policies", headers=carol).json()
    now = datetime.now(UTC)
    expected = (
        "nl-microcredentials-experiment-1ec"
        if datetime(2025, 5, 1, tzinfo=UTC) <= now < datetime(2027, 4, 30, tzinfo=UTC)
        else "nl-microcredentials-pilot"
    )
    assert policies["in_force"]["policy"] == expected
    if expected == "nl-microcredentials-experiment-1ec":
        created = client.post(f"/v1/issuers/{issuer_id}/achievements", json=small, headers=carol)
        assert created.status_code == 201, created.text
    assert "ledger/Issuer/PolicyAdopted" in trail_topics(server, issuer_id)


def test_rotation_and_compromise_show_their_consequences(server: Server) -> None:
    client, ops = server.client, operator(server)
    issuer_id = onboard(server, "Uni", "alice")
    alice = server.token("administrator", "alice", issuer_id)
    achievement = client.post(
        f"/v1/issuers/{issuer_id}/achievements", json=achievement_body(), headers=alice
    ).json()["id"]
    rotated = client.post(f"/v1/institutions/{issuer_id}/keys/rotate", headers=alice)
    assert rotated.status_code == 201, rotated.text
    keys = client.get(f"/v1/institutions/{issuer_id}/keys", headers=alice).json()["items"]
    assert [k["active"] for k in keys] == [False, True]
    assert keys[0]["retired_at"] is not None
    kid = rotated.json()["kid"]
    assert keys[1]["kid"] == kid
    before = issue(server, issuer_id, alice, achievement, "early@student.example")
    since = datetime.now(UTC)
    after = issue(server, issuer_id, alice, achievement, "late@student.example")

    preview = client.get(
        f"/v1/keys/{kid}/signed-since", params={"since": since.isoformat()}, headers=ops
    )
    assert preview.status_code == 200, preview.text
    assert preview.json()["credentials"] == [after]
    assert preview.json()["institutions"] == []
    assert_problem(
        client.get(
            f"/v1/keys/{kid}/signed-since", params={"since": since.isoformat()}, headers=alice
        ),
        403,
        "forbidden",
    )
    naive = client.post(
        f"/v1/keys/{kid}/compromised",
        json={"since": "2026-01-01T00:00:00", "reason": "x"},
        headers=ops,
    )
    assert_problem(naive, 422, "invalid-input")
    by_admin = client.post(
        f"/v1/keys/{kid}/compromised",
        json={"since": since.isoformat(), "reason": "x"},
        headers=alice,
    )
    assert_problem(by_admin, 403, "forbidden")

    marked = client.post(
        f"/v1/keys/{kid}/compromised",
        json={"since": since.isoformat(), "reason": "key file leaked"},
        headers=ops,
    )
    assert marked.status_code == 201, marked.text
    body = marked.json()
    assert body["owner"] == str(issuer_id)
    assert body["consequences"]["credentials"] == [after]
    assert before not in body["consequences"]["credentials"]
    assert any("issue them again" in e for e in body["consequences"]["effects"])
    assert body["replaced_by"] and body["replaced_by"] != kid
    # What the key signed after the instant is refused; what it signed before is not.
    refused = client.get(f"/v1/credentials/{after}/export", headers=alice)
    assert_problem(refused, 500, "key-not-valid")
    kept = client.get(f"/v1/credentials/{before}/export", headers=alice)
    assert kept.status_code == 200, kept.text
    # The institution goes on issuing, under the key that replaced the compromised one.
    reissued = issue(server, issuer_id, alice, achievement, "late@student.example")
    export = client.get(f"/v1/credentials/{reissued}/export", headers=alice).json()
    assert body["replaced_by"].split(":")[-1] in str(export["proof"])
    again = client.post(
        f"/v1/keys/{kid}/compromised",
        json={"since": since.isoformat(), "reason": "twice"},
        headers=ops,
    )
    assert_problem(again, 409, "invalid-transition")


#: Every institution route of the console: (method, path, body).
INSTITUTION_ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/v1/institutions/{other}", None),
    ("PATCH", "/v1/institutions/{other}", {"name": "Taken over"}),
    ("GET", "/v1/institutions/{other}/administrators", None),
    ("POST", "/v1/institutions/{other}/administrators", {"subject": "mallory"}),
    ("DELETE", "/v1/institutions/{other}/administrators/dave", None),
    ("GET", "/v1/institutions/{other}/policies", None),
    ("POST", "/v1/institutions/{other}/policies", {"policy": "nl-microcredentials-pilot"}),
    ("GET", "/v1/institutions/{other}/keys", None),
    ("POST", "/v1/institutions/{other}/keys/rotate", None),
    ("GET", "/v1/institutions", None),
    ("POST", "/v1/institutions", {"name": "X", "country": "NL"}),
    ("GET", "/v1/keys/{kid}/signed-since?since=2020-01-01T00:00:00Z", None),
    ("POST", "/v1/keys/{kid}/compromised", {"since": "2020-01-01T00:00:00Z", "reason": "x"}),
]


def test_an_administrator_sees_nothing_of_another_institution(server: Server) -> None:
    mine = onboard(server, "Mine", "alice")
    other = onboard(server, "Other", "dave")
    dave = server.token("administrator", "dave", other)
    kid = server.client.get(f"/v1/institutions/{other}/keys", headers=dave).json()["items"][0][
        "kid"
    ]
    callers = (
        server.token("administrator", "alice", mine),  # her own institution's token
        server.token("administrator", "alice", other),  # a token naming the other one
        server.token("learner", "dave"),
        server.token("auditor", "dave"),
        server.token("verifier", "dave"),
    )
    for method, path, body in INSTITUTION_ROUTES:
        url = path.format(other=other, kid=kid)
        for headers in callers:
            response = server.client.request(method, url, json=body, headers=headers)
            assert response.status_code == 403, (method, url, response.text)
            assert "Other" not in response.text and "BRIN" not in response.text
        assert server.client.request(method, url, json=body).status_code == 401
    # Nothing changed at the other institution.
    shown = server.client.get(f"/v1/institutions/{other}", headers=dave).json()
    assert shown["name"] == "Other" and shown["administrators"] == ["dave"]
    assert len(shown["keys"]) == 1 and shown["keys"][0]["active"]
    assert shown["policies"] == []
