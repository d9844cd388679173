"""The pages over plain HTTP (no browser): negotiation, headers, CSRF, sign-in rules, check inputs."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import orjson
import pytest

from ledger.application.ledger import share_token_digest
from tests.browser.conftest import Provider, Web, web_env
from tests.e2e.conftest import free_port, serving

LEARNER = "learner-anna@eduid.example"
HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def _shared(web: Web) -> tuple[str, str, dict[str, str]]:
    issuer_id, admin, achievement_id = web.issuer_with_achievement()
    credential_id = web.issue(issuer_id, admin, achievement_id, LEARNER)
    response = web.client.post(
        "/v1/me/share-links",
        json={"credential_ids": [credential_id]},
        headers=web.token("learner", LEARNER),
    )
    assert response.status_code == 201, response.text
    return credential_id, response.json()["token"], admin


def _dev_session(web: Web, subject: str = LEARNER, role: str = "learner") -> httpx.Client:
    client = httpx.Client(base_url=web.url, timeout=30)
    page = client.get("/signin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    response = client.post(
        "/signin/dev", data={"subject": subject, "role": role, "csrf_token": token[1]}
    )
    assert response.status_code == 303, response.text
    return client


def test_share_link_gives_html_to_browsers_and_json_to_api_clients(web: Web) -> None:
    credential_id, token, _ = _shared(web)
    api = web.client.get(f"/v1/shared/{token}", headers={"Accept": "application/json"})
    assert api.status_code == 200
    assert api.headers["content-type"] == "application/json"
    assert api.json()["credentials"][0]["credential_id"] == credential_id
    assert "learner_id" not in api.json()["credentials"][0]
    plain = web.client.get(f"/v1/shared/{token}")  # no Accept: the API as before
    assert plain.json() == api.json()

    page = web.client.get(f"/v1/shared/{token}", headers=HTML)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Data Science Foundations" in page.text
    assert 'property="og:title" content="Data Science Foundations"' in page.text
    assert page.headers["cache-control"] == "no-store"
    qr = web.client.get(f"/shared/{token}/qr.svg")
    assert qr.status_code == 200
    assert qr.headers["content-type"].startswith("image/svg+xml")
    download = web.client.get(f"/shared/{token}/{credential_id}/download")
    assert download.status_code == 200
    assert "attachment" in download.headers["content-disposition"]
    assert download.json()["id"] == f"urn:uuid:{credential_id}"


def test_closed_and_unknown_links_show_a_clear_page_with_404(web: Web) -> None:
    credential_id, token, _ = _shared(web)
    link_id = web.client.get("/v1/me/backpack", headers=web.token("learner", LEARNER)).json()[
        "share_links"
    ][0]["link_id"]
    closed = web.client.delete(
        f"/v1/me/share-links/{link_id}", headers=web.token("learner", LEARNER)
    )
    assert closed.status_code == 204
    for url in (f"/v1/shared/{token}", "/v1/shared/" + "x" * 43):
        page = web.client.get(url, headers=HTML)
        assert page.status_code == 404
        assert "This link is closed" in page.text
        assert "Data Science Foundations" not in page.text
    api = web.client.get(f"/v1/shared/{token}", headers={"Accept": "application/json"})
    assert api.status_code == 404
    assert api.headers["content-type"].startswith("application/problem+json")
    assert web.client.get(f"/shared/{token}/{credential_id}/download").status_code == 404
    assert web.client.get(f"/shared/{token}/qr.svg").status_code == 404


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


def test_docs_work_offline(web: Web) -> None:
    page = web.client.get("/docs")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith(("/static/", "/swagger-ui/")) for s in sources)
    for source in sources:
        assert web.client.get(source).status_code == 200, source
    assert web.client.get("/openapi.json").status_code == 200


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


def test_check_route_takes_a_form_file_text_or_url(web: Web) -> None:
    credential_id, token, _ = _shared(web)
    document = web.client.get(f"/shared/{token}/{credential_id}/download").content
    as_file = web.client.post(
        "/v1/credentials/check", files={"file": ("c.json", document, "application/json")}
    )
    assert as_file.status_code == 200, as_file.text
    assert as_file.json()["verified"] is True
    as_text = web.client.post("/v1/credentials/check", data={"credential": document.decode()})
    assert as_text.json()["verified"] is True
    as_json = web.client.post("/v1/credentials/check", content=document)
    assert as_json.json()["verified"] is True
    link = f"{web.url}/v1/shared/{token}"
    for body in ({"url": link},):
        by_url = web.client.post("/v1/credentials/check", json=body)
        assert by_url.status_code == 200, by_url.text
        assert by_url.json()["credential_id"] == f"urn:uuid:{credential_id}"
    assert web.client.post("/v1/credentials/check", data={"url": link}).json()["verified"]
    foreign = web.client.post("/v1/credentials/check", json={"url": "https://evil.example/c"})
    assert foreign.status_code == 422
    assert foreign.json()["type"] == "urn:ledger:problem:invalid-input"
    nothing = web.client.post("/v1/credentials/check", data={"credential": ""})
    assert nothing.status_code == 422
    garbage = web.client.post("/v1/credentials/check", files={"file": ("c.json", b"{nope", "x")})
    assert garbage.status_code == 422


def test_verify_page_works_without_javascript(web: Web) -> None:
    credential_id, token, _ = _shared(web)
    document = web.client.get(f"/shared/{token}/{credential_id}/download").text
    pasted = web.client.post("/verify", data={"credential": document})
    assert pasted.status_code == 200
    assert "Verified" in pasted.text
    changed = orjson.loads(document)
    changed["validFrom"] = "2001-01-01T00:00:00Z"
    tampered = web.client.post("/verify", data={"credential": orjson.dumps(changed).decode()})
    assert "Not verified" in tampered.text
    wrong = web.client.post("/verify", data={"credential": "{not json"})
    assert wrong.status_code == 422
    assert 'id="file-error"' in wrong.text
    remote = web.client.post("/verify", data={"url": "https://elsewhere.example/x"})
    assert remote.status_code == 422
    assert 'aria-invalid="true"' in remote.text


def test_pages_speak_dutch(web: Web) -> None:
    page = web.client.get("/verify", headers={"Accept-Language": "nl-NL,nl;q=0.9,en;q=0.5"})
    assert '<html lang="nl">' in page.text
    assert "Controleer een credential" in page.text
    english = web.client.get("/verify?lang=en", headers={"Accept-Language": "nl"})
    assert "Check a credential" in english.text


def test_no_share_token_or_subject_in_the_access_log(web: Web) -> None:
    _, token, _ = _shared(web)
    web.client.get(f"/v1/shared/{token}", headers=HTML)
    _dev_session(web).get("/backpack")
    log = Path(web.log).read_text()
    assert "/v1/shared/{token}" in log
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


def test_forms_refuse_nul_characters_next_to_the_field(web: Web) -> None:
    _shared(web)
    client = _dev_session(web)
    page = client.get("/backpack/consents")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    response = client.post(
        "/backpack/consents",
        data={
            "grantee": "hr@employer.example",
            "purpose": "bad\x00purpose",
            "expires": "2099-12-31",
            "scope": "all",
            "csrf_token": token[1],
        },
    )
    assert response.status_code == 422
    assert 'id="purpose" name="purpose"' in response.text
    assert 'aria-invalid="true"' in response.text
    consents = web.client.get("/v1/me/backpack", headers=web.token("learner", LEARNER))
    assert consents.json()["consents"] == []
