"""The pages over plain HTTP (no browser): content negotiation, downloads, docs, check inputs, Dutch."""

from __future__ import annotations

import re

import httpx
import orjson

from tests.browser.conftest import Web

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


def test_docs_work_offline(web: Web) -> None:
    page = web.client.get("/docs")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith(("/static/", "/swagger-ui/")) for s in sources)
    for source in sources:
        assert web.client.get(source).status_code == 200, source
    assert web.client.get("/openapi.json").status_code == 200


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


def test_dutch_pages_show_dutch_labels_for_recorded_values(web: Web) -> None:
    """SURF's list values, language and country codes and levels read as words."""
    _, token, _ = _shared(web)
    dutch = web.client.get(f"/v1/shared/{token}", headers={**HTML, "Accept-Language": "nl"})
    assert dutch.status_code == 200
    # What people read (the embedded JSON-LD is the signed credential, in its own terms).
    text = re.sub(r"<script.*?</script>", "", dutch.text, flags=re.DOTALL)
    for label in (
        "Op locatie of blended (deels online)",  # onsite or blended
        "<dd>Engels</dd>",  # en
        "Toets of examen",  # testing
        "Op locatie, identiteit gecontroleerd",  # supervision_type
        "Niveau 6",  # eqf_level, nlqf_level
        "(Nederland)",  # NL
        "<dd>Ja</dd>",  # identity_checked
    ):
        assert label in text, label
    for raw in ("onsite or blended", "<dd>en</dd>", "<dd>testing</dd>", "<dd>6</dd>", "(NL)"):
        assert raw not in text, raw
    english = web.client.get(f"/v1/shared/{token}", headers={**HTML, "Accept-Language": "en"})
    for label in ("On site or blended (partly online)", "<dd>English</dd>", "Level 6"):
        assert label in english.text, label


def test_share_link_api_takes_the_name_to_show_and_refuses_bad_ones(web: Web) -> None:
    issuer_id, admin, achievement_id = web.issuer_with_achievement()
    credential_id = web.issue(issuer_id, admin, achievement_id, LEARNER)
    learner = web.token("learner", LEARNER)
    tokens = {}
    for case, extra in (("default", {}), ("named", {"shown_name": "Anna de Vries"})):
        response = web.client.post(
            "/v1/me/share-links", json={"credential_ids": [credential_id], **extra}, headers=learner
        )
        assert response.status_code == 201, response.text
        tokens[case] = response.json()["token"]
    as_json = {"Accept": "application/json"}
    assert (
        web.client.get(f"/v1/shared/{tokens['default']}", headers=as_json).json()["learner_name"]
        is None
    )
    named = web.client.get(f"/v1/shared/{tokens['named']}", headers=as_json).json()
    assert named["learner_name"] == "Anna de Vries"
    page = web.client.get(f"/v1/shared/{tokens['default']}", headers=HTML).text
    assert "The learner chose not to show their name." in page
    assert "Anna de Vries" not in page
    for bad in ("", "   ", "A\x00B", "x" * 201, 42):
        response = web.client.post(
            "/v1/me/share-links",
            json={"credential_ids": [credential_id], "shown_name": bad},
            headers=learner,
        )
        assert response.status_code == 422, (bad, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    links = web.client.get("/v1/me/backpack", headers=learner).json()["share_links"]
    assert sorted(link["shows_name"] for link in links) == [False, True]
