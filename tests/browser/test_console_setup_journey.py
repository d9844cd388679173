"""Journeys through the console in Chromium, signed in through the OpenID provider:
the operator onboards an institution and an administrator; the administrator
defines a microcredential below the national minimum and is refused with the
policy named, the operator adopts the 1 EC experiment, the administrator succeeds."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

import pytest

from tests.browser.conftest import OPERATOR, Web

pytestmark = pytest.mark.browser

ADMIN = "alice@uni.example"
SECOND = "dave@uni.example"


def _onboard(web: Web, operator: Any) -> UUID:
    """The operator registers an institution with one administrator and adds a second."""
    operator.goto(web.url + "/console")
    operator.wait_for_url(web.url + "/console/institutions")
    operator.get_by_label("Name").fill("Universiteit Reis")
    operator.get_by_label("Country").fill("NL")
    operator.get_by_label("Identifiers").fill("BRIN=21PB")
    operator.get_by_label("Homepage").fill("https://www.reis.example")
    operator.get_by_label("Logo").fill("https://www.reis.example/logo.png")
    operator.get_by_label("Administrators").fill(ADMIN)
    operator.get_by_role("button", name="Register the institution").click()
    operator.get_by_text("The institution is registered").wait_for()
    found = re.search(r"/console/institutions/([0-9a-f-]{36})", operator.url)
    assert found is not None
    operator.get_by_label("Add an administrator by eduID subject").fill(SECOND)
    operator.get_by_role("button", name="Add the administrator").click()
    operator.get_by_text("The administrator is added").wait_for()
    assert operator.get_by_role("cell", name=SECOND, exact=True).is_visible()
    assert operator.get_by_role("cell", name=ADMIN, exact=True).is_visible()
    return UUID(found[1])


def _fill_microcredential(page: Any, title: str, hours: str, ects: str) -> None:
    page.get_by_label("Title").fill(title)
    page.get_by_label(re.compile("^Description")).fill("Formulas, tables and charts.")
    page.get_by_label("Criteria: what a learner does to earn it").fill("Passes the test.")
    page.get_by_label("Language of instruction").fill("nl")
    page.get_by_label("Badge image").fill("https://www.reis.example/badge.png")
    page.get_by_label("Learning outcomes").fill("Builds a budget sheet\nDraws a chart")
    page.get_by_label("Study load (hours)").fill(hours)
    page.get_by_label("Study load (ECTS)").fill(ects)
    page.get_by_label("EQF level").select_option("4")
    page.get_by_label("Type of assessment").select_option("testing")
    page.get_by_label("Form of participation").select_option("online")
    page.get_by_label("Supervision and identity verification").select_option("supervised online")
    page.get_by_label("Yes").check()
    page.get_by_label(re.compile("^Quality assurance")).fill("Internal quality board")
    page.get_by_label("Decision code").fill("QB-2026-7")
    page.get_by_label("Address of the decision").fill("https://www.reis.example/qa/7")


def test_operator_onboards_and_the_experiment_policy_lets_a_small_microcredential_in(
    web: Web, signed_in: Any
) -> None:
    operator = signed_in(OPERATOR)  # listed in LEDGER_OPERATOR_SUBJECTS: the operator
    issuer_id = _onboard(web, operator)

    admin = signed_in(ADMIN, "administrator", ledger_issuer=str(issuer_id))
    admin.wait_for_url(web.url + "/console")  # an administrator lands on the console
    assert admin.get_by_role("heading", name="Universiteit Reis").is_visible()
    admin.get_by_role("navigation", name="Console").get_by_role("link", name="Achievements").click()
    admin.get_by_role("link", name="Define a microcredential").click()
    _fill_microcredential(admin, "Spreadsheet Basics", "28", "1")
    admin.get_by_role("button", name="Define the achievement").click()
    summary = admin.locator(".error-summary")
    summary.wait_for()
    assert "Dutch national microcredentials pilot" in summary.inner_text()
    assert admin.locator("#study_load_hours-error").is_visible()
    assert admin.get_by_label("Title").input_value() == "Spreadsheet Basics"  # kept
    assert admin.get_by_role("link", name="study-load policies page").is_visible()

    operator.goto(web.url + f"/console/policies/{issuer_id}")
    operator.get_by_label(re.compile("^Experiment under the national framework")).check()
    operator.get_by_role("button", name="Adopt the policy").click()
    operator.get_by_text("The policy is adopted").wait_for()

    admin.get_by_role("button", name="Define the achievement").click()  # the same form again
    admin.get_by_text("The achievement is defined").wait_for()
    assert admin.get_by_role("heading", name="Spreadsheet Basics", exact=True).is_visible()
    assert admin.get_by_text("nl-microcredentials-experiment-1ec@v1").is_visible()
    admin.get_by_role("link", name="Achievements").first.click()
    assert admin.get_by_role("link", name="Spreadsheet Basics").is_visible()
