"""OB 3.0 exports, signed status list credentials and the checker, on both stores."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger.projections.read_models import ReadModels
from ledger.projections.runner import ProjectionRunner

from ledger.application.actor import CLI_OPERATOR, acting_as
from ledger.application.ledger import CredentialOrder, Ledger
from ledger.application.publishing import Publisher
from ledger.domain.base import utcnow
from ledger.domain.credential import Amendment
from ledger.errors import NotFound
from ledger.standards.credential_checker import CheckPolicy, CredentialChecker
from ledger.standards.dataintegrity import verify
from tests.factories import admin, learner, new_achievement, new_issuer, verifier

PUBLIC = "https://ledger.test"


class World:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.runner = ProjectionRunner(ledger)
        views = ReadModels(self.runner)

        def encoded(issuer_id: UUID, number: int, purpose: str) -> str | None:
            found = views.status_list(issuer_id, number, purpose)
            return None if found is None else found[0]

        self.publisher = Publisher(ledger, public_url=PUBLIC, encoded_list=encoded)
        self.issuer = new_issuer(ledger)
        self.achievement = new_achievement(ledger, self.issuer)

    def issue(self, subject: str = "learner-1") -> UUID:
        with acting_as(admin(self.issuer)):
            credential_id = self.ledger.issue_credential(
                self.issuer,
                self.achievement,
                CredentialOrder(learner_subject=subject, result={"grade": "8"}),
            )
        self.runner.catch_up()
        return credential_id

    def export(self, credential_id: UUID) -> dict[str, Any]:
        with acting_as(CLI_OPERATOR):
            return self.publisher.export_credential(credential_id)

    def check(self, document: dict[str, Any], policy: CheckPolicy | None = None) -> dict[str, Any]:
        checker = CredentialChecker(
            resolver=self.publisher.resolver,
            status_lists=self.publisher.fetch_status_list,
            policy=policy,
        )
        return checker.check(document).to_json()


def outcomes(report: dict[str, Any]) -> dict[str, str]:
    return {c["check"]: c["outcome"] for c in report["checks"]}


@pytest.fixture
def world(ledger: Ledger) -> World:
    return World(ledger)


def test_export_is_an_open_badge_that_verifies_and_is_stable(world: World) -> None:
    credential_id = world.issue()
    document = world.export(credential_id)
    assert document["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert document["id"] == f"urn:uuid:{credential_id}"
    achievement = document["credentialSubject"]["achievement"]
    assert achievement["achievementType"] == "MicroCredential"
    assert {a["targetType"] for a in achievement["alignment"]} >= {
        "ext:EQF",
        "ext:QualityAssurance",
    }
    assert achievement["creditsAvailable"] == 5.0
    identity = document["credentialSubject"]["identifier"][0]
    assert identity["hashed"] is True and identity["identityHash"].startswith("sha256$")
    # Issue 14: one entry (OB 3.0 allows one), a two-bit message list, and the
    # proof as a proof set of one (OB 3.0's JSON Schema); it used to be two entries.
    status = document["credentialStatus"]
    assert status["statusPurpose"] == "message" and status["statusSize"] == 2
    assert [m["message"] for m in status["statusMessage"]] == [
        "valid",
        "suspended",
        "revoked",
        "revoked",
    ]
    assert isinstance(document["proof"], list) and len(document["proof"]) == 1
    report = world.check(document)
    assert report["verified"], report
    assert outcomes(report) == {
        "structure": "passed",
        "proof": "passed",
        "key-validity": "passed",
        "validity-period": "passed",
        "status:message": "passed",
    }
    assert report["policy"]["name"] == "strict"
    assert world.export(credential_id) == document


def test_salt_differs_per_credential_of_the_same_learner(world: World) -> None:
    first = world.export(world.issue("same"))["credentialSubject"]["identifier"][0]
    second = world.export(world.issue("same"))["credentialSubject"]["identifier"][0]
    assert first["salt"] != second["salt"]
    assert first["identityHash"] != second["identityHash"]


def test_suspension_and_revocation_show_within_one_projection_cycle(world: World) -> None:
    credential_id = world.issue()
    document = world.export(credential_id)
    with acting_as(admin(world.issuer)):
        world.ledger.suspend_credential(credential_id, reason="investigation")
    world.runner.catch_up()
    report = world.check(document)
    assert not report["verified"]
    assert outcomes(report)["status:message"] == "failed"
    assert "'suspended'" in _detail(report, "status:message")
    with acting_as(admin(world.issuer)):
        world.ledger.reinstate_credential(credential_id, reason="cleared")
    world.runner.catch_up()
    report = world.check(document)
    assert report["verified"], report
    assert "'valid'" in _detail(report, "status:message")
    with acting_as(admin(world.issuer)):
        world.ledger.revoke_credential(credential_id, reason="fraud")
    world.runner.catch_up()
    report = world.check(document)
    assert outcomes(report)["status:message"] == "failed"
    assert "'revoked'" in _detail(report, "status:message")


def _detail(report: dict[str, Any], name: str) -> str:
    return str(next(c for c in report["checks"] if c["check"] == name)["detail"])


def test_amended_credential_is_a_new_version_naming_the_one_it_replaces(world: World) -> None:
    credential_id = world.issue()
    original = world.export(credential_id)
    with acting_as(admin(world.issuer)):
        world.ledger.amend_credential(credential_id, Amendment(result={"grade": "9"}), reason="x")
    amended = world.export(credential_id)
    assert amended["id"] != original["id"]
    assert amended["replaces"] == original["id"]
    assert amended["credentialVersion"] == 2
    assert amended["credentialSubject"]["result"][0]["value"] == "9"
    assert world.check(amended)["verified"]


def test_only_the_learner_and_own_administrators_may_export(world: World) -> None:
    credential_id = world.issue("owner")
    with acting_as(learner("owner")):
        assert world.publisher.export_credential(credential_id)["id"]
    with acting_as(admin(world.issuer)):
        assert world.publisher.export_credential(credential_id)["id"]
    other_issuer = new_issuer(world.ledger, "Other", subject="eve@other.example")
    for actor in (
        learner("someone-else"),
        admin(other_issuer, "eve@other.example"),
        admin(world.issuer, "not-an-admin@uni.example"),
        verifier("hr@employer.example"),
    ):
        with acting_as(actor), pytest.raises(NotFound):
            world.publisher.export_credential(credential_id)


def test_status_list_credential_is_signed_strict_and_cached(world: World) -> None:
    world.issue()
    listed = world.publisher.status_list_credential(world.issuer, 1, "revocation")
    assert listed is not None
    assert listed["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert listed["credentialSubject"]["encodedList"].startswith("u")
    assert listed["validFrom"] < listed["validUntil"]
    resolved = world.publisher.resolver.resolve(listed["proof"]["verificationMethod"])
    verify(listed, public_key=resolved.public_key)
    assert world.publisher.status_list_credential(world.issuer, 1, "revocation") is listed
    assert world.publisher.status_list_credential(world.issuer, 9, "revocation") is None


def test_old_exports_survive_rotation_but_not_compromise(world: World) -> None:
    credential_id = world.issue()
    before = world.export(credential_id)
    old_kid = world.ledger.keyring.active_key(str(world.issuer))
    assert old_kid is not None
    with acting_as(admin(world.issuer)):
        world.ledger.rotate_issuer_key(world.issuer)
    after = world.export(credential_id)
    assert after["proof"][0]["verificationMethod"] != before["proof"][0]["verificationMethod"]
    document = world.publisher.resolver.document(before["issuer"]["id"])
    assert document is not None and len(document["verificationMethod"]) == 2
    assert world.check(before)["verified"]
    assert world.check(after)["verified"]
    with acting_as(CLI_OPERATOR):
        world.ledger.mark_key_compromised(
            old_kid.kid, since=utcnow() + timedelta(days=1), reason="laptop lost"
        )
    report = world.check(before)
    assert outcomes(report)["key-validity"] == "failed"
    assert not report["verified"]
    document = world.publisher.resolver.document(before["issuer"]["id"])
    assert document is not None and len(document["verificationMethod"]) == 1
    assert world.check(world.export(credential_id))["verified"]


def test_unknown_context_and_foreign_key_are_refused(world: World) -> None:
    document = world.export(world.issue())
    unknown = copy.deepcopy(document)
    unknown["@context"].append("https://evil.example/context.json")
    report = world.check(unknown)
    assert not report["verified"]
    proof = next(c for c in report["checks"] if c["check"] == "proof")
    assert proof["error"] == "PROOF_TRANSFORMATION_ERROR"
    assert "evil.example" in proof["detail"]
    stolen = copy.deepcopy(document)
    stolen["issuer"]["id"] = "did:web:ledger.test:issuers:00000000-0000-0000-0000-000000000000"
    assert outcomes(world.check(stolen))["proof"] == "failed"


def _leaf_paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in _leaf_paths(v, (*path, k))]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in _leaf_paths(v, (*path, i))]
    return [path]


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_single_field_change_of_an_export_fails(world: World, data: st.DataObject) -> None:
    if not hasattr(world, "cached"):
        world.cached = world.export(world.issue())  # type: ignore[attr-defined]
    document = copy.deepcopy(world.cached)  # type: ignore[attr-defined]
    paths = [
        p for p in _leaf_paths(document) if p[:2] != ("proof", "proofValue") and p[0] != "proof"
    ]
    path = data.draw(st.sampled_from(paths))
    target = document
    for key in path[:-1]:
        target = target[key]
    old = target[path[-1]]
    new = data.draw(
        st.one_of(st.text(min_size=1, max_size=8), st.integers(), st.booleans()).filter(
            lambda v: v != old
        )
    )
    target[path[-1]] = new
    assert not world.check(document)["verified"]
