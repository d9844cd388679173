"""Accessibility: axe-core on every page, 360 px wide screens, and the keyboard alone.

axe runs the WCAG 2.0/2.1 A and AA rules; a serious or critical violation fails.
The pages are visited in the states people see them in: empty, filled, with
form errors, and with results.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browser.audit_world import AUDITOR, publish_checkpoint, world
from tests.browser.conftest import OPERATOR, Web

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)]

LEARNER = "learner-anna@eduid.example"
EMPLOYER = "hr@employer.example"
AXE = Axe()
RULES = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def _assert_accessible(page: Any, name: str) -> None:
    results = AXE.run(page, options=RULES)
    assert results.response["testEngine"]["name"] == "axe-core"
    assert results.response["passes"], f"{name}: axe checked nothing"
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, f"{name}: {bad}"
    # 360 px wide: nothing sticks out sideways (no horizontal scrolling of the page).
    page.set_viewport_size({"width": 360, "height": 740})
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{name} scrolls sideways at 360 px by {overflow} px"
    page.set_viewport_size({"width": 1280, "height": 900})


def _pages_of_a_world(web: Web, signed_in: Any, visitor: Any) -> list[tuple[str, Any]]:
    """Visit every page once in a world with a credential, links, a consent and a claim."""
    issuer_id, admin, achievement_id = web.issuer_with_achievement()
    web.issue(issuer_id, admin, achievement_id, LEARNER)
    visited: list[tuple[str, Any]] = []
    learner = signed_in(LEARNER)

    def check(name: str, page: Any) -> None:
        _assert_accessible(page, name)
        visited.append((name, page.url))

    check("backpack", learner)
    learner.get_by_role("link", name="Data Science Foundations").click()
    check("credential detail", learner)
    learner.get_by_label("Show my name on the page").check()  # but no name: an error
    learner.get_by_role("button", name="Add to my LinkedIn profile").click()
    check("credential detail with a name error", learner)
    learner.get_by_label("Show my name on the page").uncheck()
    learner.get_by_role("button", name="Add to my LinkedIn profile").click()
    check("linkedin", learner)
    learner.goto(web.url + "/backpack/share-links")
    learner.get_by_role("button", name="Make the link").click()  # nothing chosen: an error
    check("share links with an error", learner)
    learner.get_by_label("Data Science Foundations").check()
    learner.get_by_label("Show my name on the page").check()  # but no name: an error
    learner.get_by_role("button", name="Make the link").click()
    check("share links with a name error", learner)
    learner.get_by_label("Name to show").fill("Anna de Vries")
    learner.get_by_role("button", name="Make the link").click()
    check("share links with a new link", learner)
    share = learner.locator("#new-url").input_value()
    learner.goto(web.url + "/backpack/consents")
    learner.get_by_role("button", name="Give consent").click()
    check("consents with errors", learner)
    learner.get_by_label("Employer's account").fill(EMPLOYER)
    learner.get_by_label("Purpose").fill("Job application")
    learner.get_by_label("Last day of the consent").fill("2099-12-31")
    learner.get_by_role("button", name="Give consent").click()
    check("consents", learner)
    consent_link = learner.locator("input.consent-link").input_value()
    learner.goto(web.url + "/backpack/claims")
    learner.get_by_role("button", name="Send request").click()
    check("claims with errors", learner)
    learner.get_by_label("Institution").select_option(label="Universiteit Test")
    learner.get_by_label("Programme").fill("MSc Data Science")
    learner.locator("input[name=credentials]").first.check()
    learner.get_by_role("button", name="Send request").click()
    check("claims", learner)

    employer = signed_in(EMPLOYER, role="verifier")
    check("lookup start", employer)
    employer.goto(consent_link)
    check("lookup", employer)
    employer.get_by_role("button", name="Look up now").click()
    check("lookup results", employer)

    public = visitor()
    for name, path in (
        ("home", "/"),
        ("home in Dutch", "/?lang=nl"),
        ("home in English again", "/?lang=en"),
        ("sign-in", "/signin"),
        ("verify", "/verify"),
        ("closed link", "/v1/shared/" + "x" * 43),
        ("not found", "/backpack/credentials/not-an-id"),
    ):
        public.goto(web.url + path)
        check(name, public)
    public.goto(share)
    check("public credential page", public)
    public.goto(web.url + "/verify")
    public.get_by_label("Or give a link").fill(share)
    public.get_by_role("button", name="Check").click()
    check("verify result", public)
    public.get_by_label("Or give a link").fill("https://elsewhere.example/c")
    public.get_by_role("button", name="Check").click()
    check("verify with an error", public)
    return visited


def test_no_serious_accessibility_problem_on_any_page(
    web: Web, signed_in: Any, visitor: Any, tmp_path: Path
) -> None:
    visited = _pages_of_a_world(web, signed_in, visitor)
    assert len(visited) == 24
    (tmp_path / "visited.json").write_text(json.dumps(visited))


def test_a_learner_shares_with_the_keyboard_alone(web: Web, signed_in: Any) -> None:
    issuer_id, admin, achievement_id = web.issuer_with_achievement()
    web.issue(issuer_id, admin, achievement_id, LEARNER)
    learner = signed_in(LEARNER)
    learner.goto(web.url + "/backpack/share-links")
    learner.keyboard.press("Tab")  # the skip link comes first
    assert learner.evaluate("document.activeElement.textContent") == "Skip to main content"
    learner.keyboard.press("Enter")
    checkbox = learner.get_by_label("Data Science Foundations")
    for _ in range(30):
        learner.keyboard.press("Tab")
        if learner.evaluate("document.activeElement.name") == "credentials":
            break
    assert checkbox.evaluate("e => e === document.activeElement")
    learner.keyboard.press("Space")
    assert checkbox.is_checked()
    while learner.evaluate("document.activeElement.name") != "show_name":
        learner.keyboard.press("Tab")
    learner.keyboard.press("Space")
    learner.keyboard.press("Tab")
    assert learner.evaluate("document.activeElement.name") == "shown_name"
    learner.keyboard.type("Anna de Vries")
    while learner.evaluate("document.activeElement.textContent") != "Make the link":
        learner.keyboard.press("Tab")
    learner.keyboard.press("Enter")
    learner.locator("#new-url").wait_for()
    assert learner.locator("#new-url").input_value().startswith(web.url + "/v1/shared/")
    assert learner.locator("table tbody tr td").nth(1).inner_text() == "Shown"


def test_no_serious_accessibility_problem_on_the_audit_pages(
    web: Web, signed_in: Any, tmp_path: Path
) -> None:
    made = world(web)
    publish_checkpoint(web, tmp_path)
    web.register_issuer("Hogeschool Extra", "bob@hs.example")
    publish_checkpoint(web, tmp_path)
    auditor = signed_in(AUDITOR, role="auditor")
    visited: list[str] = []

    def check(name: str, path: str | None = None) -> None:
        if path is not None:
            auditor.goto(web.url + path)
        _assert_accessible(auditor, name)
        visited.append(name)

    check("audit overview")
    check("trail form", "/audit/trail")
    auditor.get_by_role("button", name="Show the trail").click()
    check("trail with an error")
    auditor.get_by_label("Id or subject").fill(made["credential_id"])
    auditor.get_by_role("button", name="Show the trail").click()
    check("trail")
    check("time travel form", "/audit/time-travel")
    check("time travel with errors", "/audit/time-travel?credential=nope&at=soon")
    revoked = made["revoked"]["position"]
    check(
        "time travel", f"/audit/time-travel?credential={made['credential_id']}&position={revoked}"
    )
    check("checkpoints", "/audit/checkpoints")
    check("inclusion proof", f"/audit/checkpoints/inclusion?position={revoked}")
    check("inclusion with an error", "/audit/checkpoints/inclusion?position=x")
    check("bundle", "/audit/bundle")
    check("verify", "/audit/verify")
    auditor.get_by_role("button", name="Start the verification").click()
    auditor.locator(".verdict-box").wait_for(timeout=180_000)
    check("verification report")
    assert len(visited) == 13


def test_no_serious_accessibility_problem_on_the_console_issuing_pages(
    web: Web, signed_in: Any, tmp_path: Path
) -> None:
    """The CSV import, the issued list, a credential's changes, the claims inbox."""
    issuer_id, admin_headers, achievement_id = web.issuer_with_achievement()
    credential_id = web.issue(issuer_id, admin_headers, achievement_id, LEARNER)
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
    checked: list[str] = []

    def check(name: str, page: Any) -> None:
        _assert_accessible(page, name)
        checked.append(name)

    admin = signed_in("alice@uni.example", "administrator", ledger_issuer=str(issuer_id))
    admin.goto(web.url + "/console/cohorts")
    check("cohort upload", admin)
    admin.get_by_role("button", name="Check the file").click()
    check("cohort upload with errors", admin)
    bad = tmp_path / "bad.csv"
    bad.write_text("learner_subject,colour\r\na b,red\r\nx@e.example,\r\nx@e.example,\r\n")
    admin.get_by_label("Achievement").select_option(label="Data Science Foundations")
    admin.get_by_label("CSV file").set_input_files(str(bad))
    admin.get_by_role("button", name="Check the file").click()
    check("cohort report with problems", admin)
    good = tmp_path / "good.csv"
    good.write_text("learner_subject,result.grade\r\ny@e.example,8\r\nz@e.example,7\r\n")
    admin.get_by_label("CSV file").set_input_files(str(good))
    admin.get_by_role("button", name="Check the file").click()
    check("cohort ready", admin)
    admin.get_by_role("button", name="Issue 2 credentials").click()
    admin.get_by_test_id("import-done").wait_for()
    check("cohort issued", admin)

    admin.goto(web.url + "/console/issued")
    check("issued list", admin)
    admin.goto(web.url + "/console/issued?from=2030-01-01&until=2020-01-01")
    check("issued list with errors", admin)
    base = f"{web.url}/console/credentials/{credential_id}"
    admin.goto(base)
    check("console credential", admin)
    admin.goto(base + "/amend")
    check("amend", admin)
    admin.get_by_role("button", name="Show the changes").click()
    check("amend with errors", admin)
    admin.get_by_label("Result").fill("grade = 9")
    admin.get_by_label("Reason").fill("Corrected")
    admin.get_by_role("button", name="Show the changes").click()
    check("amend review", admin)
    admin.get_by_role("button", name="Confirm the amendment").click()
    check("credential amended", admin)
    admin.goto(base + "/revoke")
    check("revoke", admin)
    admin.get_by_role("button", name="Revoke the credential for good").click()
    check("revoke with errors", admin)

    dean = signed_in("dean@school.example", "administrator", ledger_issuer=str(school_id))
    dean.goto(web.url + "/console/claims")
    check("claims inbox", dean)
    dean.get_by_role("link", name="Decide on this claim").click()
    check("claim", dean)
    dean.get_by_role("button", name="Record the decision").click()
    check("claim with errors", dean)
    dean.goto(web.url + "/console/claims?state=any&lang=nl")
    check("claims inbox in Dutch", dean)
    assert len(checked) == 18


def test_no_serious_accessibility_problem_on_the_console_setup_pages(
    web: Web, signed_in: Any
) -> None:
    checked: list[str] = []

    def check(name: str, page: Any) -> None:
        _assert_accessible(page, name)
        checked.append(name)

    operator = signed_in(OPERATOR)
    operator.goto(web.url + "/console/institutions")
    check("institutions", operator)
    operator.get_by_role("button", name="Register the institution").click()  # empty: errors
    check("institutions with errors", operator)
    operator.get_by_label("Name").fill("Universiteit Toegankelijk")
    operator.get_by_label("Country").fill("NL")
    operator.get_by_label("Administrators").fill("alice@uni.example")
    operator.get_by_role("button", name="Register the institution").click()
    operator.get_by_text("The institution is registered").wait_for()
    check("institution", operator)
    issuer_id = operator.url.split("/console/institutions/")[1].split("?")[0]
    operator.get_by_label("Homepage").fill("not a url")
    operator.get_by_role("button", name="Save the profile").click()
    check("institution with errors", operator)
    operator.goto(web.url + f"/console/policies/{issuer_id}")
    check("policies", operator)
    operator.get_by_role("button", name="Adopt the policy").click()
    check("policies with errors", operator)
    operator.goto(web.url + f"/console/keys/{issuer_id}")
    check("keys", operator)
    operator.get_by_label("Key", exact=True).select_option(index=1)
    operator.get_by_label("Compromised since (UTC)").fill("2020-01-01T00:00:00")
    operator.get_by_role("button", name="Show what it invalidates").click()
    check("keys with consequences", operator)

    admin = signed_in("alice@uni.example", "administrator", ledger_issuer=issuer_id)
    check("console home", admin)
    admin.goto(web.url + "/console/achievements/new")
    check("new microcredential", admin)
    admin.get_by_role("button", name="Define the achievement").click()
    check("new microcredential with errors", admin)
    admin.goto(web.url + "/console/achievements")
    check("achievements (none yet)", admin)
    assert len(checked) == 12
