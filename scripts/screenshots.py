"""Screenshots of every page for the README, taken with headless Chromium.

It fills a fresh SQLite ledger with the demo world (``ledger demo``), starts
``ledger serve`` in development mode, signs in with the development shortcut as
the demo's learner and employer, and saves a PNG of each page under
``docs/screenshots/``.

    python scripts/screenshots.py [--out docs/screenshots] [--width 1024]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("LEDGER_CHROMIUM", "/usr/bin/chromium")
#: The subject the screenshots' server accepts as the ledger operator.
OPERATOR = "operator@ledger.example"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def dev_sign_in(page: Any, base: str, subject: str, role: str = "learner") -> None:
    page.goto(f"{base}/signin?subject={subject}&role={role}")
    page.get_by_role("button", name="Sign in for development").click()
    page.wait_for_load_state()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--width", type=int, default=1024)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "LEDGER_STORE": f"sqlite:///{folder}/ledger.db",
            "LEDGER_KEY_DIR": f"{folder}/keys",
            "LEDGER_PUBLIC_URL": base,
            "LEDGER_ENV": "development",
            "LEDGER_OPERATOR_SUBJECTS": OPERATOR,
        }
        cli = [sys.executable, "-m", "ledger.cli.main"]
        subprocess.run([*cli, "init"], env=env, check=True, capture_output=True)
        made = json.loads(
            subprocess.run(
                [*cli, "demo", "--json"], env=env, check=True, capture_output=True
            ).stdout
        )
        with Path(folder, "serve.log").open("wb") as log:
            server = subprocess.Popen(
                [*cli, "serve", "--port", str(port)], env=env, stdout=log, stderr=log
            )
            try:
                deadline = time.monotonic() + 60
                while True:
                    try:
                        if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(Path(folder, "serve.log").read_text())
                    time.sleep(0.2)
                take(base, made, out, args.width)
            finally:
                server.terminate()
                server.wait(timeout=30)
    return 0


def take(base: str, made: dict[str, Any], out: Path, width: int) -> None:
    learner = made["learners"][0]
    share = f"{base}/v1/shared/{made['share_link']['token']}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        viewport = {"width": width, "height": 800}

        def shot(page: Any, name: str, *, full_page: bool = True) -> None:
            page.screenshot(path=str(out / f"{name}.png"), full_page=full_page)
            print(out / f"{name}.png")

        public = browser.new_context(viewport=viewport).new_page()
        public.goto(base + "/")
        shot(public, "home")
        public.goto(share)
        shot(public, "credential-page")
        public.goto(base + "/verify")
        public.get_by_label("Or give a link").fill(share)
        public.get_by_role("button", name="Check").click()
        shot(public, "verify")
        public.goto(base + "/v1/shared/" + "x" * 43)
        shot(public, "link-closed")
        public.goto(base + "/signin")
        shot(public, "signin")
        public.goto(base + "/docs")
        public.locator(".swagger-ui .info").wait_for()
        shot(public, "docs", full_page=False)
        phone = browser.new_context(viewport={"width": 360, "height": 740}).new_page()
        phone.goto(share + "?lang=nl")
        shot(phone, "credential-page-nl-360px")

        me = browser.new_context(viewport=viewport).new_page()
        dev_sign_in(me, base, learner)
        shot(me, "backpack")
        me.get_by_role("link", name="Data Science Foundations").first.click()
        shot(me, "backpack-credential")
        me.goto(base + "/backpack/share-links")
        me.locator("input[name=credentials]").first.check()
        me.get_by_label("Show my name on the page").check()
        me.get_by_label("Name to show").fill("Eva de Vries")
        me.get_by_role("button", name="Make the link").click()
        shot(me, "share-links")
        me.goto(base + "/backpack/consents")
        shot(me, "consents")
        consent_link = me.locator("input.consent-link").first.input_value()
        me.goto(base + "/backpack/claims")
        shot(me, "exemptions")

        employer = browser.new_context(viewport=viewport).new_page()
        dev_sign_in(employer, base, "hr@employer.example", "verifier")
        employer.goto(consent_link)
        employer.get_by_role("button", name="Look up now").click()
        shot(employer, "lookup")
        take_console_setup(browser, viewport, base, made, shot)
        browser.close()


def take_console_setup(
    browser: Any, viewport: dict[str, int], base: str, made: dict[str, Any], shot: Any
) -> None:
    """The console's onboarding and achievement pages (operator and administrator)."""
    university = made["issuers"]["university"]
    operator = browser.new_context(viewport=viewport).new_page()
    dev_sign_in(operator, base, OPERATOR)
    shot(operator, "console-institutions")
    operator.goto(f"{base}/console/keys/{university}")
    operator.get_by_label("Key", exact=True).select_option(index=1)
    operator.get_by_label("Compromised since (UTC)").fill("2020-01-01T00:00:00")
    operator.get_by_role("button", name="Show what it invalidates").click()
    shot(operator, "console-key-compromise")

    admin = browser.new_context(viewport=viewport).new_page()
    admin.goto(f"{base}/signin?subject=alice@uni.example&role=administrator")
    admin.get_by_label("Issuer id (administrators only)").fill(str(university))
    admin.get_by_role("button", name="Sign in for development").click()
    admin.wait_for_load_state()
    shot(admin, "console-home")
    admin.goto(f"{base}/console/achievements/{made['achievements']['data_science']}")
    shot(admin, "console-achievement")
    admin.goto(f"{base}/console/achievements/{made['achievements']['data_science']}/revise")
    admin.get_by_label("Why does it change?").fill("A shorter course")
    admin.get_by_label("Study load (hours)").fill("28")
    admin.get_by_label("Study load (ECTS)").fill("1")
    admin.get_by_role("button", name="Record the revision").click()
    shot(admin, "console-achievement-refused")


if __name__ == "__main__":
    sys.exit(main())
