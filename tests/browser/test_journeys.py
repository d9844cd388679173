"""The journeys people take, in Chromium, through ``ledger serve`` and a real OpenID provider.

Each runs on SQLite and on PostgreSQL (``store_url``).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from ledger.cli.main import main
from tests.browser.conftest import Web

pytestmark = pytest.mark.browser

LEARNER = "learner-anna@eduid.example"
OTHER_LEARNER = "learner-bram@eduid.example"
EMPLOYER = "hr@employer.example"


def _issued(web: Web, subject: str = LEARNER, **spec: Any) -> tuple[str, dict[str, str]]:
    issuer_id, headers, achievement_id = web.issuer_with_achievement(**spec)
    return web.issue(issuer_id, headers, achievement_id, subject), headers


def _new_share_link(page: Any, title: str, name: str | None = None) -> str:
    page.get_by_role("link", name="Share links").click()
    page.get_by_label(title).check()
    if name is not None:
        page.get_by_label("Show my name on the page").check()
        page.get_by_label("Name to show").fill(name)
    page.get_by_role("button", name="Make the link").click()
    return str(page.locator("#new-url").input_value())


#: What the page said before learners could choose, whatever they wanted: never again.
WRONG_SENTENCE = "chose to share this credential without their name"


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
    credential_id, _ = _issued(web)
    learner = signed_in(LEARNER)
    learner.get_by_role("link", name="Data Science Foundations").click()
    # The name is chosen as for any share link: ticking the box without one is refused.
    learner.get_by_label("Show my name on the page").check()
    learner.get_by_role("button", name="Add to my LinkedIn profile").click()
    assert learner.get_by_role("alert").inner_text().count("Enter the name to show") == 1
    learner.get_by_label("Name to show").fill("Anna de Vries")
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
    assert "Anna de Vries" in public.content()
    # Without the box ticked the page shows no name, as the learner chose.
    learner.goto(f"{web.url}/backpack/credentials/{credential_id}")
    assert not learner.get_by_label("Show my name on the page").is_checked()
    learner.get_by_role("button", name="Add to my LinkedIn profile").click()
    public.goto(learner.get_by_test_id("page-url").inner_text())
    assert "The learner chose not to show their name" in public.content()
    assert "Anna de Vries" not in public.content()


def test_learner_chooses_whether_the_page_shows_their_name_and_erasure_closes_it(
    web: Web, signed_in: Any, visitor: Any, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _issued(web)
    learner = signed_in(LEARNER)
    # Ticking the box without a name is refused next to the field, nothing is made.
    learner.get_by_role("link", name="Share links").click()
    learner.get_by_label("Data Science Foundations").check()
    learner.get_by_label("Show my name on the page").check()
    learner.get_by_role("button", name="Make the link").click()
    assert learner.get_by_role("alert").inner_text().count("Enter the name to show") == 1
    assert learner.get_by_label("Name to show").get_attribute("aria-invalid") == "true"
    assert learner.locator("#new-url").count() == 0

    named = _new_share_link(learner, "Data Science Foundations", name="Anna  de Vries ")
    unnamed = _new_share_link(learner, "Data Science Foundations")
    rows = learner.locator("table tbody tr")
    assert sorted(rows.nth(i).locator("td").nth(1).inner_text() for i in range(2)) == [
        "Not shown",
        "Shown",
    ]

    public = visitor()  # signed out
    public.goto(named)
    assert public.get_by_test_id("learner-name").inner_text().startswith("Anna de Vries")
    assert "not part of the signed credential" in public.content()
    assert "chose not to show" not in public.content()
    public.goto(unnamed)
    assert public.get_by_test_id("learner-name").count() == 0
    assert "Anna de Vries" not in public.content()
    assert "The learner chose not to show their name." in public.content()
    for page_url in (named, unnamed):
        public.goto(page_url)
        assert WRONG_SENTENCE not in public.content()
    as_json = {"Accept": "application/json"}
    assert web.client.get(named, headers=as_json).json()["learner_name"] == "Anna de Vries"
    assert web.client.get(unnamed, headers=as_json).json()["learner_name"] is None

    monkeypatch.setenv("LEDGER_KEY_DIR", str(web.settings.key_dir))
    monkeypatch.setenv("LEDGER_ENV", "development")
    erase = ["--store", store_url, "erase-learner", "--subject", LEARNER, "--reason", "asked"]
    assert main(erase) == 0
    # The server follows the log on its own; a generous deadline, not a guessed pause.
    deadline = time.monotonic() + 60
    while web.client.get(named, headers=as_json).status_code != 404:
        assert time.monotonic() < deadline, "the erased learner's link stayed open"
        time.sleep(0.2)
    for page_url in (named, unnamed):
        response = public.goto(page_url)
        assert response.status == 404
        assert "This link is closed" in public.content()
        assert "Anna de Vries" not in public.content()
    assert web.client.get(unnamed, headers=as_json).status_code == 404


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
