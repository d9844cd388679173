"""The journeys people take, in Chromium, through ``ledger serve`` and a real OpenID provider.

Each runs on SQLite and on PostgreSQL (``store_url``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browser.conftest import Web

pytestmark = pytest.mark.browser

LEARNER = "learner-anna@eduid.example"
OTHER_LEARNER = "learner-bram@eduid.example"
EMPLOYER = "hr@employer.example"


def _issued(web: Web, subject: str = LEARNER, **spec: Any) -> tuple[str, dict[str, str]]:
    issuer_id, headers, achievement_id = web.issuer_with_achievement(**spec)
    return web.issue(issuer_id, headers, achievement_id, subject), headers


def _new_share_link(page: Any, title: str) -> str:
    page.get_by_role("link", name="Share links").click()
    page.get_by_label(title).check()
    page.get_by_role("button", name="Make the link").click()
    return str(page.locator("#new-url").input_value())


def test_learner_shares_a_credential_and_a_revocation_shows_on_the_next_view(
    web: Web, signed_in: Any, visitor: Any
) -> None:
    credential_id, admin = _issued(web)
    learner = signed_in(LEARNER)
    assert learner.url == web.url + "/backpack"
    learner.get_by_role("heading", name="My backpack").wait_for()
    assert learner.get_by_role("link", name="Data Science Foundations").is_visible()
    assert learner.locator(".tag-active").first.inner_text() == "Active"

    url = _new_share_link(learner, "Data Science Foundations")
    assert url.startswith(web.url + "/v1/shared/")

    public = visitor()  # signed out: another browser context
    public.goto(url)
    assert public.get_by_role("heading", level=1).inner_text() == "Data Science Foundations"
    assert public.get_by_test_id("verdict").inner_text().startswith("Verified")
    assert "Universiteit Test" in public.content()
    assert public.locator('meta[property="og:url"]').get_attribute("content") == url
    embedded = json.loads(public.locator('script[type="application/ld+json"]').text_content())
    assert "OpenBadgeCredential" in embedded["type"]

    response = web.client.post(
        f"/v1/credentials/{credential_id}/revoke",
        json={"reason": "Exam fraud established"},
        headers=admin,
    )
    assert response.status_code == 204, response.text
    public.reload()
    verdict = public.get_by_test_id("verdict").inner_text()
    assert verdict.startswith("Revoked")
    assert "Exam fraud established" in verdict
    assert public.locator("table").get_by_text("Revoked").is_visible()


def test_verifier_drops_the_downloaded_file_then_a_changed_one(
    web: Web, signed_in: Any, visitor: Any, tmp_path: Path
) -> None:
    credential_id, _ = _issued(web)
    learner = signed_in(LEARNER)
    learner.get_by_role("link", name="Data Science Foundations").click()
    with learner.expect_download() as download_info:
        learner.get_by_role("link", name="Download the signed credential (Open Badges 3.0)").click()
    original = tmp_path / "credential.json"
    download_info.value.save_as(original)
    document = json.loads(original.read_text())
    assert document["id"] == f"urn:uuid:{credential_id}"

    checker = visitor()
    checker.goto(web.url + "/verify")
    checker.get_by_label("Credential file").set_input_files(str(original))
    checker.get_by_role("button", name="Check").click()
    result = checker.locator(".report")
    assert result.locator(".verdict").inner_text().startswith("Verified")
    assert "The issuer's signature is valid and nothing was changed" in result.inner_text()

    document["name"] = "Data Science Foundations (with honours)"
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(document))
    checker.get_by_label("Credential file").set_input_files(str(changed))
    checker.get_by_role("button", name="Check").click()
    result = checker.locator(".report")
    assert result.locator(".verdict").inner_text().startswith("Not verified")
    proof = result.locator("li", has_text="The issuer's signature is valid")
    assert proof.locator(".tag").inner_text() == "Failed"
    assert proof.locator(".detail").inner_text() != ""


def test_learner_grants_consent_the_employer_looks_up_and_the_learner_sees_it(
    web: Web, signed_in: Any
) -> None:
    _issued(web)
    learner = signed_in(LEARNER)
    learner.get_by_role("link", name="Consents").click()
    learner.get_by_label("Employer's account").fill(EMPLOYER)
    learner.get_by_label("Purpose").fill("Job application: data analyst")
    learner.get_by_label("Last day of the consent").fill("2099-12-31")
    learner.get_by_role("button", name="Give consent").click()
    link = learner.locator("input.consent-link").input_value()
    assert link.startswith(web.url + "/lookup/")
    assert "learner" not in link and LEARNER not in link  # no ids, no personal data

    employer = signed_in(EMPLOYER, role="verifier")
    employer.goto(link)
    assert "Job application: data analyst" in employer.content()
    employer.get_by_role("button", name="Look up now").click()
    employer.get_by_role("heading", name="Data Science Foundations").wait_for()
    assert "Lookup recorded" in employer.content()

    learner.reload()
    lookups = learner.locator("ul.lookups li")
    assert lookups.count() == 1
    assert EMPLOYER in lookups.inner_text()
    assert "Job application: data analyst" in lookups.inner_text()

    learner.get_by_role("button", name="Withdraw consent").click()
    employer.goto(link)
    assert "does not open a consent" in employer.content()


def test_linkedin_link_carries_the_public_page(web: Web, signed_in: Any, visitor: Any) -> None:
    _issued(web)
    learner = signed_in(LEARNER)
    learner.get_by_role("link", name="Data Science Foundations").click()
    learner.get_by_role("button", name="Add to my LinkedIn profile").click()
    page_url = learner.get_by_test_id("page-url").inner_text()
    href = learner.locator("#linkedin").get_attribute("href")
    assert href.startswith("https://www.linkedin.com/profile/add?")
    query = parse_qs(urlsplit(href).query)
    assert query["certUrl"] == [page_url]
    assert query["name"] == ["Data Science Foundations"]
    public = visitor()
    public.goto(page_url)
    assert public.get_by_test_id("verdict").inner_text().startswith("Verified")


def test_a_learner_sees_only_their_own_credentials(web: Web, signed_in: Any) -> None:
    mine, _ = _issued(web, LEARNER)
    issuer_id, headers, achievement_id = web.issuer_with_achievement(
        name="Hogeschool Twee", admin="bob@hs.example", title="Energy Transition"
    )
    theirs = web.issue(issuer_id, headers, achievement_id, OTHER_LEARNER)
    anna = signed_in(LEARNER)
    assert anna.get_by_role("link", name="Data Science Foundations").is_visible()
    assert anna.get_by_role("link", name="Energy Transition").count() == 0
    response = anna.goto(f"{web.url}/backpack/credentials/{theirs}")
    assert response.status == 404
    response = anna.goto(f"{web.url}/backpack/credentials/{theirs}/download")
    assert response.status == 404
    bram = signed_in(OTHER_LEARNER)
    assert bram.get_by_role("link", name="Energy Transition").is_visible()
    assert bram.get_by_role("link", name="Data Science Foundations").count() == 0
    assert bram.goto(f"{web.url}/backpack/credentials/{mine}").status == 404


def test_sign_out_ends_the_session(web: Web, signed_in: Any) -> None:
    learner = signed_in(LEARNER)
    learner.get_by_role("button", name="Sign out").click()
    learner.goto(web.url + "/backpack")
    assert re.search(r"/signin\?next=", learner.url)
