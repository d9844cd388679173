"""SURF's educredentials obv3-examples: each example meets the schemas it names.

The source publishes every example under ``_data/credentials`` as a valid
credential of its kind and names its schemas in ``credentialSchema``; the
tests expect exactly that (using SURF's own copies of the schemas). The
context file is SURF's; it cannot be referenced as it stands (its
``supervisionType`` has ``context`` where JSON-LD needs ``@context``), so our
context version 2 defines the same terms with the same IRIs instead.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft201909Validator

from ledger.standards.dataintegrity.loader import LEDGER_EXTENSIONS_V2_FILE, file_bytes
from tests.external_vectors import external, load_json

SURF = "educredentials-obv3-examples"


def _examples() -> list[str]:
    folder = external(SURF, "_data", "credentials")
    names = sorted(p.name for p in folder.glob("*.json"))
    assert len(names) == 30, names
    return names


def _schema_file(url: str) -> tuple[str, ...]:
    return (SURF, "schemas", url.rsplit("/", 1)[1])


def _errors(schema: dict[str, Any], document: dict[str, Any]) -> list[str]:
    validator = Draft201909Validator(schema, format_checker=Draft201909Validator.FORMAT_CHECKER)
    return [e.message for e in validator.iter_errors(document)]


@pytest.mark.parametrize("name", _examples())
def test_surf_example_meets_the_schemas_it_names(name: str) -> None:
    document = load_json(SURF, "_data", "credentials", name)
    named = [entry["id"] for entry in document["credentialSchema"]]
    assert len(named) >= 2  # the OB 3.0 schema and at least one of SURF's
    for url in named:
        assert _errors(load_json(*_schema_file(url)), document) == [], url


@pytest.mark.parametrize("name", ["full_ex.json", "minimal_valid_obv3.json"])
def test_reference_examples_meet_the_ob_schema(name: str) -> None:
    document = load_json(SURF, "ref", name)
    schema = load_json(SURF, "schemas", "ob_v3p0_achievementcredential_schema.json")
    assert _errors(schema, document) == []


def test_surf_schemas_refuse_a_microcredential_without_surf_elements() -> None:
    document = load_json(SURF, "_data", "credentials", "theed_microcredential_full_ho.json")
    achievement = dict(document["credentialSubject"]["achievement"])
    del achievement["supervisionType"]
    broken = {
        **document,
        "credentialSubject": {**document["credentialSubject"], "achievement": achievement},
    }
    assert _errors(load_json(SURF, "schemas", "microcredential.json"), broken)
    ects = {**achievement, "supervisionType": "supervised online", "ECTS": 45}
    too_big = {
        **document,
        "credentialSubject": {**document["credentialSubject"], "achievement": ects},
    }
    assert _errors(load_json(SURF, "schemas", "microcredential_ects.json"), too_big)
    for regular in (
        "regular.json",
        "regular_ects.json",
        "regular_sbu.json",
        "microcredential_sbu.json",
    ):
        assert load_json(SURF, "schemas", regular)["type"] == "object"


def test_the_stray_glob_file_is_empty() -> None:
    # ``schemas/*.json`` is a zero-byte file in the source (a shell glob that
    # matched nothing when it was written); nothing can be read from it.
    assert external(SURF, "schemas", "*.json").read_bytes() == b""


def test_our_context_v2_defines_surfs_terms_with_surfs_iris() -> None:
    surf = load_json(SURF, "contexts", "educredential.json")["@context"]
    scoped = surf["EducredentialAchievement"]["@context"]
    # SURF's own defect, the reason the file cannot be referenced as it stands.
    assert "context" in scoped["supervisionType"] and "@context" not in scoped["supervisionType"]
    ours = json.loads(file_bytes(LEDGER_EXTENSIONS_V2_FILE))["@context"]

    def iri(term: Any) -> str:
        return term if isinstance(term, str) else term["@id"]

    assert iri(ours["EducredentialAchievement"]) == surf["EducredentialAchievement"]["@id"]
    for term in (
        "assessmentType",
        "identityChecked",
        "participationType",
        "supervisionType",
        "ECTS",
        "timeInvestment",
        "SBU",
        "educationProgramIdentifier",
    ):
        assert iri(ours[term]) == scoped[term]["@id"], term
