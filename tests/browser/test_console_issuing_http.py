"""The console's issuing pages over plain HTTP: CSV import, issued list, credential
changes, claims inbox; good paths, CSRF, other institutions, learners, bad uploads.

Each test runs ``ledger serve`` on SQLite and on PostgreSQL (``web``); people sign in
with the development shortcut (the browser journeys use the real provider).
"""

from __future__ import annotations

import csv
import io
import re
import time
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx

from tests.browser.conftest import Web

ADMIN = "alice@uni.example"
OTHER_ADMIN = "bob@other.example"
LEARNER = "learner-anna@eduid.example"
HTML = {"Accept": "text/html"}


def _csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None, page.text[:500]
    return found[1]


def _session(web: Web, subject: str, role: str, issuer_id: UUID | None = None) -> httpx.Client:
    client = httpx.Client(base_url=web.url, timeout=120)
    token = _csrf(client.get("/signin"))
    data = {"subject": subject, "role": role, "csrf_token": token}
    if issuer_id is not None:
        data["issuer"] = str(issuer_id)
    response = client.post("/signin/dev", data=data)
    assert response.status_code == 303, response.text
    return client


def _world(web: Web) -> tuple[UUID, dict[str, str], str, httpx.Client, httpx.Client]:
    """Two institutions with an achievement each, and a signed-in administrator of each."""
    issuer_id, headers, achievement_id = web.issuer_with_achievement()
    other_id, _, _ = web.issuer_with_achievement("Hogeschool Anders", OTHER_ADMIN)
    return (
        issuer_id,
        headers,
        achievement_id,
        _session(web, ADMIN, "administrator", issuer_id),
        _session(web, OTHER_ADMIN, "administrator", other_id),
    )


def _head(web: Web) -> int:
    return web.ledger.recorder.max_notification_id() or 0


def _cohort(subjects: list[str]) -> bytes:
    rows = "".join(f"{s},8\r\n" for s in subjects)
    return ("learner_subject,result.grade\r\n" + rows).encode()


def _upload(
    client: httpx.Client, achievement_id: str, data: bytes, *, csrf: str | None = None, **file: Any
) -> httpx.Response:
    token = csrf if csrf is not None else _csrf(client.get("/console/cohorts"))
    return client.post(
        "/console/cohorts",
        data={"csrf_token": token, "achievement": achievement_id},
        files={"file": (file.get("name", "cohort.csv"), data, file.get("type", "text/csv"))},
        headers={"Accept-Language": file.get("language", "en")},
    )


def _wait_issued(client: httpx.Client, location: str) -> dict[str, Any]:
    deadline = time.monotonic() + 300
    while True:
        state: dict[str, Any] = client.get(location + "/progress.json").json()
        if state["state"] in ("issued", "failed") or time.monotonic() > deadline:
            return state
        time.sleep(0.2)


def test_csv_import_dry_run_then_one_import_and_the_result_file(web: Web) -> None:
    issuer_id, headers, achievement_id, admin, other = _world(web)
    web.issue(issuer_id, headers, achievement_id, "holder@eduid.example")
    template = admin.get("/console/cohorts/template.csv")
    assert template.status_code == 200
    assert template.text.startswith("learner_subject,")

    bad = (
        b"learner_subject,result.grade,colour\r\n"
        b"a@eduid.example,8,\r\n"
        b"a@eduid.example,7,\r\n"
        b",6,\r\n"
        b"has space,5,\r\n"
        b"holder@eduid.example,9,\r\n"
    )
    before = _head(web)
    report = _upload(admin, achievement_id, bad)
    assert report.status_code == 200
    assert "nothing was issued" in report.text
    assert "Unknown column colour" in report.text
    assert "The same learner as row 2." in report.text
    assert "The learner_subject is missing." in report.text
    assert "The learner_subject must be one word" in report.text
    assert "already holds this achievement" in report.text
    assert _head(web) == before
    # The same report in Dutch: every row problem in the reader's language.
    dutch = _upload(admin, achievement_id, bad + b"late@eduid.example,4,\r\n", language="nl")
    assert '<html lang="nl">' in dutch.text
    assert "Onbekende kolom colour" in dutch.text
    assert "Dezelfde lerende als in rij 2." in dutch.text
    assert "De learner_subject ontbreekt." in dutch.text
    assert "Deze lerende heeft deze prestatie al." in dutch.text
    assert "already holds" not in dutch.text and "duplicate learner" not in dutch.text
    assert _head(web) == before

    subjects = [f"learner-{n}@eduid.example" for n in range(50)]
    staged = _upload(admin, achievement_id, _cohort(subjects))
    assert staged.status_code == 303, staged.text
    location = staged.headers["location"]
    assert _head(web) == before  # checked and staged: nothing written yet
    page = admin.get(location)
    assert "Issue 50 credentials" in page.text
    # The other institution's administrator and a learner see nothing of it.
    assert other.get(location).status_code == 404
    assert other.get(location + "/progress.json").status_code == 404
    learner = _session(web, LEARNER, "learner")
    assert learner.get(location, follow_redirects=False).status_code == 303  # to sign in
    # CSRF: a forged import starts nothing.
    assert admin.post(location + "/import", data={"csrf_token": "forged"}).status_code == 403
    assert admin.get(location + "/progress.json").json()["state"] == "waiting"

    token = _csrf(page)
    first = admin.post(location + "/import", data={"csrf_token": token})
    again = admin.post(location + "/import", data={"csrf_token": token})  # a double submit
    assert first.status_code == again.status_code == 303
    assert _wait_issued(admin, location)["state"] == "issued"
    done = admin.get(location)
    assert "Issued 50 credentials" in done.text
    result = list(csv.DictReader(io.StringIO(admin.get(location + "/result.csv").text)))
    assert [r["learner_subject"] for r in result] == subjects
    assert [int(r["row"]) for r in result] == list(range(2, 52))
    listed = web.client.post(
        f"/v1/issuers/{issuer_id}/credentials/search",
        json={"achievement_id": achievement_id, "limit": 200},
        headers=headers,
    ).json()["items"]
    assert len(listed) == 51  # 50 once, and the one issued before: the double submit issued none
    assert {r["credential_id"] for r in result} <= {i["credential_id"] for i in listed}
    assert other.get(location + "/result.csv").status_code == 404


def _issued_count(web: Web, issuer_id: UUID, headers: dict[str, str], achievement_id: str) -> int:
    return len(
        web.client.post(
            f"/v1/issuers/{issuer_id}/credentials/search",
            json={"achievement_id": achievement_id, "limit": 200},
            headers=headers,
        ).json()["items"]
    )


def test_a_failed_import_ends_failed_in_both_languages_and_says_what_was_issued(
    web: Web,
) -> None:
    issuer_id, headers, achievement_id, admin, _ = _world(web)
    staging = web.settings.key_dir / "cohort-uploads"

    # The staged file is gone before its import runs: the thread fails before issuing.
    location = _upload(admin, achievement_id, _cohort(["gone@eduid.example"])).headers["location"]
    token = location.rsplit("/", 1)[1]
    (staging / f"{token}.csv").unlink()
    admin.post(location + "/import", data={"csrf_token": _csrf(admin.get(location))})
    state = _wait_issued(admin, location)
    assert state["state"] == "failed" and state["reason"] == "error" and state["issued"] == 0
    page = admin.get(location)
    assert "Nothing was issued" in page.text and "an error on the server" in page.text
    dutch = admin.get(location, headers={"Accept-Language": "nl"})
    assert "Er is niets uitgegeven" in dutch.text and "een fout op de server" in dutch.text
    assert "Try again" in page.text  # the failed import may start again
    assert "FileNotFoundError" in web.log.read_text()  # logged, with its traceback
    assert "Traceback" in web.log.read_text()
    assert _issued_count(web, issuer_id, headers, achievement_id) == 0

    # The result file cannot be written: every row is issued (one transaction), the page
    # says so, and a retry gives the same credentials and the result file.
    subjects = [f"half-{n}@eduid.example" for n in range(3)]
    location = _upload(admin, achievement_id, _cohort(subjects)).headers["location"]
    token = location.rsplit("/", 1)[1]
    (staging / f"{token}.result.csv").mkdir()  # no file can be renamed onto a directory
    admin.post(location + "/import", data={"csrf_token": _csrf(admin.get(location))})
    state = _wait_issued(admin, location)
    assert state["state"] == "failed" and state["issued"] == 3
    page = admin.get(location)
    assert "3 credentials were issued, but the import did not finish" in page.text
    dutch = admin.get(location, headers={"Accept-Language": "nl"})
    assert "Er zijn 3 credentials uitgegeven, maar de import is niet afgemaakt" in dutch.text
    assert _issued_count(web, issuer_id, headers, achievement_id) == 3
    (staging / f"{token}.result.csv").rmdir()
    admin.post(location + "/import", data={"csrf_token": _csrf(page)})
    assert _wait_issued(admin, location)["state"] == "issued"
    result = list(csv.DictReader(io.StringIO(admin.get(location + "/result.csv").text)))
    assert [r["learner_subject"] for r in result] == subjects
    assert _issued_count(web, issuer_id, headers, achievement_id) == 3  # none issued again


def test_malformed_uploads_are_refused_clearly_and_write_nothing(web: Web) -> None:
    _, _, achievement_id, admin, other = _world(web)
    before = _head(web)
    cases = {
        "not UTF-8": ("learner_subject\r\nJos\xe9@eduid.example\r\n".encode("latin-1"), {}),
        "NUL byte": (b"PK\x03\x04\x14\x00\x06\x00\x08\x00", {"name": "cohort.xlsx"}),
        "empty": (b"", {}),
        "at most 16 MB": (b"learner_subject\r\n" + b"x" * (16 * 1024 * 1024 + 10), {}),
    }
    for expected, (data, file) in cases.items():
        response = _upload(admin, achievement_id, data, **file)
        assert response.status_code == 422, expected
        assert "The file could not be read as a CSV file in UTF-8." in response.text, expected
        assert expected in response.text, expected
    # Another institution's achievement is not one to choose.
    foreign = _upload(other, achievement_id, _cohort(["x@eduid.example"]))
    assert foreign.status_code == 422
    assert "Choose one of your institution" in foreign.text
    # No CSRF token: refused before anything is read into the ledger.
    forged = _upload(admin, achievement_id, _cohort(["y@eduid.example"]), csrf="forged")
    assert forged.status_code == 403
    # A cross-site post a browser sends without asking (text/plain) is refused too.
    plain = admin.post(
        "/console/cohorts",
        content=_cohort(["z@eduid.example"]),
        headers={"Content-Type": "text/plain"},
    )
    assert plain.status_code == 403
    assert _head(web) == before


def test_issued_list_filters_pages_searches_by_learner_and_exports(web: Web) -> None:
    issuer_id, headers, achievement_id, admin, other = _world(web)
    ids = [web.issue(issuer_id, headers, achievement_id, f"l{n}@eduid.example") for n in range(3)]
    anna = web.issue(issuer_id, headers, achievement_id, LEARNER)
    revoked = sorted(ids)[0]
    web.client.post(
        f"/v1/credentials/{revoked}/revoke", json={"reason": "Fraud"}, headers=headers
    ).raise_for_status()

    page = admin.get("/console/issued")
    assert page.status_code == 200
    assert all(i in page.text for i in [*ids, anna])
    only_revoked = admin.get("/console/issued", params={"state": "revoked"})
    assert revoked in only_revoked.text
    assert sum(i in only_revoked.text for i in [*ids, anna]) == 1
    today = time.strftime("%Y-%m-%d", time.gmtime())
    dated = admin.get("/console/issued", params={"from": today, "until": today})
    assert all(i in dated.text for i in [*ids, anna])
    assert (
        anna
        not in admin.get(
            "/console/issued", params={"from": "2001-01-01", "until": "2001-01-02"}
        ).text
    )
    wrong = admin.get("/console/issued", params={"from": today, "until": "2001-01-01"})
    assert wrong.status_code == 422
    assert "The last day cannot be before the first day." in wrong.text

    # The learner's subject is posted, kept in the session, and never in a URL.
    searched = admin.post(
        "/console/issued/search", data={"learner_subject": LEARNER, "csrf_token": _csrf(page)}
    )
    assert searched.status_code == 303
    assert LEARNER not in searched.headers["location"]
    result = admin.get(searched.headers["location"])
    assert anna in result.text
    assert not any(i in result.text for i in ids)
    assert LEARNER not in "".join(re.findall(r'href="([^"]*)"', result.text))
    exported = admin.get("/console/issued/export.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["credential_id"] for r in rows] == [anna]
    forged = admin.post("/console/issued/search", data={"learner_subject": "x", "csrf_token": "no"})
    assert forged.status_code == 403
    admin.post("/console/issued/search", data={"learner_subject": "", "csrf_token": _csrf(page)})
    rows = list(csv.DictReader(io.StringIO(admin.get("/console/issued/export.csv").text)))
    assert len(rows) == 4

    # Another institution's administrator sees none of it, even searching for the learner.
    theirs = other.get("/console/issued")
    assert theirs.status_code == 200
    assert not any(i in theirs.text for i in [*ids, anna])
    other.post(
        "/console/issued/search", data={"learner_subject": LEARNER, "csrf_token": _csrf(theirs)}
    )
    assert anna not in other.get("/console/issued").text
    assert list(csv.DictReader(io.StringIO(other.get("/console/issued/export.csv").text))) == []
    learner = _session(web, LEARNER, "learner")
    last = {"X-Request-ID": "issued-list-last"}
    assert learner.get("/console/issued", headers=last, follow_redirects=False).status_code == 303
    # The access log never saw the subject (its lines are written a little after the
    # answers: wait, bounded, for the last request's line).
    deadline = time.monotonic() + 60
    while "issued-list-last" not in (log := Path(web.log).read_text()):
        assert time.monotonic() < deadline, "the access lines never reached the log"
        time.sleep(0.05)
    assert LEARNER not in log
    # Naming the institution is not enough: someone not on its list sees nothing.
    impostor = _session(web, "mallory@uni.example", "administrator", issuer_id)
    for path in (
        "/console/issued",
        "/console/issued/export.csv",
        "/console/cohorts",
        "/console/claims",
        f"/console/credentials/{anna}",
    ):
        response = impostor.get(path)
        assert response.status_code in (403, 404), path
        assert anna not in response.text and "Data Science Foundations" not in response.text


def test_paging_a_rare_state_gives_full_pages(web: Web) -> None:
    issuer_id, headers, achievement_id, admin, _ = _world(web)
    response = web.client.post(
        f"/v1/issuers/{issuer_id}/cohorts",
        json={
            "achievement_id": achievement_id,
            "credentials": [{"learner_subject": f"c{n}@eduid.example"} for n in range(160)],
        },
        headers={**headers, "Idempotency-Key": "paging"},
    )
    assert response.status_code == 201, response.text
    ids = sorted(response.json()["credential_ids"])
    suspended = ids[::2]  # 80 of 160, spread over the whole list
    for credential_id in suspended:
        web.client.post(
            f"/v1/credentials/{credential_id}/suspend", json={"reason": "Audit"}, headers=headers
        ).raise_for_status()
    seen: list[str] = []
    url = "/console/issued?state=suspended"
    pages = 0
    while url:
        page = admin.get(url)
        found = re.findall(r'href="/console/credentials/([0-9a-f-]{36})"', page.text)
        seen += found
        pages += 1
        nxt = re.search(r'href="([^"]+)" rel="next"', page.text)
        url = nxt[1].replace("&amp;", "&") if nxt else ""
        if url:
            assert len(found) == 50  # a page ends early only at the end
    assert pages == 2
    assert seen == suspended


def _share(web: Web, credential_id: str) -> str:
    response = web.client.post(
        "/v1/me/share-links",
        json={"credential_ids": [credential_id]},
        headers=web.token("learner", LEARNER),
    )
    assert response.status_code == 201, response.text
    return f"/v1/shared/{response.json()['token']}"


def test_credential_page_amends_suspends_reinstates_revokes_and_the_public_page_follows(
    web: Web,
) -> None:
    issuer_id, headers, achievement_id, admin, other = _world(web)
    credential_id = web.issue(issuer_id, headers, achievement_id, LEARNER)
    public = _share(web, credential_id)
    base = f"/console/credentials/{credential_id}"
    page = admin.get(base)
    assert page.status_code == 200
    assert "Data Science Foundations" in page.text
    csrf = _csrf(page)

    # Amend: the review shows old and new values; only the confirmation writes.
    before = _head(web)
    form = {"valid_until": "", "result": "grade = 9", "evidence": "", "csrf_token": csrf}
    missing_reason = admin.post(base + "/amend", data={**form, "reason": ""})
    assert missing_reason.status_code == 422
    assert "Give the reason for the amendment." in missing_reason.text
    unchanged = admin.post(base + "/amend", data={**form, "result": "grade = 8", "reason": "x"})
    assert unchanged.status_code == 422
    assert "Change at least one value." in unchanged.text
    review = admin.post(base + "/amend", data={**form, "reason": "Grade corrected"})
    assert review.status_code == 200
    assert "<del>grade = 8</del>" in review.text
    assert "<ins>grade = 9</ins>" in review.text
    assert _head(web) == before
    too_early = {**form, "valid_until": "2001-01-01", "reason": "r", "confirm": "yes"}
    refused = admin.post(base + "/amend", data=too_early)
    assert refused.status_code == 422
    assert "The last valid day must come after" in refused.text
    assert _head(web) == before
    done = admin.post(base + "/amend", data={**form, "reason": "Grade corrected", "confirm": "yes"})
    assert done.status_code == 303
    assert "The credential is amended." in admin.get(done.headers["location"]).text
    shown = web.client.get(public, headers={"Accept": "application/json"}).json()
    assert shown["credentials"][0]["result"] == {"grade": "9"}

    # Suspend (reason required), reinstate, revoke: each on the public page at once.
    assert "Required" in admin.get(base + "/suspend").text
    empty = admin.post(base + "/suspend", data={"reason": " ", "csrf_token": csrf})
    assert empty.status_code == 422
    for action, state in (("suspend", "suspended"), ("reinstate", "active"), ("revoke", "revoked")):
        response = admin.post(
            base + f"/{action}", data={"reason": f"Because {action}", "csrf_token": csrf}
        )
        assert response.status_code == 303, response.text
        shown = web.client.get(public, headers={"Accept": "application/json"}).json()
        assert shown["credentials"][0]["state"] == state, action
    assert "Revoking is final." in admin.get(base + "/revoke").text
    html = web.client.get(public, headers=HTML).text
    assert "Because revoke" in html
    again = admin.post(base + "/reinstate", data={"reason": "undo", "csrf_token": csrf})
    assert again.status_code == 409

    # CSRF, another institution's administrator, a learner: nothing seen, nothing done.
    head = _head(web)
    other_credential = web.issue(issuer_id, headers, achievement_id, "x@eduid.example")
    head = _head(web)
    other_base = f"/console/credentials/{other_credential}"
    assert (
        admin.post(other_base + "/suspend", data={"reason": "r", "csrf_token": "no"}).status_code
        == 403
    )
    theirs = other.get(other_base)
    assert theirs.status_code == 404
    assert "Data Science Foundations" not in theirs.text
    other_csrf = _csrf(other.get("/console/issued"))
    assert (
        other.post(
            other_base + "/revoke", data={"reason": "r", "csrf_token": other_csrf}
        ).status_code
        == 404
    )
    assert other.get(other_base + "/amend").status_code == 404
    learner = _session(web, LEARNER, "learner")
    assert learner.get(base, follow_redirects=False).status_code == 303
    assert _head(web) == head


def _claim(web: Web) -> tuple[UUID, dict[str, str], str, str]:
    issuer_id, headers, achievement_id = web.issuer_with_achievement()
    credential_id = web.issue(issuer_id, headers, achievement_id, LEARNER)
    school_id = web.register_issuer("Hogeschool Ontvanger", "dean@school.example")
    response = web.client.post(
        "/v1/me/exemption-claims",
        json={
            "institution_id": str(school_id),
            "programme": "MSc Data Science",
            "credential_ids": [credential_id],
            "motivation": "I did this course",
        },
        headers=web.token("learner", LEARNER),
    )
    assert response.status_code == 201, response.text
    return school_id, headers, credential_id, str(response.json()["id"])


def test_claims_inbox_shows_live_evidence_and_records_decisions(web: Web) -> None:
    school_id, issuer_headers, credential_id, claim_id = _claim(web)
    dean = _session(web, "dean@school.example", "administrator", school_id)
    inbox = dean.get("/console/claims")
    assert inbox.status_code == 200
    assert "MSc Data Science" in inbox.text
    assert "Data Science Foundations" in inbox.text
    assert "Verified" in inbox.text
    # Checked live: a revocation shows at once in the inbox.
    web.client.post(
        f"/v1/credentials/{credential_id}/revoke", json={"reason": "Fraud"}, headers=issuer_headers
    ).raise_for_status()
    page = dean.get(f"/console/claims/{claim_id}")
    assert "tag-revoked" in page.text

    # Other institutions' administrators (the credential's issuer too) and learners see nothing.
    outsider_id = web.register_issuer("Derde", "third@third.example")
    outsider = _session(web, "third@third.example", "administrator", outsider_id)
    assert "MSc Data Science" not in outsider.get("/console/claims?state=any").text
    assert outsider.get(f"/console/claims/{claim_id}").status_code == 404
    outsider_csrf = _csrf(outsider.get("/console/claims"))
    refused = outsider.post(
        f"/console/claims/{claim_id}/decide",
        data={"decision": "approve", "reason": "ok", "csrf_token": outsider_csrf},
    )
    assert refused.status_code == 404
    learner = _session(web, LEARNER, "learner")
    assert learner.get("/console/claims", follow_redirects=False).status_code == 303

    csrf = _csrf(page)
    forged = dean.post(
        f"/console/claims/{claim_id}/decide",
        data={"decision": "reject", "reason": "r", "csrf_token": "forged"},
    )
    assert forged.status_code == 403
    no_reason = dean.post(
        f"/console/claims/{claim_id}/decide", data={"decision": "reject", "csrf_token": csrf}
    )
    assert no_reason.status_code == 422
    assert "Give the reason" in no_reason.text
    decided = dean.post(
        f"/console/claims/{claim_id}/decide",
        data={"decision": "reject", "reason": "The evidence is revoked", "csrf_token": csrf},
    )
    assert decided.status_code == 303
    assert "Rejected" in dean.get(decided.headers["location"]).text
    twice = dean.post(
        f"/console/claims/{claim_id}/decide",
        data={"decision": "approve", "reason": "changed my mind", "csrf_token": csrf},
    )
    assert twice.status_code == 409
    assert "MSc Data Science" not in dean.get("/console/claims").text  # no longer pending
    today = time.strftime("%Y-%m-%d", time.gmtime())
    found = dean.get(
        "/console/claims",
        params={"state": "rejected", "programme": "MSc Data Science", "from": today},
    )
    assert "The evidence is revoked" in found.text
    assert "MSc Data Science" not in dean.get("/console/claims", params={"state": "approved"}).text


def test_ten_thousand_rows_import_in_one_go_with_progress(web: Web) -> None:
    _, _, achievement_id, admin, _ = _world(web)
    subjects = [f"learner-{n:05d}@student.example" for n in range(10_000)]
    staged = _upload(admin, achievement_id, _cohort(subjects))
    assert staged.status_code == 303, staged.text
    location = staged.headers["location"]
    page = admin.get(location)
    assert "Issue 10,000 credentials" in page.text
    started = time.perf_counter()
    assert admin.post(location + "/import", data={"csrf_token": _csrf(page)}).status_code == 303
    running = admin.get(location)
    # Drawn while it runs (or just done): the no-JavaScript page and its script, or the result.
    assert "Show progress" in running.text or "Issued 10,000 credentials." in running.text
    # The progress script is a file of this site (the CSP allows no inline script).
    for attributes, body in re.findall(r"<script([^>]*)>(.*?)</script>", running.text, re.S):
        assert 'src="/static/' in attributes and body == ""
    assert web.client.get("/static/cohort_progress.js").status_code == 200
    phases = ["waiting", "reading", "issuing", "issued"]
    seen: list[str] = []
    deadline = time.monotonic() + 600
    while not seen or seen[-1] not in ("issued", "failed"):
        assert time.monotonic() < deadline, seen
        state = admin.get(location + "/progress.json").json()
        if not seen or seen[-1] != state["state"]:
            seen.append(state["state"])
        time.sleep(0.2)
    seconds = time.perf_counter() - started
    assert seen[-1] == "issued", admin.get(location).text
    # The phases only move forward.
    assert [phases.index(s) for s in seen] == sorted(phases.index(s) for s in seen)
    result = list(csv.DictReader(io.StringIO(admin.get(location + "/result.csv").text)))
    assert len({r["credential_id"] for r in result}) == 10_000
    assert [r["learner_subject"] for r in result] == subjects
    print(f"10,000 rows through the console page: {seconds:.1f} s ({web.settings.store.kind})")
