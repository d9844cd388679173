"""The auditor's pages over plain HTTP, on both stores, against ``ledger serve``.

Good paths (trails, time travel, checkpoints with proofs, a background verification,
the bundle), and the bad ones: other roles and strangers refused, form posts without
the session's CSRF token refused, malformed input answered with an error page while
nothing changes.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from uuid import UUID

import httpx

from ledger.eventlog.persistence import parse_store_url
from tests.browser.audit_world import (
    AUDITOR,
    FRAUD,
    LEARNER,
    csrf,
    publish_checkpoint,
    session,
    world,
)
from tests.browser.conftest import Web
from tests.integration.test_cli import run
from tests.rawstore import RawEvents

DEADLINE = 180.0


def finished_run(client: httpx.Client) -> tuple[str, httpx.Response]:
    """Start a verification from the page; follow its progress to the report."""
    started = client.post("/audit/verify", data={"csrf_token": csrf(client, "/audit/verify")})
    assert started.status_code == 303, started.text
    location = started.headers["location"]
    assert re.fullmatch(r"/audit/verify/[A-Za-z0-9_-]+", location), location
    deadline = time.monotonic() + DEADLINE
    while True:
        progress = client.get(location + "/progress")
        assert progress.status_code == 200
        assert progress.headers["content-type"] == "application/json"
        state = progress.json()
        if state["state"] != "running":
            break
        assert time.monotonic() < deadline, "the verification did not finish in time"
        time.sleep(0.2)
    assert state["state"] == "finished" and state["percent"] == 100
    return location, client.get(location)


def h1(page: httpx.Response) -> str:
    found = re.search(r"<h1>(.*?)</h1>", page.text, re.S)
    assert found is not None
    return found[1].strip()


def test_an_auditor_follows_trails_and_steps_a_credential_through_time(web: Web) -> None:
    made = world(web)
    credential_id = made["credential_id"]
    issued, revoked = made["issued"]["position"], made["revoked"]["position"]
    client = session(web)
    home = client.get("/audit")
    assert home.status_code == 200 and 'aria-current="page">Overview' in home.text

    trail = client.post(
        "/audit/trail",
        data={"kind": "credential", "key": credential_id, "csrf_token": csrf(client)},
    )
    assert trail.status_code == 200
    assert "2 events" in trail.text
    assert "Credential · Issued" in trail.text and "Credential · Revoked" in trail.text
    assert FRAUD in trail.text
    assert f"/audit/time-travel?credential={credential_id}&amp;position={revoked}" in trail.text

    by_subject = client.post(
        "/audit/trail",
        data={"kind": "learner", "key": LEARNER, "subject": "1", "csrf_token": csrf(client)},
    )
    assert by_subject.status_code == 200
    assert f"credential={credential_id}" in by_subject.text
    # The subject stays in the body: no link or address carries it.
    assert LEARNER not in str(by_subject.url)
    assert all(LEARNER not in href for href in re.findall(r'href="([^"]+)"', by_subject.text))
    assert LEARNER not in Path(web.log).read_text()
    issuer = client.post(
        "/audit/trail",
        data={"kind": "issuer", "key": str(made["issuer_id"]), "csrf_token": csrf(client)},
    )
    assert "Issuer · Registered" in issuer.text
    actor = client.post(
        "/audit/trail",
        data={"kind": "actor", "key": "alice@uni.example", "csrf_token": csrf(client)},
    )
    assert "Credential · Revoked" in actor.text and "Issuer · Registered" not in actor.text

    before = client.get(f"/audit/time-travel?credential={credential_id}&position={revoked - 1}")
    assert before.status_code == 200
    assert '<span class="tag tag-active">Active' in before.text
    assert "after event 1 of 2" in before.text
    assert f'position={revoked}" rel="next"' in before.text
    dutch = client.get(
        f"/audit/time-travel?credential={credential_id}&position={revoked - 1}",
        headers={"Accept-Language": "nl"},
    )
    assert '<html lang="nl">' in dutch.text
    assert "Terug in de tijd" in dutch.text and "na gebeurtenis 1 van 2" in dutch.text
    after = client.get(f"/audit/time-travel?credential={credential_id}&position={revoked}")
    assert '<span class="tag tag-revoked">Revoked' in after.text
    assert f'position={issued}" rel="prev"' in after.text
    assert 'rel="next"' not in after.text
    first = client.get(f"/audit/time-travel?credential={credential_id}&position={issued}")
    assert f'position={issued - 1}" rel="prev"' in first.text
    earlier = client.get(f"/audit/time-travel?credential={credential_id}&position={issued - 1}")
    assert "This credential did not exist yet." in earlier.text
    at = made["issued"]["at"]
    by_time = client.get("/audit/time-travel", params={"credential": credential_id, "at": at})
    assert by_time.status_code == 200
    assert '<span class="tag tag-active">Active' in by_time.text
    now = client.get(f"/audit/time-travel?credential={credential_id}")
    assert '<span class="tag tag-revoked">Revoked' in now.text


def test_checkpoints_proofs_verification_and_bundle(web: Web, tmp_path: Path) -> None:
    made = world(web)
    first = publish_checkpoint(web, tmp_path)
    web.register_issuer("Hogeschool Extra", "bob@hs.example")  # the log grows
    second = publish_checkpoint(web, tmp_path)
    client = session(web)

    page = client.get("/audit/checkpoints")
    assert page.status_code == 200
    assert f"Tree of {first} events" in page.text and f"Tree of {second} events" in page.text
    assert f"It extends the tree of {first} events: the consistency proof checks." in page.text
    assert "Not consistent" not in page.text

    position = made["issued"]["position"]
    proof = client.get(f"/audit/checkpoints/inclusion?position={position}")
    assert proof.status_code == 200
    assert "<strong>Included</strong>" in proof.text
    assert f"of the tree of {second} events" in proof.text
    older = client.get(f"/audit/checkpoints/inclusion?position={position}&size={first}")
    assert f"of the tree of {first} events" in older.text

    served = web.client.get("/v1/audit/checkpoints", headers=web.token("auditor", AUDITOR))
    count = len(served.json()["checkpoints"])
    assert count >= 2
    location, report = finished_run(client)
    assert h1(report) == "Verified"
    assert f"{count} distinct, {count} recorded in the log" in report.text
    assert report.text.index("Verified") < report.text.index("checks out")
    assert location in client.get("/audit").text

    bundle_page = client.get("/audit/bundle")
    assert f"It will carry {count} checkpoints." in bundle_page.text
    assert 'class="notice"' not in bundle_page.text  # the projection has caught up
    download = client.get("/audit/bundle/download")
    assert download.status_code == 200
    assert "attachment" in download.headers["content-disposition"]
    lines = download.content.splitlines()
    assert json.loads(lines[0])["bundle"] == "ledger-audit-bundle/1"
    events = [line for line in lines if line.startswith(b'{"type":"event"')]
    assert len(events) == int(download.headers["x-ledger-events"]) > 0
    assert int(download.headers["x-ledger-checkpoints"]) == count
    bundle = tmp_path / "downloaded.jsonl"
    bundle.write_bytes(download.content)
    checked = run("verify", "--bundle", str(bundle), "--quiet", "--json", cwd=tmp_path, env={})
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert json.loads(checked.stdout)["checkpoints"] == count


def test_a_failed_verification_never_opens_with_verified(web: Web) -> None:
    made = world(web)
    raw = RawEvents(parse_store_url(web.settings.store.url))
    raw.disable_guard()
    credential = UUID(made["credential_id"])
    state = raw.state(credential, 2)
    raw.set_state(credential, 2, state.replace(FRAUD.encode(), b"Exam frauD established", 1))
    client = session(web)
    _, report = finished_run(client)
    assert h1(report) == "Not verified"
    main = report.text[report.text.index("<main") :]
    assert "Verified" not in main.replace("Not verified", "")
    assert f"log position {made['revoked']['position']}" in report.text
    again = client.get("/audit/verify")
    assert "Last verification:" in again.text and ">Not verified</a>" in again.text


PAGES = (
    "/audit",
    "/audit/trail",
    "/audit/time-travel",
    "/audit/checkpoints",
    "/audit/checkpoints/inclusion?position=1",
    "/audit/verify",
    "/audit/bundle",
    "/audit/bundle/download",
)


def test_only_auditors_see_the_audit_pages(web: Web) -> None:
    made = world(web)
    issuer = str(made["issuer_id"])
    auditor = session(web)
    started = auditor.post("/audit/verify", data={"csrf_token": csrf(auditor, "/audit/verify")})
    run_page = started.headers["location"]
    others = [
        httpx.Client(base_url=web.url, timeout=60),
        session(web, LEARNER, "learner"),
        session(web, "hr@employer.example", "verifier"),
        session(web, "alice@uni.example", "administrator", issuer=issuer),
    ]
    for client in others:
        for path in (*PAGES, run_page, run_page + "/progress"):
            response = client.get(path)
            assert response.status_code == 303, (path, response.status_code)
            assert response.headers["location"].startswith("/signin?next=/audit")
            assert made["credential_id"] not in response.text
        for path in ("/audit/trail", "/audit/verify"):
            form = {"kind": "credential", "key": made["credential_id"], "csrf_token": "x"}
            response = client.post(path, data=form)
            assert response.status_code == 303, path
            assert "Credential · Issued" not in response.text
    landing = httpx.Client(base_url=web.url, timeout=60)
    token = re.search(r'name="csrf_token" value="([^"]+)"', landing.get("/signin").text)
    assert token is not None
    signed = landing.post(
        "/signin/dev", data={"subject": AUDITOR, "role": "auditor", "csrf_token": token[1]}
    )
    assert signed.headers["location"] == "/audit"  # an auditor's home


def test_audit_forms_refuse_a_post_without_the_session_csrf_token(web: Web) -> None:
    made = world(web)
    client = session(web)
    for data in ({}, {"csrf_token": "forged"}):
        trail = client.post(
            "/audit/trail", data={"kind": "credential", "key": made["credential_id"], **data}
        )
        assert trail.status_code == 403
        assert "did not come from this site" in trail.text
        assert "Credential · Issued" not in trail.text
        started = client.post("/audit/verify", data=data)
        assert started.status_code == 403
    page = client.get("/audit/verify")
    assert "Last verification" not in page.text and "is running" not in page.text


def test_malformed_input_gives_an_error_page_and_changes_nothing(web: Web) -> None:
    made = world(web)
    credential_id = made["credential_id"]
    head = web.ledger.recorder.max_notification_id()
    client = session(web)
    token = csrf(client)
    for form, field in (
        ({"kind": "spaceship", "key": credential_id}, "kind"),
        ({"kind": "credential", "key": "not-an-id"}, "key"),
        ({"kind": "credential", "key": ""}, "key"),
        ({"kind": "actor", "key": "bad\x07actor"}, "key"),
        ({"kind": "issuer", "key": "x" * 600}, "key"),
        ({"kind": "credential", "key": credential_id, "after": "-5"}, "key"),
        ({"kind": "credential", "key": credential_id, "after": "²"}, "key"),
    ):
        response = client.post("/audit/trail", data={**form, "csrf_token": token})
        assert response.status_code == 422, form
        assert "There is a problem" in response.text
        assert f'id="{field}-error"' in response.text, form
        assert "Credential · Issued" not in response.text
    for params, status, field in (
        ({"credential": "nope"}, 422, "credential"),
        ({"credential": str(UUID(int=7))}, 404, "credential"),
        ({"credential": str(made["issuer_id"])}, 404, "credential"),  # a record, not a credential
        ({"credential": credential_id, "at": "yesterday"}, 422, "at"),
        ({"credential": credential_id, "position": "-1"}, 422, "position"),
        ({"credential": credential_id, "position": "³"}, 422, "position"),
        ({"credential": credential_id, "position": "9" * 19}, 422, "position"),
        ({"credential": credential_id, "at": "2026-01-01T00:00", "position": "3"}, 422, "position"),
    ):
        response = client.get("/audit/time-travel", params=params)
        assert response.status_code == status, params
        assert f'id="{field}-error"' in response.text, params
        assert 'aria-invalid="true"' in response.text
    for params, status in (
        ({"position": "x"}, 422),
        ({"position": "²"}, 422),
        ({"position": ""}, 422),
        ({"position": "1", "size": "0"}, 422),
        ({"position": "999999"}, 404),
    ):
        response = client.get("/audit/checkpoints/inclusion", params=params)
        assert response.status_code == status, params
        assert 'id="position-error"' in response.text or 'id="size-error"' in response.text
    for path, status in (
        ("/audit/checkpoints?after=-1", 422),
        ("/audit/checkpoints?after=many", 422),
        ("/audit/verify/no-such-run", 404),
        ("/audit/verify/no-such-run/progress", 404),
        ("/audit/verify/" + "x" * 50, 422),
    ):
        response = client.get(path)
        assert response.status_code == status, path
        assert response.headers["content-type"].startswith("text/html"), path
    assert web.ledger.recorder.max_notification_id() == head
    assert "Last verification" not in client.get("/audit/verify").text
