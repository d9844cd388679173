"""The checker on another issuer's credential (did:key) and status lists that deviate."""

from __future__ import annotations

import base64
import gzip
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.eventlog.keyring import KeyRing
from ledger.standards.bitstring_status_list import Bitstring
from ledger.standards.credential_checker import CheckPolicy, CredentialChecker
from ledger.standards.dataintegrity import (
    did_key_from_public_key,
    did_key_verification_method,
    sign,
)
from ledger.standards.did_documents import DidResolver, did_web_base, did_web_document_url
from ledger.standards.remote_documents import RemoteRefused, TrustedOrigins

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
LIST_URL = "https://other.example/status/1"
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
DID = did_key_from_public_key(KEY.public_key())
METHOD = did_key_verification_method(KEY.public_key())


def _signed(document: dict[str, Any]) -> dict[str, Any]:
    return sign(
        document, private_key=KEY, verification_method=METHOD, created="2026-05-01T00:00:00Z"
    )


def credential(index: int = 7) -> dict[str, Any]:
    return _signed(
        {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "id": "urn:uuid:8f2f9a3c-0000-4000-8000-000000000001",
            "type": ["VerifiableCredential"],
            "issuer": DID,
            "validFrom": "2026-05-01T00:00:00Z",
            "credentialSubject": {"id": "did:example:learner"},
            "credentialStatus": {
                "id": f"{LIST_URL}#{index}",
                "type": "BitstringStatusListEntry",
                "statusPurpose": "revocation",
                "statusListIndex": str(index),
                "statusListCredential": LIST_URL,
            },
        }
    )


def encoded(bits: bytes, *, prefix: bool = True) -> str:
    text = base64.urlsafe_b64encode(gzip.compress(bits, mtime=0)).rstrip(b"=").decode()
    return ("u" if prefix else "") + text


def status_list(encoded_list: str, purpose: Any = "revocation", **extra: Any) -> dict[str, Any]:
    return _signed(
        {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "id": LIST_URL,
            "type": ["VerifiableCredential", "BitstringStatusListCredential"],
            "issuer": DID,
            "validFrom": "2026-05-01T00:00:00Z",
            "credentialSubject": {
                "type": "BitstringStatusList",
                "statusPurpose": purpose,
                "encodedList": encoded_list,
            },
            **extra,
        }
    )


def run(
    listed: dict[str, Any] | Exception, policy: CheckPolicy | None = None, doc: Any = None
) -> dict[str, Any]:
    def fetch(url: str) -> dict[str, Any]:
        assert url == LIST_URL
        if isinstance(listed, Exception):
            raise listed
        return listed

    resolver = DidResolver(public_url="https://ledger.test", keyring=KeyRing(lambda gt: []))
    checker = CredentialChecker(resolver=resolver, status_lists=fetch, policy=policy)
    return checker.check(doc or credential(), now=NOW).to_json()


def status_check(report: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in report["checks"] if c["check"].startswith("status"))


FULL = bytes(16384)


def test_another_issuers_did_key_credential_verifies() -> None:
    report = run(status_list(Bitstring.from_bytes(FULL).encode()))
    assert report["verified"], report
    key_check = next(c for c in report["checks"] if c["check"] == "key-validity")
    assert key_check["outcome"] == "skipped"


def test_a_set_bit_fails_the_status_check() -> None:
    bits = Bitstring.from_bytes(FULL)
    bits.set(7, True)
    report = run(status_list(bits.encode()))
    assert not report["verified"]
    assert status_check(report)["outcome"] == "failed"
    assert "revoked" in status_check(report)["detail"]


@pytest.mark.parametrize(
    ("listed", "tolerance"),
    [
        (status_list(encoded(FULL, prefix=False)), "missing-multibase-prefix"),
        (status_list(encoded(bytes(1024))), "short-list"),
        (
            status_list(Bitstring.from_bytes(FULL).encode(), purpose=["revocation", "suspension"]),
            "status-purpose-array",
        ),
    ],
)
def test_deviations_fail_strictly_and_pass_only_when_tolerated(
    listed: dict[str, Any], tolerance: str
) -> None:
    strict = run(listed)
    assert not strict["verified"]
    expected = "STATUS_LIST_LENGTH_ERROR" if tolerance == "short-list" else None
    if expected:
        assert status_check(strict)["error"] == expected
    else:
        assert status_check(strict)["error"] in (
            "MALFORMED_VALUE_ERROR",
            "STATUS_VERIFICATION_ERROR",
        )
    tolerant = run(listed, CheckPolicy.tolerating([tolerance]))
    assert tolerant["verified"], tolerant
    assert status_check(tolerant)["tolerated"] == [tolerance]
    assert tolerant["policy"]["tolerated"] == [tolerance]


def test_status_errors_have_the_specs_types() -> None:
    assert status_check(run(RemoteRefused("not trusted")))["error"] == "STATUS_RETRIEVAL_ERROR"
    expired = status_list(Bitstring.from_bytes(FULL).encode(), validUntil="2026-05-02T00:00:00Z")
    assert status_check(run(expired))["error"] == "STATUS_VERIFICATION_ERROR"
    tampered = status_list(Bitstring.from_bytes(FULL).encode())
    tampered["credentialSubject"]["statusPurpose"] = "suspension"
    assert status_check(run(tampered))["error"] == "STATUS_VERIFICATION_ERROR"
    out_of_range = run(
        status_list(Bitstring.from_bytes(FULL).encode()), doc=credential(index=200_000)
    )
    assert status_check(out_of_range)["error"] == "RANGE_ERROR"


def test_expired_and_future_credentials_fail_the_validity_period() -> None:
    doc = credential()
    doc["validUntil"] = "2026-05-02T00:00:00Z"
    report = run(
        status_list(Bitstring.from_bytes(FULL).encode()),
        doc=_signed({k: v for k, v in doc.items() if k != "proof"}),
    )
    assert (
        next(c for c in report["checks"] if c["check"] == "validity-period")["outcome"] == "failed"
    )
    assert not report["verified"]


def test_garbage_never_verifies() -> None:
    for doc in (
        {"proof": 1},
        {"@context": 5, "issuer": {"id": []}},
        {"credentialStatus": [1, "x"]},
    ):
        report = run(RemoteRefused("no"), doc=doc)
        assert not report["verified"]


def test_did_web_locations_and_origin_allow_list() -> None:
    assert did_web_base("https://ledger.test") == "did:web:ledger.test"
    assert did_web_base("http://127.0.0.1:8000") == "did:web:127.0.0.1%3A8000"
    assert did_web_document_url("did:web:ledger.test") == "https://ledger.test/.well-known/did.json"
    assert (
        did_web_document_url("did:web:host%3A8443:issuers:abc")
        == "https://host:8443/issuers/abc/did.json"
    )
    origins = TrustedOrigins(["https://other.example"])
    assert origins.allows("https://other.example/status/1")
    assert not origins.allows("http://other.example/status/1")
    assert not origins.allows("https://other.example.evil/status/1")
    with pytest.raises(RemoteRefused):
        origins.fetcher()("https://169.254.169.254/latest")


def test_unknown_tolerance_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown tolerance"):
        CheckPolicy.tolerating(["anything-goes"])
    assert timedelta(0) < CheckPolicy().clock_skew
