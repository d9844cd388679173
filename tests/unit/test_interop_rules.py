"""Issue 14's smaller rules: SURF's value lists in the domain, DID document key forms."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ledger.domain.achievement import AchievementSpec
from ledger.domain.policy import StudyLoadPolicy
from ledger.errors import InvalidInput, StudyLoadTooLow
from ledger.standards.dataintegrity import KeyResolutionError, encode_public_key_multibase
from ledger.standards.did_documents import DidResolver
from tests.factories import badge, micro

DID = "did:web:issuer.example"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("supervision_type", "proctored by a cat"),
        ("assessment_type", "Written exam"),
        ("participation_form", "blended"),  # version 1's value; SURF's is "onsite or blended"
        ("image", "http://insecure.example/badge.png"),
        ("quality_assurance_url", "ftp://nvao.example/decision"),
        ("identity_checked", "yes"),
    ],
)
def test_surf_value_lists_are_enforced(field: str, value: object) -> None:
    with pytest.raises(InvalidInput, match=field):
        AchievementSpec.parse(micro(**{field: value}))


@pytest.mark.parametrize(
    "field", ["supervision_type", "identity_checked", "image", "quality_assurance_code"]
)
def test_microcredential_needs_the_surf_elements(field: str) -> None:
    data = micro()
    del data[field]
    with pytest.raises(InvalidInput, match=field):
        AchievementSpec.parse(data)


@pytest.mark.parametrize("field", ["image", "language"])
def test_edubadge_needs_an_image_and_a_language(field: str) -> None:
    data = badge()
    del data[field]
    with pytest.raises(InvalidInput, match=field):
        AchievementSpec.parse(data)


def test_84_hour_minimum_still_holds() -> None:
    policy = StudyLoadPolicy(
        policy_id="nl-microcredentials",
        version=1,
        min_hours=84,
        min_ects=Decimal(3),
        in_force_from=datetime(2020, 1, 1, tzinfo=UTC),
    )
    AchievementSpec.parse(micro(study_load_hours=84, ects=3)).check_study_load(policy)
    with pytest.raises(StudyLoadTooLow):
        AchievementSpec.parse(micro(study_load_hours=56, ects=2)).check_study_load(policy)


def _resolver(document: dict[str, Any]) -> DidResolver:
    return DidResolver(public_url="https://verifier.test", keyring=None, fetch=lambda _: document)


def _key() -> tuple[Ed25519PrivateKey, bytes]:
    key = Ed25519PrivateKey.generate()
    return key, key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def test_did_document_forms_resolve_to_the_same_key() -> None:
    key, raw = _key()
    method = f"{DID}#k1"
    multibase = encode_public_key_multibase(key.public_key())
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": base64.urlsafe_b64encode(raw).decode().rstrip("=")}
    forms: list[dict[str, Any]] = [
        # referenced by id (relative and absolute)
        {
            "verificationMethod": [
                {"id": "#k1", "type": "Multikey", "publicKeyMultibase": multibase}
            ],
            "assertionMethod": ["#k1"],
        },
        {
            "verificationMethod": [
                {
                    "id": method,
                    "type": "Ed25519VerificationKey2020",
                    "controller": DID,
                    "publicKeyMultibase": multibase,
                }
            ],
            "assertionMethod": [method],
        },
        # embedded in assertionMethod
        {
            "assertionMethod": [
                {"id": method, "type": "JsonWebKey", "controller": DID, "publicKeyJwk": jwk}
            ]
        },
        {"assertionMethod": [{"id": method, "type": "JsonWebKey2020", "publicKeyJwk": jwk}]},
    ]
    for form in forms:
        resolved = _resolver({"id": DID, **form}).resolve(method)
        assert resolved.public_key.public_bytes(Encoding.Raw, PublicFormat.Raw) == raw


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            {
                "verificationMethod": [
                    {"id": "#k1", "type": "Multikey", "publicKeyMultibase": "z"}
                ],
                "assertionMethod": [],
            },
            "not an assertion method",
        ),
        (
            {"assertionMethod": [{"id": "#k1", "type": "EcdsaSecp256k1VerificationKey2019"}]},
            "EcdsaSecp256k1VerificationKey2019",
        ),
        (
            {
                "assertionMethod": [
                    {
                        "id": "#k1",
                        "type": "JsonWebKey",
                        "publicKeyJwk": {"kty": "EC", "crv": "P-256"},
                    }
                ]
            },
            "OKP Ed25519",
        ),
        (
            {
                "assertionMethod": [
                    {
                        "id": "#k1",
                        "type": "Multikey",
                        "controller": "did:web:evil.example",
                        "publicKeyMultibase": "z",
                    }
                ]
            },
            "controlled by",
        ),
    ],
)
def test_did_document_refusals_name_the_reason(document: dict[str, Any], message: str) -> None:
    with pytest.raises(KeyResolutionError, match=message):
        _resolver({"id": DID, **document}).resolve(f"{DID}#k1")


def test_unknown_did_method_is_named() -> None:
    with pytest.raises(KeyResolutionError, match="'ion'"):
        _resolver({}).resolve("did:ion:abc#key-1")
