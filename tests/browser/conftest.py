"""Real parts for the pages: an OpenID provider process, ``ledger serve``, and Chromium.

- ``oidc_provider``: ``oidc-provider-mock`` as its own process on 127.0.0.1 (one per
  test session); a test chooses the ``sub`` and the claims of whoever signs in.
- ``web``: ``ledger init`` and ``ledger serve`` on each store, configured to sign
  people in through that provider (``LEDGER_OIDC_ISSUER``, client id and secret).
- ``browser`` / ``visitor`` / ``signed_in``: Debian's Chromium driven by Playwright;
  ``signed_in(role, subject)`` gives a page that went through the provider's
  authorize form; a failing test leaves a screenshot of each of its pages under
  ``test-artifacts/``.

These fixtures are meant for every page test (the admin console's too).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx
import pytest

from ledger.application.ledger import Ledger
from ledger.cli.demo import MICRO_DATA_SCIENCE
from ledger.settings import Settings
from tests.e2e.conftest import Server, free_port, serving

CHROMIUM = os.environ.get("LEDGER_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CLIENT_ID = "ledger-web"
CLIENT_SECRET = "test-client-secret"
WAIT_MS = 30_000
#: The one subject the test servers accept as the ledger operator (signs in to the console).
OPERATOR = "operator@ledger.example"


@dataclass
class Provider:
    url: str

    def set_user(self, subject: str, **claims: Any) -> None:
        """The claims the provider will put in this subject's ID token."""
        response = httpx.put(f"{self.url}/users/{quote(subject, safe='')}", json=claims, timeout=10)
        response.raise_for_status()


@dataclass
class Web(Server):
    provider: Provider = field(default_factory=lambda: Provider(""))
    log: Path = Path()

    def issue(
        self, issuer_id: UUID, admin_headers: dict[str, str], achievement_id: str, subject: str
    ) -> str:
        response = self.client.post(
            f"/v1/issuers/{issuer_id}/credentials",
            json={
                "achievement_id": achievement_id,
                "credential": {"learner_subject": subject, "result": {"grade": "8"}},
            },
            headers=admin_headers,
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def issuer_with_achievement(
        self, name: str = "Universiteit Test", admin: str = "alice@uni.example", **spec: Any
    ) -> tuple[UUID, dict[str, str], str]:
        issuer_id = self.register_issuer(name, admin)
        headers = self.token("administrator", admin, issuer_id)
        response = self.client.post(
            f"/v1/issuers/{issuer_id}/achievements",
            json={**MICRO_DATA_SCIENCE, "ects": "5", "awarding_body": name, **spec},
            headers=headers,
        )
        assert response.status_code == 201, response.text
        return issuer_id, headers, str(response.json()["id"])


def _wait_for(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not come up: {log.read_text()}")
        time.sleep(0.1)


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    """``oidc-provider-mock`` in its own process (PKCE and nonce as a real provider)."""
    port = free_port()
    log = tmp_path_factory.mktemp("oidc") / "provider.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "oidc_provider_mock", "--port", str(port), "-n", "true"],
            stdout=out,
            stderr=out,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_for(url + "/.well-known/openid-configuration", process, log)
            yield Provider(url)
        finally:
            process.terminate()
            process.wait(timeout=30)


def web_env(store_url: str, tmp_path: Path, provider: Provider, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "LEDGER_STORE": store_url,
        "LEDGER_KEY_DIR": str(tmp_path / "keys"),
        # Development on both stores (unset, PostgreSQL means production); no public
        # rate limit: the tests call public routes faster than a client should.
        "LEDGER_ENV": "development",
        "LEDGER_PUBLIC_RATE": "0",
        "LEDGER_PROJECT_IN_PROCESS": "yes",
        "LEDGER_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "LEDGER_OIDC_ISSUER": provider.url,
        "LEDGER_OIDC_CLIENT_ID": CLIENT_ID,
        "LEDGER_OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "LEDGER_OPERATOR_SUBJECTS": OPERATOR,
    }


@pytest.fixture
def web(store_url: str, tmp_path: Path, oidc_provider: Provider) -> Iterator[Web]:
    """``ledger serve`` on each store, signing people in through the provider."""
    port = free_port()
    env = web_env(store_url, tmp_path, oidc_provider, port)
    settings = Settings.from_env(env)
    with (
        serving(env, tmp_path, port=port) as url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        ledger = Ledger(settings.store, key_store=settings.key_store())
        yield Web(
            url=url,
            settings=settings,
            ledger=ledger,
            client=client,
            provider=oidc_provider,
            log=tmp_path / "serve.log",
        )
        ledger.close()


# -- the browser ----------------------------------------------------------------------


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"report_{report.when}", report)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium (Playwright cannot download its own build here)."""
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)"
        if os.environ.get("CI") or os.environ.get("LEDGER_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield chromium
        chromium.close()


@pytest.fixture
def visitor(browser: Any, request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    """Makes pages, each in its own browser context (its own cookies): one per person."""
    contexts: list[Any] = []

    def new_page(**options: Any) -> Any:
        context = browser.new_context(accept_downloads=True, **options)
        context.set_default_timeout(WAIT_MS)
        contexts.append(context)
        return context.new_page()

    yield new_page
    failed = getattr(request.node, "report_call", None)
    if failed is not None and failed.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = request.node.nodeid.replace("/", "_").replace(":", "_")
        for n, context in enumerate(contexts):
            for m, page in enumerate(context.pages):
                # Best effort: the test has failed already; its own error is what matters.
                with contextlib.suppress(Exception):
                    page.screenshot(path=str(ARTIFACTS / f"{name}-{n}-{m}.png"), full_page=True)
    for context in contexts:
        context.close()


def sign_in(page: Any, web: Web, subject: str, role: str = "learner", **claims: Any) -> Any:
    """Through our sign-in page and the provider's authorize form, as ``subject``."""
    web.provider.set_user(subject, ledger_role=role, **claims)
    page.goto(web.url + "/signin")
    page.get_by_role("link", name="Sign in with eduID").click()
    page.locator("input[name=sub]").fill(subject)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(web.url + "/**")
    return page


@pytest.fixture
def signed_in(visitor: Callable[..., Any], web: Web) -> Callable[..., Any]:
    """``signed_in(subject, role="learner", **claims)``: a page signed in through the provider."""

    def make(subject: str, role: str = "learner", **claims: Any) -> Any:
        return sign_in(visitor(), web, subject, role, **claims)

    return make
