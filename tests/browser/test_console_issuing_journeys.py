"""The console's issuing journeys in Chromium, through ``ledger serve`` and a real OpenID
provider, on SQLite and on PostgreSQL: a CSV cohort with bad rows fixed and imported,
a revocation the public page shows, an exemption claim decided."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from tests.browser.conftest import Web

pytestmark = pytest.mark.browser

ADMIN = "alice@uni.example"
LEARNER = "learner-anna@eduid.example"
IMPORT_MS = 300_000


def _admin(signed_in: Any, issuer_id: UUID, subject: str = ADMIN) -> Any:
    return signed_in(subject, "administrator", ledger_issuer=str(issuer_id))


def _write(path: Path, subjects: list[str]) -> Path:
    rows = "".join(f"{s},{n % 10}\r\n" for n, s in enumerate(subjects))
    path.write_text("learner_subject,result.grade\r\n" + rows, encoding="utf-8")
    return path


def test_an_administrator_fixes_a_cohort_file_imports_1000_rows_and_downloads_the_mapping(
    web: Web, signed_in: Any, tmp_path: Path
) -> None:
    issuer_id, _, _ = web.issuer_with_achievement()
    admin = _admin(signed_in, issuer_id)
    admin.goto(web.url + "/console/cohorts")
    with admin.expect_download() as template_info:
        admin.get_by_role("link", name="Download the CSV template").click()
    template = Path(template_info.value.path()).read_text(encoding="utf-8")
    assert template.startswith("learner_subject,")

    subjects = [f"learner-{n:04d}@student.example" for n in range(1000)]
    broken = list(subjects)
    broken[10] = "not a subject"  # row 12
    broken[500] = subjects[3]  # row 502: the learner of row 5 again
    admin.get_by_label("Achievement").select_option(label="Data Science Foundations")
    admin.get_by_label("CSV file").set_input_files(str(_write(tmp_path / "bad.csv", broken)))
    admin.get_by_role("button", name="Check the file").click()
    problems = admin.get_by_test_id("row-problems").locator("tbody tr")
    assert problems.count() == 2
    assert problems.nth(0).inner_text().startswith("12")
    assert "The learner_subject must be one word" in problems.nth(0).inner_text()
    assert problems.nth(1).inner_text().startswith("502")
    assert "The same learner as row 5." in problems.nth(1).inner_text()
    assert "998 ready, 2 with problems" in admin.get_by_test_id("report-counts").inner_text()

    # Fixed: the same form again (the achievement stays chosen).
    admin.get_by_label("CSV file").set_input_files(str(_write(tmp_path / "cohort.csv", subjects)))
    admin.get_by_role("button", name="Check the file").click()
    admin.get_by_role("button", name="Issue 1,000 credentials").click()
    admin.get_by_test_id("import-done").wait_for(timeout=IMPORT_MS)
    assert "Issued 1,000 credentials." in admin.get_by_test_id("import-done").inner_text()
    with admin.expect_download() as result_info:
        admin.get_by_role(
            "link", name="Download the result (each row with its credential id)"
        ).click()
    with Path(result_info.value.path()).open(newline="", encoding="utf-8") as result:
        rows = list(csv.DictReader(result))
    assert [r["learner_subject"] for r in rows] == subjects
    assert [int(r["row"]) for r in rows] == list(range(2, 1002))
    assert len({r["credential_id"] for r in rows}) == 1000

    admin.get_by_role("link", name="See them in the issued list").click()
    first = admin.get_by_test_id("issued").locator("tbody tr")
    assert first.count() == 50
    assert admin.get_by_role("link", name="Next page").is_visible()


def test_an_administrator_revokes_and_the_public_page_says_so(
    web: Web, signed_in: Any, visitor: Any
) -> None:
    issuer_id, headers, achievement_id = web.issuer_with_achievement()
    credential_id = web.issue(issuer_id, headers, achievement_id, LEARNER)
    shared = web.client.post(
        "/v1/me/share-links",
        json={"credential_ids": [credential_id]},
        headers=web.token("learner", LEARNER),
    )
    public = visitor()
    public.goto(f"{web.url}/v1/shared/{shared.json()['token']}")
    assert public.get_by_test_id("verdict").inner_text().startswith("Verified")

    admin = _admin(signed_in, issuer_id)
    admin.goto(web.url + "/console/issued")
    admin.get_by_role("link", name=credential_id).click()
    admin.get_by_role("link", name="Revoke", exact=True).click()
    assert "Revoking is final." in admin.get_by_test_id("final").inner_text()
    admin.get_by_role("button", name="Revoke the credential for good").click()
    assert admin.get_by_role("alert").first.is_visible()  # no reason: refused, said why
    admin.get_by_label("Reason").fill("Diploma fraud established")
    admin.get_by_role("button", name="Revoke the credential for good").click()
    assert "The credential is revoked." in admin.get_by_test_id("done").inner_text()
    assert admin.locator(".tag-revoked").first.inner_text() == "Revoked"

    public.reload()
    verdict = public.get_by_test_id("verdict").inner_text()
    assert verdict.startswith("Revoked")
    assert "Diploma fraud established" in verdict


def test_an_administrator_decides_an_exemption_claim(web: Web, signed_in: Any) -> None:
    issuer_id, headers, achievement_id = web.issuer_with_achievement()
    credential_id = web.issue(issuer_id, headers, achievement_id, LEARNER)
    school_id = web.register_issuer("Hogeschool Ontvanger", "dean@school.example")
    claimed = web.client.post(
        "/v1/me/exemption-claims",
        json={
            "institution_id": str(school_id),
            "programme": "MSc Data Science",
            "credential_ids": [credential_id],
        },
        headers=web.token("learner", LEARNER),
    )
    assert claimed.status_code == 201, claimed.text

    dean = _admin(signed_in, school_id, "dean@school.example")
    dean.goto(web.url + "/console/claims")
    assert dean.get_by_role("cell", name="Verified").is_visible()
    dean.get_by_role("link", name="Decide on this claim").click()
    dean.get_by_label("Approve the exemption").check()
    dean.get_by_label("Reason").fill("Covers our course Data Science 1")
    dean.get_by_role("button", name="Record the decision").click()
    dean.get_by_test_id("done").wait_for()
    assert dean.get_by_test_id("claim-state").inner_text() == "Approved"
    dean.goto(web.url + "/console/claims?state=approved")
    assert dean.get_by_role("link", name="MSc Data Science").is_visible()

    learner = signed_in(LEARNER)
    learner.goto(web.url + "/backpack/claims")
    assert "Approved: Covers our course Data Science 1" in learner.content()
