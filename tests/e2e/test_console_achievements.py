"""Achievements in the console over real HTTP, on both stores: list, open, revise, and the
public document behind the achievement URL inside every exported credential."""

from __future__ import annotations

from uuid import UUID

from ledger.cli.demo import EDUBADGE_BOARD
from tests.e2e.conftest import Server
from tests.e2e.test_api import achievement_body, assert_problem, issue
from tests.e2e.test_console_institutions import onboard


def test_list_open_revise_and_resolve_every_revision(server: Server) -> None:
    client = server.client
    issuer_id = onboard(server, "Uni", "alice")
    alice = server.token("administrator", "alice", issuer_id)
    created = client.post(
        f"/v1/issuers/{issuer_id}/achievements", json=achievement_body(), headers=alice
    )
    achievement_id = created.json()["id"]
    badge = client.post(
        f"/v1/issuers/{issuer_id}/achievements",
        json=EDUBADGE_BOARD,
        headers=alice,
    ).json()["id"]
    credential = issue(server, issuer_id, alice, achievement_id, "s1@student.example")
    revised = client.post(
        f"/v1/achievements/{achievement_id}/revisions",
        json={
            "achievement": achievement_body(title="Data Science, revised"),
            "reason": "new title",
        },
        headers=alice,
    )
    assert revised.json() == {"revision": 2}, revised.text

    listed = client.get(f"/v1/issuers/{issuer_id}/achievements", headers=alice).json()["items"]
    by_id = {a["achievement_id"]: a for a in listed}
    assert set(by_id) == {achievement_id, badge}
    assert by_id[achievement_id]["revision"] == 2
    assert by_id[achievement_id]["title"] == "Data Science, revised"
    assert by_id[badge]["kind"] == "edubadge"
    paged = client.get(
        f"/v1/issuers/{issuer_id}/achievements", params={"limit": 1}, headers=alice
    ).json()
    second = client.get(
        f"/v1/issuers/{issuer_id}/achievements",
        params={"limit": 1, "after": paged["next"]},
        headers=alice,
    ).json()
    assert {paged["items"][0]["achievement_id"], second["items"][0]["achievement_id"]} == set(by_id)

    opened = client.get(f"/v1/achievements/{achievement_id}", headers=alice).json()
    assert [r["revision"] for r in opened["revisions"]] == [1, 2]
    assert opened["revisions"][1]["reason"] == "new title"
    assert opened["revisions"][0]["policy"] == "nl-microcredentials-pilot@v1"

    # The id URL inside the export resolves, publicly, to the revision it was issued under.
    export = client.get(f"/v1/credentials/{credential}/export", headers=alice).json()
    url = export["credentialSubject"]["achievement"]["id"]
    assert url == f"https://ledger.test/v1/achievements/{achievement_id}/revisions/1"
    path = url.removeprefix("https://ledger.test")
    first = client.get(path)
    assert first.status_code == 200, first.text
    document = first.json()
    assert document["id"] == url and document["name"] == achievement_body()["title"]
    assert document["creator"]["name"] == "Uni"
    assert "Achievement" in document["type"]
    embedded = export["credentialSubject"]["achievement"]
    assert {k: v for k, v in document.items() if k in embedded and k != "resultDescription"} == {
        k: v for k, v in embedded.items() if k != "resultDescription"
    }
    again = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert first.headers["vary"] == "Accept"
    # A browser gets the page of the same revision, in its language.
    page = client.get(path, headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert achievement_body()["title"] in page.text and "Uni" in page.text
    assert "a newer version exists" in page.text
    assert "content-security-policy" in page.headers
    dutch = client.get(path, params={"lang": "nl"}, headers={"Accept": "text/html"})
    assert "Uitgereikt door" in dutch.text and "Versie" in dutch.text
    latest = client.get(f"/v1/achievements/{achievement_id}/revisions/2").json()
    assert latest["name"] == "Data Science, revised"
    assert_problem(client.get(f"/v1/achievements/{achievement_id}/revisions/3"), 404, "not-found")
    assert_problem(client.get(f"/v1/achievements/{UUID(int=1)}/revisions/1"), 404, "not-found")
    assert_problem(
        client.get(f"/v1/achievements/{achievement_id}/revisions/0"), 422, "invalid-input"
    )


def test_another_institution_sees_nothing_of_its_achievements(server: Server) -> None:
    client = server.client
    mine = onboard(server, "Mine", "alice")
    other = onboard(server, "Other", "dave")
    dave = server.token("administrator", "dave", other)
    theirs = client.post(
        f"/v1/issuers/{other}/achievements", json=achievement_body(title="Secret"), headers=dave
    ).json()["id"]
    callers = (
        server.token("administrator", "alice", mine),
        server.token("administrator", "alice", other),
        server.token("learner", "dave"),
        server.token("auditor", "dave"),
    )
    for headers in callers:
        listed = client.get(f"/v1/issuers/{other}/achievements", headers=headers)
        assert listed.status_code == 403 and "Secret" not in listed.text
        opened = client.get(f"/v1/achievements/{theirs}", headers=headers)
        assert opened.status_code in (403, 404) and "Secret" not in opened.text
        revised = client.post(
            f"/v1/achievements/{theirs}/revisions",
            json={"achievement": achievement_body(title="Hijacked"), "reason": "x"},
            headers=headers,
        )
        assert revised.status_code in (403, 404), revised.text
    # Alice with her own token: the other's achievement does not exist for her.
    own = server.token("administrator", "alice", mine)
    assert_problem(client.get(f"/v1/achievements/{theirs}", headers=own), 404, "not-found")
    opened = client.get(f"/v1/achievements/{theirs}", headers=dave).json()
    assert [r["spec"]["title"] for r in opened["revisions"]] == ["Secret"]
