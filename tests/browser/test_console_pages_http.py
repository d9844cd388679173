"""The console's onboarding and achievement pages over plain HTTP, on both stores.

Sessions come from the development sign-in (a subject listed in
``LEDGER_OPERATOR_SUBJECTS`` signs in as the operator); each test checks what
a person relies on: the good path writes a signed event and shows it, a form
without the session's CSRF token is refused, another institution's
administrator and a learner see nothing, and malformed input shows an error
next to each refused field and writes nothing.
"""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

import httpx

from ledger.cli.demo import MICRO_DATA_SCIENCE
from tests.browser.conftest import OPERATOR, Web

ADMIN = "alice@uni.example"
OTHER_ADMIN = "bob@hs.example"
EXPERIMENT = "nl-microcredentials-experiment-1ec"


class Session:
    """A browser session without a browser: cookies, and the CSRF token of its forms."""

    def __init__(self, web: Web, subject: str, role: str, issuer: UUID | None = None) -> None:
        self.client = httpx.Client(base_url=web.url, timeout=30)
        token = self.csrf("/signin")
        data = {"subject": subject, "role": role, "csrf_token": token}
        if issuer is not None:
            data["issuer"] = str(issuer)
        response = self.client.post("/signin/dev", data=data)
        assert response.status_code == 303, response.text
        self.token = self.csrf("/signin")

    def csrf(self, path: str) -> str:
        found = re.search(r'name="csrf_token" value="([^"]+)"', self.client.get(path).text)
        assert found is not None
        return found[1]

    def get(self, path: str) -> httpx.Response:
        return self.client.get(path)

    def post(self, path: str, **data: Any) -> httpx.Response:
        """A form post with the session's CSRF token (``csrf=False``: without it)."""
        if data.pop("csrf", True):
            data["csrf_token"] = self.token
        return self.client.post(path, data=data)


def _field_errors(page: httpx.Response) -> set[str]:
    return set(re.findall(r'id="([a-z_]+)-error"', page.text))


def _micro_form(**changes: str) -> dict[str, str]:
    form = {
        "kind": "microcredential",
        "title": "Data Science Foundations",
        "description": MICRO_DATA_SCIENCE["description"],
        "awarding_body": "Universiteit Test",
        "country": "NL",
        "language": "en",
        "image": "https://www.uni.example/badge.png",
        "learning_outcomes": "\n".join(MICRO_DATA_SCIENCE["learning_outcomes"]),
        "study_load_hours": "140",
        "ects": "5",
        "eqf_level": "6",
        "assessment_type": "testing",
        "participation_form": "onsite or blended",
        "supervision_type": "onsite with identity verification",
        "identity_checked": "yes",
        "quality_assurance": "NVAO accredited programme",
        "quality_assurance_code": "NVAO-2024-0042",
        "quality_assurance_url": "https://www.nvao.net/besluit/0042",
    }
    return {**form, **changes}


def _register(operator: Session, name: str = "Universiteit Test", admin: str = ADMIN) -> UUID:
    response = operator.post(
        "/console/institutions",
        name=name,
        country="NL",
        identifiers="BRIN=21PB",
        homepage="https://www.uni.example",
        logo_url="https://www.uni.example/logo.png",
        administrators=admin,
    )
    assert response.status_code == 303, response.text
    found = re.search(
        r"/console/institutions/([0-9a-f-]{36})\?done=registered", response.headers["location"]
    )
    assert found is not None
    return UUID(found[1])


def _topics(web: Web, aggregate_id: UUID) -> list[str]:
    return [event.topic.rsplit("/", 1)[-1] for event in web.ledger.history(aggregate_id)]


def test_operator_onboards_an_institution_and_its_administrators(web: Web) -> None:
    operator = Session(web, OPERATOR, "learner")  # the operator list decides, not the role
    assert operator.get("/console").headers["location"] == "/console/institutions"
    issuer_id = _register(operator)
    page = operator.get(f"/console/institutions/{issuer_id}?done=registered")
    assert page.status_code == 200
    assert "Universiteit Test" in page.text and ADMIN in page.text
    assert "The institution is registered" in page.text
    assert "Universiteit Test" in operator.get("/console/institutions").text

    added = operator.post(
        f"/console/institutions/{issuer_id}/administrators", subject="carol@uni.example"
    )
    assert added.status_code == 303
    assert "carol@uni.example" in operator.get(f"/console/institutions/{issuer_id}").text
    again = operator.post(
        f"/console/institutions/{issuer_id}/administrators", subject="carol@uni.example"
    )
    assert again.status_code == 422 and "already an administrator" in again.text
    removed = operator.post(
        f"/console/institutions/{issuer_id}/administrators/remove", subject="carol@uni.example"
    )
    assert removed.status_code == 303
    assert "carol@uni.example" not in operator.get(f"/console/institutions/{issuer_id}").text

    edited = operator.post(
        f"/console/institutions/{issuer_id}/profile",
        name="Universiteit Test",
        country="NL",
        identifiers="BRIN=21PB\nOIN=00000001234567890000",
        homepage="https://www.uni.example/en",
        logo_url="https://www.uni.example/logo.png",
    )
    assert edited.status_code == 303, edited.text
    issuer = web.ledger.issuer(issuer_id)
    assert issuer.homepage == "https://www.uni.example/en"
    assert issuer.identifiers == {"BRIN": "21PB", "OIN": "00000001234567890000"}
    assert issuer.administrators == {ADMIN}
    # Every step is its own signed event of the institution.
    topics = _topics(web, issuer_id)
    assert topics.count("AdministratorAdded") == 2
    assert "AdministratorRemoved" in topics and topics.count("ProfileEdited") == 2

    # The administrator signs in and lands on the home of their institution.
    admin = Session(web, ADMIN, "administrator", issuer_id)
    home = admin.get("/console")
    assert home.status_code == 200
    assert "Universiteit Test" in home.text and ADMIN in home.text
    assert "https://www.uni.example/en" in home.text
    assert 'href="/console/achievements"' in home.text


def test_malformed_onboarding_forms_name_each_field_and_write_nothing(web: Web) -> None:
    operator = Session(web, OPERATOR, "learner")
    page = operator.post(
        "/console/institutions",
        name="",
        country="nl",
        identifiers="BRIN 21PB",
        homepage="javascript:alert(1)",
        logo_url="http://evil.example/x.png",
        administrators="fine@uni.example\nbad\x07subject",
    )
    assert page.status_code == 422
    assert _field_errors(page) == {
        "name",
        "country",
        "identifiers",
        "homepage",
        "logo_url",
        "administrators",
    }
    assert 'value="javascript:alert(1)"' in page.text  # what was typed is kept
    assert "There is a problem" in page.text
    # The domain's checks too: a BRIN of the wrong shape, a homepage that is not https.
    shaped = operator.post(
        "/console/institutions", name="X", country="NL", identifiers="BRIN=not-a-brin"
    )
    assert shaped.status_code == 422 and "identifiers" in _field_errors(shaped)
    web_url = operator.post("/console/institutions", name="X", country="NL", homepage="ftp://x")
    assert web_url.status_code == 422 and "homepage" in _field_errors(web_url)
    assert '<td><a href="/console/institutions/' not in operator.get("/console/institutions").text

    issuer_id = _register(operator)
    before = _topics(web, issuer_id)
    bad_subject = operator.post(f"/console/institutions/{issuer_id}/administrators", subject="")
    assert bad_subject.status_code == 422 and _field_errors(bad_subject) == {"subject"}
    bad_profile = operator.post(
        f"/console/institutions/{issuer_id}/profile", name="Uni", country="Netherlands"
    )
    assert bad_profile.status_code == 422 and _field_errors(bad_profile) == {"country"}
    assert _topics(web, issuer_id) == before


def test_console_forms_refuse_a_post_without_the_session_csrf_token(web: Web) -> None:
    operator = Session(web, OPERATOR, "learner")
    issuer_id = _register(operator)
    before = _topics(web, issuer_id)
    for path, data in (
        ("/console/institutions", {"name": "Evil", "country": "NL"}),
        (f"/console/institutions/{issuer_id}/profile", {"name": "Evil", "country": "NL"}),
        (f"/console/institutions/{issuer_id}/administrators", {"subject": "mallory"}),
        (f"/console/institutions/{issuer_id}/administrators/remove", {"subject": ADMIN}),
        (f"/console/policies/{issuer_id}", {"policy": EXPERIMENT}),
        (f"/console/keys/{issuer_id}/rotate", {}),
    ):
        refused = operator.post(path, csrf=False, **data)
        assert refused.status_code == 403, path
        forged = operator.client.post(path, data={**data, "csrf_token": "forged"})
        assert forged.status_code == 403, path
    admin = Session(web, ADMIN, "administrator", issuer_id)
    assert admin.post("/console/achievements/new", csrf=False, **_micro_form()).status_code == 403
    assert _topics(web, issuer_id) == before
    assert "Evil" not in operator.get("/console/institutions").text
    assert len(web.ledger.key_registry().keys_of(str(issuer_id))) == 1


def test_another_institutions_administrator_and_a_learner_see_nothing(web: Web) -> None:
    operator = Session(web, OPERATOR, "learner")
    ours = _register(operator, "Universiteit Test", ADMIN)
    theirs = _register(operator, "Hogeschool Anders", OTHER_ADMIN)
    admin = Session(web, ADMIN, "administrator", ours)
    assert admin.post("/console/achievements/new", **_micro_form()).status_code == 303
    their_admin = Session(web, OTHER_ADMIN, "administrator", theirs)
    defined = their_admin.post("/console/achievements/new", **_micro_form(title="Secret Course"))
    their_achievement = defined.headers["location"].split("?")[0]

    for path in (
        f"/console/institutions/{theirs}",
        f"/console/policies/{theirs}",
        f"/console/keys/{theirs}",
        their_achievement,
        f"{their_achievement}/revise",
    ):
        page = admin.get(path)
        assert page.status_code in (403, 404), path
        assert "Hogeschool Anders" not in page.text and "Secret Course" not in page.text, path
        assert OTHER_ADMIN not in page.text, path
    for path, data in (
        (f"/console/institutions/{theirs}/profile", {"name": "Taken", "country": "NL"}),
        (f"/console/institutions/{theirs}/administrators", {"subject": ADMIN}),
        (f"/console/policies/{theirs}", {"policy": EXPERIMENT}),
        (f"/console/keys/{theirs}/rotate", {}),
        (f"{their_achievement}/revise", {**_micro_form(), "reason": "taken over"}),
    ):
        assert admin.post(path, **data).status_code in (403, 404), path
    assert web.ledger.issuer(theirs).name == "Hogeschool Anders"
    assert web.ledger.issuer(theirs).administrators == {OTHER_ADMIN}
    assert "Secret Course" not in admin.get("/console/achievements").text
    # Only the operator lists and registers institutions.
    assert admin.get("/console/institutions").status_code == 303
    assert admin.post("/console/institutions", name="X", country="NL").status_code == 303

    # A learner (even one naming the institution) reaches no console page, and learns nothing.
    learner = Session(web, "learner-anna@eduid.example", "learner")
    for path in (
        "/console",
        f"/console/institutions/{ours}",
        "/console/achievements",
        f"/console/policies/{ours}",
        f"/console/keys/{ours}",
    ):
        page = learner.get(path)
        assert page.status_code == 303 and page.headers["location"].startswith("/signin"), path
    assert learner.post(f"/console/policies/{ours}", policy=EXPERIMENT).status_code == 303

    # An administrator taken off the list sees nothing any more, though their session names it.
    operator.post(f"/console/institutions/{ours}/administrators/remove", subject=ADMIN)
    gone = admin.get("/console")
    assert gone.status_code == 403 and "Universiteit Test" not in gone.text
    assert admin.get("/console/achievements").status_code == 403


def test_study_load_refusal_names_the_policy_and_adopting_the_experiment_allows_it(
    web: Web,
) -> None:
    operator = Session(web, OPERATOR, "learner")
    issuer_id = _register(operator)
    admin = Session(web, ADMIN, "administrator", issuer_id)
    small = _micro_form(title="Spreadsheet Basics", study_load_hours="56", ects="2")
    refused = admin.post("/console/achievements/new", **small)
    assert refused.status_code == 422
    assert _field_errors(refused) == {"study_load_hours", "ects"}
    assert "Dutch national microcredentials pilot" in refused.text
    assert f'href="/console/policies/{issuer_id}"' in refused.text
    assert "Experiment under the national framework" in refused.text  # the one to adopt
    assert 'value="Spreadsheet Basics"' in refused.text
    assert "Spreadsheet Basics" not in admin.get("/console/achievements").text

    outside = operator.post(
        f"/console/policies/{issuer_id}", policy=EXPERIMENT, in_force_from="2024-01-01"
    )
    assert outside.status_code == 422 and _field_errors(outside) == {"in_force_from"}
    assert "2025-05-01" in outside.text
    late = operator.post(
        f"/console/policies/{issuer_id}", policy=EXPERIMENT, in_force_until="2028-01-01"
    )
    assert late.status_code == 422 and _field_errors(late) == {"in_force_until"}
    nonsense = operator.post(f"/console/policies/{issuer_id}", policy="none", in_force_from="soon")
    assert _field_errors(nonsense) == {"policy", "in_force_from"}
    assert "PolicyAdopted" not in _topics(web, issuer_id)
    adopted = operator.post(f"/console/policies/{issuer_id}", policy=EXPERIMENT)
    assert adopted.status_code == 303
    shown = operator.get(f"/console/policies/{issuer_id}")
    assert f"{EXPERIMENT}@v1" in shown.text

    defined = admin.post("/console/achievements/new", **small)
    assert defined.status_code == 303, defined.text
    page = admin.get(defined.headers["location"])
    assert "Spreadsheet Basics" in page.text and f"{EXPERIMENT}@v1" in page.text
    assert "Spreadsheet Basics" in admin.get("/console/achievements").text


def test_achievement_form_names_every_refused_field_and_keeps_the_values(web: Web) -> None:
    operator = Session(web, OPERATOR, "learner")
    issuer_id = _register(operator)
    admin = Session(web, ADMIN, "administrator", issuer_id)
    form = _micro_form(
        title="",
        eqf_level="9",
        ects="a lot",
        quality_assurance_url="http://www.nvao.net/x",
        image="ftp://x",
        supervision_type="by the cat",
        identity_checked="",
        description="Text with a \x00 NUL",
    )
    page = admin.post("/console/achievements/new", **form)
    assert page.status_code == 422
    assert _field_errors(page) == {
        "title",
        "eqf_level",
        "ects",
        "quality_assurance_url",
        "image",
        "supervision_type",
        "identity_checked",
        "description",
    }
    assert 'value="http://www.nvao.net/x"' in page.text
    assert page.text.count('aria-invalid="true"') >= 6
    empty_load = admin.post(
        "/console/achievements/new", **_micro_form(study_load_hours="", ects="")
    )
    assert _field_errors(empty_load) == {"study_load_hours", "ects"}
    mismatch = admin.post("/console/achievements/new", **_micro_form(study_load_hours="300"))
    assert _field_errors(mismatch) == {"ects"} and "28 hours" in mismatch.text
    badge = admin.post("/console/achievements/new", kind="edubadge", title="Board")
    assert {"description", "criteria", "image", "language"} <= _field_errors(badge)
    assert "eqf_level" not in _field_errors(badge)
    assert (
        web.client.get(
            f"/v1/issuers/{issuer_id}/achievements",
            headers=web.token("administrator", ADMIN, issuer_id),
        ).json()["items"]
        == []
    )


def test_achievements_are_listed_opened_and_revised_with_their_history(web: Web) -> None:
    operator = Session(web, OPERATOR, "learner")
    issuer_id = _register(operator)
    admin = Session(web, ADMIN, "administrator", issuer_id)
    assert "EU mandatory elements" in admin.get("/console/achievements/new").text
    defined = admin.post("/console/achievements/new", **_micro_form())
    path = defined.headers["location"].split("?")[0]
    achievement_id = path.rsplit("/", 1)[1]
    form = admin.get(f"{path}/revise")
    assert form.status_code == 200 and 'value="Data Science Foundations"' in form.text
    no_reason = admin.post(f"{path}/revise", **_micro_form(title="Data Science I"), reason="")
    assert no_reason.status_code == 422 and _field_errors(no_reason) == {"reason"}
    revised = admin.post(
        f"{path}/revise", **_micro_form(title="Data Science I"), reason="Split into two parts"
    )
    assert revised.status_code == 303
    page = admin.get(path)
    assert "Revision 2" in page.text and "Revision 1" in page.text
    assert "Split into two parts" in page.text and "nl-microcredentials-pilot@v1" in page.text
    assert f"/v1/achievements/{achievement_id}/revisions/2" in page.text
    listed = admin.get("/console/achievements")
    assert "Data Science I" in listed.text
    assert _topics(web, UUID(achievement_id)) == ["Registered", "Revised"]


def test_keys_rotate_and_the_operator_sees_what_a_compromise_invalidates(web: Web) -> None:
    operator = Session(web, OPERATOR, "learner")
    issuer_id = _register(operator)
    admin = Session(web, ADMIN, "administrator", issuer_id)
    admin.post("/console/achievements/new", **_micro_form())
    achievement_id = web.client.get(
        f"/v1/issuers/{issuer_id}/achievements",
        headers=web.token("administrator", ADMIN, issuer_id),
    ).json()["items"][0]["achievement_id"]
    first_kid = web.ledger.key_registry().keys_of(str(issuer_id))[0].kid
    credential_id = web.issue(
        issuer_id, web.token("administrator", ADMIN, issuer_id), achievement_id, "learner-1"
    )

    assert admin.post(f"/console/keys/{issuer_id}/rotate").status_code == 303
    keys = admin.get(f"/console/keys/{issuer_id}")
    assert keys.status_code == 200 and first_kid in keys.text and "Retired" in keys.text
    assert "Mark a key compromised" not in keys.text  # the operator's alone
    assert (
        admin.post(
            f"/console/keys/{issuer_id}/compromise",
            kid=first_kid,
            since="2020-01-01T00:00",
            reason="x",
        ).status_code
        == 303
    )  # to sign-in: not an administrator's form
    assert web.ledger.key_registry().keys[first_kid].compromised_since is None

    bad = operator.post(f"/console/keys/{issuer_id}/compromise", kid="nope", since="later")
    assert bad.status_code == 422 and _field_errors(bad) == {"kid", "since"}
    preview = operator.post(
        f"/console/keys/{issuer_id}/compromise", kid=first_kid, since="2020-01-01T00:00"
    )
    assert preview.status_code == 200
    assert credential_id in preview.text
    assert "1 credential no longer verifies: issue it again." in preview.text
    dutch = operator.client.post(
        f"/console/keys/{issuer_id}/compromise",
        data={"kid": first_kid, "since": "2020-01-01T00:00", "csrf_token": operator.token},
        headers={"Accept-Language": "nl"},
    )
    assert "1 credential is niet meer te verifiëren: geef het opnieuw uit." in dutch.text
    assert "no longer verif" not in dutch.text
    assert web.ledger.key_registry().keys[first_kid].compromised_since is None
    no_reason = operator.post(
        f"/console/keys/{issuer_id}/compromise",
        kid=first_kid,
        since="2020-01-01T00:00",
        confirm="yes",
    )
    assert no_reason.status_code == 422 and _field_errors(no_reason) == {"reason"}
    assert credential_id in no_reason.text
    marked = operator.post(
        f"/console/keys/{issuer_id}/compromise",
        kid=first_kid,
        since="2020-01-01T00:00",
        confirm="yes",
        reason="laptop stolen",
    )
    assert marked.status_code == 200 and "marked compromised" in marked.text
    assert web.ledger.key_registry().keys[first_kid].compromised_since is not None


def test_only_a_listed_subject_signs_in_as_the_operator(web: Web) -> None:
    client = httpx.Client(base_url=web.url, timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/signin").text)
    assert token is not None
    claimed = client.post(
        "/signin/dev",
        data={"subject": "mallory@evil.example", "role": "operator", "csrf_token": token[1]},
    )
    assert claimed.status_code == 400  # a role claim never makes an operator
    assert client.get("/console/institutions").status_code == 303
    listed = Session(web, OPERATOR, "verifier")
    page = listed.get("/console/institutions")
    assert page.status_code == 200 and "Register an institution" in page.text


def test_a_development_sign_in_link_fills_in_the_administrators_institution(web: Web) -> None:
    """The demo prints ``/signin?subject=&role=administrator&issuer=`` links: the form
    arrives filled in, and a value that is not an id is cut, escaped and refused."""
    operator = Session(web, OPERATOR, "verifier")
    issuer_id = _register(operator)
    client = httpx.Client(base_url=web.url, timeout=30)
    page = client.get(
        "/signin", params={"subject": ADMIN, "role": "administrator", "issuer": str(issuer_id)}
    )
    assert page.status_code == 200
    assert f'name="issuer" autocomplete="off" maxlength="36" value="{issuer_id}"' in page.text
    assert f'value="{ADMIN}"' in page.text
    assert '<option value="administrator" selected>' in page.text
    hostile = client.get("/signin", params={"issuer": '"><script>x</script>' + "9" * 40})
    assert "<script>x" not in hostile.text and "9" * 37 not in hostile.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    signed_in = client.post(
        "/signin/dev",
        data={
            "subject": ADMIN,
            "role": "administrator",
            "issuer": str(issuer_id),
            "csrf_token": token[1],
        },
    )
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/console"
    assert client.get("/console").status_code == 200
