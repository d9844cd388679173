"""Security of the pages over plain HTTP: headers, CSRF, the session cookie, sign-in rules, logs."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest

from ledger.application.ledger import share_token_digest
from tests.browser.conftest import Provider, Web, web_env
from tests.browser.test_pages_http import HTML, LEARNER, _dev_session, _shared
from tests.e2e.conftest import free_port, serving


def test_pages_carry_security_headers_and_no_inline_script(web: Web) -> None:
    _, token, _ = _shared(web)
    for path in ("/", "/verify", "/signin", f"/v1/shared/{token}"):
        response = web.client.get(path, headers=HTML)
        assert response.status_code == 200, path
        csp = response.headers["content-security-policy"]
        script_src = re.search(r"script-src ([^;]+)", csp)
        assert script_src is not None and script_src[1] == "'self'", csp
        assert "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        # Every <script> is a file of this site or data (JSON-LD), never inline code.
        for attributes, body in re.findall(r"<script([^>]*)>(.*?)</script>", response.text, re.S):
            assert 'src="/static/' in attributes or 'type="application/ld+json"' in attributes
            assert body == "" or "ld+json" in attributes
        # Nothing loads from another site (no CDN): every resource is one of ours.
        for resource in re.findall(
            r'<(?:script|link|img)[^>]*(?:src|href)="([^"]+)"', response.text
        ):
            assert resource.startswith("/"), resource
    api = web.client.get("/healthz")
    assert api.headers["x-content-type-options"] == "nosniff"


def test_forms_refuse_a_post_without_the_session_csrf_token(web: Web) -> None:
    _shared(web)
    client = _dev_session(web)
    backpack = client.get("/v1/me/backpack")  # the bearer API ignores the session
    assert backpack.status_code == 401
    credential_id = re.search(
        r"/backpack/credentials/([0-9a-f-]{36})", client.get("/backpack").text
    )
    assert credential_id is not None
    for data in ({}, {"csrf_token": "forged"}):
        response = client.post(
            "/backpack/share-links", data={"credentials": credential_id[1], **data}
        )
        assert response.status_code == 403
        assert "did not come from this site" in response.text
    links = web.client.get("/v1/me/backpack", headers=web.token("learner", LEARNER))
    assert len(links.json()["share_links"]) == 1  # only the one made by _shared
    signout = client.post("/signout", data={})
    assert signout.status_code == 403


def test_session_cookie_is_http_only_lax_and_sign_out_clears_it(web: Web) -> None:
    client = httpx.Client(base_url=web.url, timeout=30)
    page = client.get("/signin")
    cookie = page.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age=28800" in cookie
    assert LEARNER not in cookie
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    client.post("/signin/dev", data={"subject": LEARNER, "role": "learner", "csrf_token": token[1]})
    assert client.get("/backpack").status_code == 200
    stolen = dict(client.cookies)
    backpack = client.get("/backpack")
    token = re.search(r'name="csrf_token" value="([^"]+)"', backpack.text)
    assert token is not None
    out = client.post("/signout", data={"csrf_token": token[1]})
    assert out.status_code == 303
    assert "Max-Age=0" in out.headers["set-cookie"]
    assert client.get("/backpack").status_code == 303
    tampered = stolen["ledger_session"][:-4] + "AAAA"
    response = httpx.get(
        web.url + "/backpack", cookies={"ledger_session": tampered}, follow_redirects=False
    )
    assert response.status_code == 303  # a changed cookie is no session at all


def test_callback_with_a_forged_state_does_not_sign_in(web: Web) -> None:
    client = httpx.Client(base_url=web.url, timeout=30)
    start = client.get("/signin/start")
    assert start.status_code == 302
    location = start.headers["location"]
    assert location.startswith(web.provider.url)
    assert "code_challenge_method=S256" in location and "nonce=" in location
    assert "state=" in location
    response = client.get("/signin/callback", params={"code": "stolen", "state": "forged"})
    assert response.status_code == 400
    assert "Signing in did not work" in response.text
    assert client.get("/backpack").status_code == 303


def test_no_share_token_or_subject_in_the_access_log(web: Web) -> None:
    _, token, _ = _shared(web)
    web.client.get(f"/v1/shared/{token}", headers=HTML)
    _dev_session(web).get("/backpack")
    # Access lines reach the log a little after the answers: wait (bounded) for both.
    deadline = time.monotonic() + 60
    log = Path(web.log).read_text()
    while not ('"route":"/v1/shared/{token}"' in log and '"route":"/backpack"' in log):
        assert time.monotonic() < deadline, "the access lines never reached the log"
        time.sleep(0.05)
        log = Path(web.log).read_text()
    assert token not in log
    assert share_token_digest(token) not in log
    assert LEARNER not in log


@pytest.mark.postgres
def test_development_sign_in_is_refused_in_production(
    postgres_schema: str, tmp_path: Path, oidc_provider: Provider
) -> None:
    from tests.conftest import postgres_store_url

    port = free_port()
    env = {
        **web_env(postgres_store_url(postgres_schema), tmp_path, oidc_provider, port),
        "LEDGER_ENV": "production",
        "LEDGER_KEY_PASSPHRASE": "correct horse battery staple",
        "LEDGER_OIDC_JWKS": oidc_provider.url + "/jwks",
        "LEDGER_SESSION_SECRET": "a long random secret for the session cookie",
    }
    with serving(env, tmp_path, port=port) as url, httpx.Client(base_url=url) as client:
        page = client.get("/signin")
        assert "Development sign-in" not in page.text
        start = client.get("/signin/start")
        assert start.status_code == 302
        assert "; Secure" in start.headers["set-cookie"]
        refused = client.post("/signin/dev", data={"subject": "x", "role": "learner"})
        assert refused.status_code == 404
        assert client.get("/backpack").status_code == 303


def test_forms_refuse_control_characters_next_to_the_field(web: Web) -> None:
    _shared(web)
    client = _dev_session(web)
    page = client.get("/backpack/consents")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    for bad in ("bad\x00purpose", "bad\x07purpose"):
        response = client.post(
            "/backpack/consents",
            data={
                "grantee": "hr@employer.example",
                "purpose": bad,
                "expires": "2099-12-31",
                "scope": "all",
                "csrf_token": token[1],
            },
        )
        assert response.status_code == 422
        field = re.search(r'<input id="purpose"[^>]*>', response.text)
        assert field is not None and 'aria-invalid="true"' in field[0]
        assert 'id="purpose-error"' in response.text
    consents = web.client.get("/v1/me/backpack", headers=web.token("learner", LEARNER))
    assert consents.json()["consents"] == []
