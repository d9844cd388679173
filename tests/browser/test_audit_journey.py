"""The auditor's journey in Chromium, through ``ledger serve`` and a real OpenID provider,
on SQLite and on PostgreSQL: sign in, follow a credential's trail, step it back in time
to before its revocation, run a whole-log verification and read the report."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.audit_world import AUDITOR, FRAUD, world
from tests.browser.conftest import Web

pytestmark = pytest.mark.browser
#: A verification of this small log takes seconds; a loaded machine gets much longer.
REPORT_WAIT_MS = 180_000


def test_an_auditor_steps_a_credential_back_in_time_and_verifies_the_log(
    web: Web, signed_in: Any
) -> None:
    made = world(web)
    auditor = signed_in(AUDITOR, role="auditor")
    assert auditor.url == web.url + "/audit"
    auditor.get_by_role("navigation", name="Audit").get_by_role("link", name="Trails").click()
    auditor.get_by_label("Follow").select_option("credential")
    auditor.get_by_label("Id or subject").fill(made["credential_id"])
    auditor.get_by_role("button", name="Show the trail").click()
    rows = auditor.locator("table.trail tbody tr")
    assert rows.count() == 2
    assert FRAUD in rows.nth(1).inner_text()

    rows.nth(1).get_by_role("link", name="Credential then").click()
    state = auditor.locator(".state-line .tag")
    assert state.inner_text() == "Revoked"
    auditor.get_by_role("link", name="Event before").click()
    assert state.inner_text() == "Active"
    assert "after event 1 of 2" in auditor.locator(".state-line").inner_text()
    current = auditor.locator('tr[aria-current="step"]')
    assert "Credential · Issued" in current.inner_text()
    auditor.get_by_role("link", name="Event after").click()
    assert state.inner_text() == "Revoked"

    auditor.get_by_role("link", name="Verify the log").click()
    auditor.get_by_role("button", name="Start the verification").click()
    # The page follows the run (its script polls the progress) and turns into the report.
    verdict = auditor.locator(".verdict-box")
    verdict.wait_for(timeout=REPORT_WAIT_MS)
    assert auditor.get_by_role("heading", level=1).inner_text() == "Verified"
    assert "checks out" in verdict.inner_text()
