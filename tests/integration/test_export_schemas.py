"""Every demo export validates against 1EdTech's OB 3.0 JSON Schema and SURF's schemas.

The schemas are the published ones, read from the shared public fixtures
(``external/1edtech-openbadges-specification`` and
``external/educredentials-obv3-examples``), never copies edited by us. A
microcredential must meet SURF's ``microcredential.json`` and, with 3-30 EC,
``microcredential_ects.json``; an edubadge is SURF's extracurricular credential.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from jsonschema import Draft201909Validator
from ledger.projections.read_models import ReadModels
from ledger.projections.runner import ProjectionRunner

from ledger.application.actor import CLI_OPERATOR, acting_as
from ledger.application.ledger import Ledger
from ledger.application.publishing import Publisher
from ledger.cli.demo import build_demo
from ledger.standards.credential_checker import CredentialChecker
from tests.external_vectors import load_json

PUBLIC = "https://ledger.test"
SURF = "educredentials-obv3-examples"


def _errors(schema: dict[str, Any], document: dict[str, Any]) -> list[str]:
    validator = Draft201909Validator(schema, format_checker=Draft201909Validator.FORMAT_CHECKER)
    return [
        f"{'/'.join(str(p) for p in e.absolute_path)}: {e.message}"
        for e in validator.iter_errors(document)
    ]


def surf_schemas_for(document: dict[str, Any]) -> list[str]:
    """SURF's schemas an export of this kind must meet."""
    achievement = document["credentialSubject"]["achievement"]
    if achievement["achievementType"] != "MicroCredential":
        return ["extracurricular.json"]
    names = ["microcredential.json"]
    if 3 <= achievement["ECTS"] <= 30:
        names.append("microcredential_ects.json")
    return names


@pytest.fixture
def demo_exports(ledger: Ledger) -> list[dict[str, Any]]:
    made = build_demo(ledger)
    runner = ProjectionRunner(ledger)
    runner.catch_up()
    views = ReadModels(runner)

    def encoded(issuer_id: UUID, number: int, purpose: str) -> str | None:
        found = views.status_list(issuer_id, number, purpose)
        return None if found is None else found[0]

    publisher = Publisher(ledger, public_url=PUBLIC, encoded_list=encoded)
    ids = [
        *made["credentials"]["cohort"],
        made["credentials"]["badge"],
        made["credentials"]["energy"],
    ]
    with acting_as(CLI_OPERATOR):
        exports = [publisher.export_credential(UUID(str(i))) for i in ids]
    # The exports are real: each also passes our own checker (or fails only on status).
    checker = CredentialChecker(
        resolver=publisher.resolver, status_lists=publisher.fetch_status_list
    )
    for document in exports:
        failed = [c for c in checker.check(document).checks if c.outcome.value == "failed"]
        assert all(c.name.startswith("status") for c in failed), failed
    return exports


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_every_demo_export_validates_against_1edtech_and_surf(
    demo_exports: list[dict[str, Any]],
) -> None:
    ob_schema = load_json(
        "1edtech-openbadges-specification", "schema", "achievementcredential.json"
    )
    kinds = set()
    assert len(demo_exports) == 14
    for document in demo_exports:
        assert _errors(ob_schema, document) == [], document["id"]
        for name in surf_schemas_for(document):
            assert _errors(load_json(SURF, "schemas", name), document) == [], (document["id"], name)
            kinds.add(name)
    assert kinds == {"microcredential.json", "microcredential_ects.json", "extracurricular.json"}


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_schema_refuses_what_the_issue_found_wrong(demo_exports: list[dict[str, Any]]) -> None:
    # The two reasons 0 of 14 exports validated before: a bare proof object and
    # a list of two status entries. The schema really checks them.
    ob_schema = load_json(
        "1edtech-openbadges-specification", "schema", "achievementcredential.json"
    )
    document = dict(demo_exports[0])
    assert _errors(ob_schema, {**document, "proof": document["proof"][0]})
    assert _errors(ob_schema, {**document, "credentialStatus": [document["credentialStatus"]] * 2})
    micro = load_json(SURF, "schemas", "microcredential.json")
    subject = document["credentialSubject"]
    free_text = {**subject["achievement"], "participationType": "blended"}
    assert _errors(micro, {**document, "credentialSubject": {**subject, "achievement": free_text}})


def test_surf_schema_uses_the_terms_we_export() -> None:
    # SURF's schema names these properties; our export writes each of them.
    micro = load_json(SURF, "schemas", "microcredential.json")
    properties = micro["properties"]["credentialSubject"]["properties"]["achievement"]["properties"]
    assert {
        "assessmentType",
        "identityChecked",
        "participationType",
        "supervisionType",
        "timeInvestment",
    } <= set(properties)


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_issuer_homepage_and_logo_are_the_profile_url_and_image(ledger: Ledger) -> None:
    made = build_demo(ledger)
    university = UUID(str(made["issuers"]["university"]))
    credential_id = UUID(str(made["credentials"]["cohort"][0]))
    publisher = Publisher(ledger, public_url=PUBLIC, encoded_list=lambda *_: None)
    with acting_as(CLI_OPERATOR):
        before = publisher.export_credential(credential_id)
        ledger.edit_issuer_profile(
            university, homepage="https://www.uni.example", logo_url="https://www.uni.example/l.png"
        )
        after = publisher.export_credential(credential_id)
    # Without them the profile has neither (no empty strings for a validator to trip on).
    assert "url" not in before["issuer"] and "image" not in before["issuer"]
    assert after["issuer"]["url"] == "https://www.uni.example"
    assert after["issuer"]["image"] == {"id": "https://www.uni.example/l.png", "type": "Image"}
    ob_schema = load_json(
        "1edtech-openbadges-specification", "schema", "achievementcredential.json"
    )
    assert _errors(ob_schema, after) == []
    for name in surf_schemas_for(after):
        assert _errors(load_json(SURF, "schemas", name), after) == [], name
    checker = CredentialChecker(
        resolver=publisher.resolver, status_lists=publisher.fetch_status_list
    )
    failed = [c for c in checker.check(after).checks if c.outcome.value == "failed"]
    assert all(c.name.startswith("status") for c in failed), failed
