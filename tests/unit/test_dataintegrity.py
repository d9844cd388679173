"""Tests for ledger.standards.dataintegrity: W3C eddsa-rdfc-2022 vectors, tampering, OB 3.0, did:key."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import socket
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from hypothesis import given
from hypothesis import strategies as st
from pyld import jsonld

from ledger.standards.dataintegrity import (
    BUNDLED_CONTEXTS,
    CanonicalizationError,
    KeyResolutionError,
    MalformedProofError,
    MissingProofError,
    MultibaseError,
    ProofContextMismatchError,
    ProofGenerationError,
    ProofPurposeMismatchError,
    ProofTransformationError,
    ProofTypeError,
    ProofUnknownContextError,
    ProofValueEncodingError,
    ProofVerificationError,
    SignatureMismatchError,
    UnknownContextError,
    UnsafeJsonLdError,
    base58btc_decode,
    base58btc_encode,
    canonicalize,
    decode_public_key_multibase,
    decode_secret_key_multibase,
    did_key_from_public_key,
    did_key_verification_method,
    document_loader,
    encode_public_key_multibase,
    encode_secret_key_multibase,
    hashing_intermediates,
    load_context,
    multibase_decode,
    multibase_encode,
    proof_configuration,
    resolve_did_key,
    resolve_verification_method,
    sign,
    verify,
)
from ledger.standards.dataintegrity.loader import context_bytes

SHARED_VECTORS = Path("/work/shared/vectors/vc-di-eddsa")
REPO_VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "vc-di-eddsa"
VECTOR_DIR = SHARED_VECTORS if (SHARED_VECTORS / "signedDataInt.json").exists() else REPO_VECTORS

VC_V2 = "https://www.w3.org/ns/credentials/v2"
VC_EXAMPLES = "https://www.w3.org/ns/credentials/examples/v2"
OB_V3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
VECTOR_DID_KEY = "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def signed_vector() -> dict[str, Any]:
    doc: dict[str, Any] = _json(VECTOR_DIR / "signedDataInt.json")
    return doc


@pytest.fixture(scope="module")
def vector_keys() -> tuple[Ed25519PrivateKey, Ed25519PublicKey]:
    pair = _json(VECTOR_DIR / "keyPair.json")
    return (
        decode_secret_key_multibase(pair["privateKeyMultibase"]),
        decode_public_key_multibase(pair["publicKeyMultibase"]),
    )


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record (and block) any attempt to open a socket."""
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts


def _unsigned(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "proof"}


# --------------------------------------------------------------------------- contexts


def test_every_bundled_context_loads_from_package_files(no_network: list[Any]) -> None:
    for url in BUNDLED_CONTEXTS:
        remote = document_loader(url, {})
        assert remote["documentUrl"] == url
        assert "@context" in remote["document"]
    assert no_network == []


def test_vc_v2_context_matches_published_digest() -> None:
    # sha384 SRI of https://www.w3.org/ns/credentials/v2 as pinned by VC 2.0 relatedResource
    # examples and independent implementations.
    digest = base64.b64encode(hashlib.sha384(context_bytes(VC_V2)).digest()).decode()
    assert digest == "l/HrjlBCNWyAX91hr6LFV2Y3heB5Tcr6IeE4/Tje8YyzYBM8IhqjHWiWpr8+ZbYU"


def test_examples_context_is_the_expected_vocab() -> None:
    assert load_context(VC_EXAMPLES) == {
        "@context": {"@vocab": "https://www.w3.org/ns/credentials/examples#"}
    }


def test_loader_refuses_unknown_urls_without_fetching(no_network: list[Any]) -> None:
    with pytest.raises(UnknownContextError) as info:
        document_loader("https://example.org/some/context", {})
    assert info.value.url == "https://example.org/some/context"
    # Near-miss URLs are not normalised into a bundled one.
    with pytest.raises(UnknownContextError):
        document_loader(VC_V2 + "/", {})
    with pytest.raises(UnknownContextError):
        document_loader("http://www.w3.org/ns/credentials/v2", {})
    assert no_network == []


def test_loaded_contexts_are_fresh_copies() -> None:
    first = load_context(VC_V2)
    first["@context"]["name"] = "https://evil.example/name"
    assert load_context(VC_V2)["@context"]["name"] == "https://schema.org/name"


# --------------------------------------------------------------------------- W3C vectors


def test_vector_key_pair_is_consistent(
    vector_keys: tuple[Ed25519PrivateKey, Ed25519PublicKey],
) -> None:
    private, public = vector_keys
    pair = _json(VECTOR_DIR / "keyPair.json")
    assert encode_public_key_multibase(private.public_key()) == pair["publicKeyMultibase"]
    assert encode_public_key_multibase(public) == pair["publicKeyMultibase"]
    assert encode_secret_key_multibase(private) == pair["privateKeyMultibase"]


def test_vector_signed_document_verifies(
    signed_vector: dict[str, Any],
    vector_keys: tuple[Ed25519PrivateKey, Ed25519PublicKey],
    no_network: list[Any],
) -> None:
    result = verify(signed_vector, public_key=vector_keys[1])
    assert result.cryptosuite == "eddsa-rdfc-2022"
    assert result.proof_purpose == "assertionMethod"
    assert result.created == "2023-02-24T23:36:38Z"
    assert result.verification_method == signed_vector["proof"]["verificationMethod"]
    assert no_network == []


def test_vector_resigning_reproduces_proof_value(
    signed_vector: dict[str, Any], vector_keys: tuple[Ed25519PrivateKey, Ed25519PublicKey]
) -> None:
    proof = signed_vector["proof"]
    resigned = sign(
        _unsigned(signed_vector),
        private_key=vector_keys[0],
        verification_method=proof["verificationMethod"],
        created=proof["created"],
        proof_purpose=proof["proofPurpose"],
    )
    assert resigned["proof"]["proofValue"] == proof["proofValue"]
    assert resigned == signed_vector


def test_vector_intermediate_values(
    signed_vector: dict[str, Any], vector_keys: tuple[Ed25519PrivateKey, Ed25519PublicKey]
) -> None:
    canon_doc = (REPO_VECTORS / "canonDocDataInt.txt").read_text(encoding="utf-8")
    proof_canon = (REPO_VECTORS / "proofCanonDataInt.txt").read_text(encoding="utf-8")
    proof_config = _json(REPO_VECTORS / "proofConfigDataInt.json")
    proof_hash = (REPO_VECTORS / "proofHashDataInt.txt").read_text(encoding="utf-8").strip()
    combined = (REPO_VECTORS / "combinedHashDataInt.txt").read_text(encoding="utf-8").strip()
    sig_b58 = (REPO_VECTORS / "sigBTC58DataInt.txt").read_text(encoding="utf-8").strip()

    unsigned = _unsigned(signed_vector)
    options = {k: v for k, v in signed_vector["proof"].items() if k != "proofValue"}

    # Step 1: transformation (canonical document).
    assert canonicalize(unsigned) == canon_doc
    # Step 2: proof configuration, both from the published JSON and as we build it.
    assert canonicalize(proof_config) == proof_canon
    assert proof_configuration(unsigned, options) == proof_canon
    # Step 3: hashing.
    steps = hashing_intermediates(unsigned, options)
    assert steps.canonical_document == canon_doc
    assert steps.canonical_proof_config == proof_canon
    assert steps.proof_config_hash.hex() == proof_hash
    assert steps.document_hash.hex() == combined[64:]
    assert steps.hash_data.hex() == combined
    # Step 4: signature.
    signature = vector_keys[0].sign(steps.hash_data)
    assert multibase_encode(signature) == sig_b58 == signed_vector["proof"]["proofValue"]


def test_repo_copy_of_signed_vector_matches_shared_one() -> None:
    if not (SHARED_VECTORS / "signedDataInt.json").exists():
        pytest.skip("shared vectors not mounted")
    assert _json(REPO_VECTORS / "signedDataInt.json") == _json(
        SHARED_VECTORS / "signedDataInt.json"
    )


# --------------------------------------------------------------------------- tampering


def _flip_signature_byte(proof_value: str) -> str:
    raw = bytearray(multibase_decode(proof_value))
    raw[10] ^= 0x01
    return multibase_encode(bytes(raw))


def test_changed_claim_fails(signed_vector: dict[str, Any], vector_keys: Any) -> None:
    doc = copy.deepcopy(signed_vector)
    doc["credentialSubject"]["alumniOf"] = "The School of Forgeries"
    with pytest.raises(SignatureMismatchError):
        verify(doc, public_key=vector_keys[1])


def test_changed_created_fails(signed_vector: dict[str, Any], vector_keys: Any) -> None:
    doc = copy.deepcopy(signed_vector)
    doc["proof"]["created"] = "2023-02-24T23:36:39Z"
    with pytest.raises(SignatureMismatchError):
        verify(doc, public_key=vector_keys[1])


def test_flipped_proof_value_byte_fails(signed_vector: dict[str, Any], vector_keys: Any) -> None:
    doc = copy.deepcopy(signed_vector)
    doc["proof"]["proofValue"] = _flip_signature_byte(doc["proof"]["proofValue"])
    with pytest.raises(SignatureMismatchError):
        verify(doc, public_key=vector_keys[1])


@pytest.mark.parametrize(
    "bad_value",
    [
        "u" + "A" * 86,  # another multibase encoding
        "z0OIl",  # characters outside the base58btc alphabet
        "z" + base58btc_encode(b"\x01" * 63),  # not 64 bytes
        "z",
        "",
    ],
)
def test_bad_proof_value_encoding_fails(
    signed_vector: dict[str, Any], vector_keys: Any, bad_value: str
) -> None:
    doc = copy.deepcopy(signed_vector)
    doc["proof"]["proofValue"] = bad_value
    with pytest.raises(ProofValueEncodingError):
        verify(doc, public_key=vector_keys[1])


def test_wrong_public_key_fails(signed_vector: dict[str, Any]) -> None:
    with pytest.raises(SignatureMismatchError):
        verify(signed_vector, public_key=Ed25519PrivateKey.generate().public_key())


@pytest.mark.parametrize(
    ("field", "value"),
    [("type", "Ed25519Signature2020"), ("cryptosuite", "eddsa-jcs-2022"), ("cryptosuite", None)],
)
def test_wrong_type_or_cryptosuite_fails(
    signed_vector: dict[str, Any], vector_keys: Any, field: str, value: Any
) -> None:
    doc = copy.deepcopy(signed_vector)
    doc["proof"][field] = value
    with pytest.raises(ProofTypeError):
        verify(doc, public_key=vector_keys[1])


def test_missing_proof_fails(signed_vector: dict[str, Any], vector_keys: Any) -> None:
    with pytest.raises(MissingProofError):
        verify(_unsigned(signed_vector), public_key=vector_keys[1])


def test_malformed_created_fails(signed_vector: dict[str, Any], vector_keys: Any) -> None:
    doc = copy.deepcopy(signed_vector)
    doc["proof"]["created"] = "yesterday"
    with pytest.raises(MalformedProofError):
        verify(doc, public_key=vector_keys[1])


def test_proof_purpose_is_checked_when_expected(
    signed_vector: dict[str, Any], vector_keys: Any
) -> None:
    verify(signed_vector, public_key=vector_keys[1], expected_proof_purpose="assertionMethod")
    with pytest.raises(ProofPurposeMismatchError):
        verify(signed_vector, public_key=vector_keys[1], expected_proof_purpose="authentication")


def test_proof_context_must_prefix_document_context(
    signed_vector: dict[str, Any], vector_keys: Any
) -> None:
    # Proof @context equal to the document's: accepted (same canonical form).
    doc = copy.deepcopy(signed_vector)
    doc["proof"]["@context"] = [VC_V2, VC_EXAMPLES]
    assert verify(doc, public_key=vector_keys[1]).cryptosuite == "eddsa-rdfc-2022"
    # A strict prefix is allowed by the spec, but then the proof's @context replaces the
    # document's; here it no longer defines 'alumniOf', so safe mode refuses.
    doc["proof"]["@context"] = [VC_V2]
    with pytest.raises(ProofTransformationError):
        verify(doc, public_key=vector_keys[1])
    # Different order / not a prefix: rejected before any canonicalization.
    doc["proof"]["@context"] = [VC_EXAMPLES, VC_V2]
    with pytest.raises(ProofContextMismatchError):
        verify(doc, public_key=vector_keys[1])
    doc["proof"]["@context"] = [VC_V2, OB_V3]
    with pytest.raises(ProofContextMismatchError):
        verify(doc, public_key=vector_keys[1])


def test_relative_iris_are_not_resolved_against_a_made_up_base() -> None:
    """pyld resolves relative IRIs against http://example.org/base/ when base is ''."""
    doc = {"@context": [VC_V2], "id": "relative-id", "type": ["VerifiableCredential"]}
    nquads = jsonld.normalize(
        doc,
        {
            "algorithm": "URDNA2015",
            "format": "application/n-quads",
            "documentLoader": document_loader,
        },
    )
    assert "<http://example.org/base/relative-id>" in nquads
    with pytest.raises(UnsafeJsonLdError):
        canonicalize(doc)


def test_unknown_remote_context_is_refused_without_fetching(
    signed_vector: dict[str, Any], vector_keys: Any, no_network: list[Any]
) -> None:
    remote = "https://evil.example/contexts/v1"
    doc = _unsigned(signed_vector)
    doc["@context"] = [*doc["@context"], remote]
    with pytest.raises(UnknownContextError) as info:
        sign(doc, private_key=vector_keys[0], verification_method="did:example:1#k", created=None)
    assert info.value.url == remote

    secured = copy.deepcopy(signed_vector)
    secured["@context"] = [*secured["@context"], remote]
    with pytest.raises(ProofUnknownContextError) as vinfo:
        verify(secured, public_key=vector_keys[1])
    assert isinstance(vinfo.value, UnknownContextError)
    assert isinstance(vinfo.value, ProofVerificationError)
    assert no_network == []


def test_pyld_ignores_safe_flag_and_drops_undefined_terms() -> None:
    """Why we need our own safe mode: pyld 3.3 silently drops undefined terms."""
    doc = {"@context": [VC_V2], "id": "urn:example:1", "name": "A", "undefinedTerm": "lost"}
    nquads = jsonld.normalize(
        doc,
        {
            "algorithm": "URDNA2015",
            "format": "application/n-quads",
            "documentLoader": document_loader,
            "safe": True,
        },
    )
    assert "lost" not in nquads  # dropped without an error
    with pytest.raises(UnsafeJsonLdError):
        canonicalize(doc)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.__setitem__("undefinedTerm", "not covered by any context"),
        lambda d: d["credentialSubject"].__setitem__("undefinedNested", 1),
        lambda d: d.__setitem__("type", ["VerifiableCredential", "UndefinedType"]),
        lambda d: d.__setitem__("id", "relative-id"),
    ],
    ids=["top-level-term", "nested-term", "relative-type", "relative-id"],
)
def test_undefined_terms_make_signing_fail(vector_keys: Any, mutate: Any) -> None:
    doc: dict[str, Any] = {
        "@context": [VC_V2],
        "id": "urn:uuid:0b6b2d1c-79b5-4a52-9d0e-7bd4c8f8a1b3",
        "type": ["VerifiableCredential"],
        "issuer": "did:example:issuer",
        "validFrom": "2024-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:subject", "name": "Ada"},
    }
    sign(doc, private_key=vector_keys[0], verification_method="did:example:issuer#k", created=None)
    mutate(doc)
    with pytest.raises(UnsafeJsonLdError):
        sign(
            doc,
            private_key=vector_keys[0],
            verification_method="did:example:issuer#k",
            created=None,
        )


def test_undefined_term_added_after_signing_fails_verification(vector_keys: Any) -> None:
    doc = {
        "@context": [VC_V2],
        "type": ["VerifiableCredential"],
        "issuer": "did:example:issuer",
        "credentialSubject": {"id": "did:example:subject", "name": "Ada"},
    }
    signed = sign(
        doc, private_key=vector_keys[0], verification_method="did:example:i#k", created=None
    )
    signed["credentialSubject"]["smuggled"] = "value"
    with pytest.raises(ProofTransformationError):
        verify(signed, public_key=vector_keys[1])


# --------------------------------------------------------------------------- signing API


def test_sign_does_not_mutate_input_and_stamps_created(vector_keys: Any) -> None:
    doc = _unsigned(_json(VECTOR_DIR / "signedDataInt.json"))
    before = copy.deepcopy(doc)
    signed = sign(
        doc, private_key=vector_keys[0], verification_method="did:example:i#k", created=None
    )
    assert doc == before
    assert signed["proof"]["created"].endswith("Z")
    verify(signed, public_key=vector_keys[1])


@pytest.mark.parametrize("created", ["2024-13-01T00:00:00Z", "2024-01-01", "now"])
def test_sign_rejects_invalid_created(vector_keys: Any, created: str) -> None:
    doc = _unsigned(_json(VECTOR_DIR / "signedDataInt.json"))
    with pytest.raises(ProofGenerationError):
        sign(
            doc, private_key=vector_keys[0], verification_method="did:example:i#k", created=created
        )


def test_sign_refuses_already_signed_document(
    signed_vector: dict[str, Any], vector_keys: Any
) -> None:
    with pytest.raises(ProofGenerationError):
        sign(signed_vector, private_key=vector_keys[0], verification_method="x:y", created=None)


# --------------------------------------------------------------------------- OB 3.0 / status list


def _open_badge(issuer_did: str) -> dict[str, Any]:
    return {
        "@context": [VC_V2, OB_V3],
        "id": "urn:uuid:a63a60be-f4af-491c-87fc-2c8fd3007a58",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": "Data Integrity Micro-credential",
        "description": "Awarded for completing the data integrity module.",
        "issuer": {
            "id": issuer_did,
            "type": ["Profile"],
            "name": "Example University",
            "url": "https://university.example/",
            "email": "registrar@university.example",
        },
        "validFrom": "2024-06-01T00:00:00Z",
        "credentialSubject": {
            "id": "did:example:learner-42",
            "type": ["AchievementSubject"],
            "achievement": {
                "id": "https://university.example/achievements/data-integrity",
                "type": ["Achievement"],
                "achievementType": "MicroCredential",
                "name": "Data Integrity",
                "description": "Understands signed linked data.",
                "criteria": {"narrative": "Pass the final assessment with at least 80%."},
                "creditsAvailable": 1.5,
            },
        },
        "credentialStatus": {
            "id": "https://university.example/status/3#94567",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": "94567",
            "statusListCredential": "https://university.example/status/3",
        },
    }


def test_open_badge_credential_signs_and_verifies(no_network: list[Any]) -> None:
    key = Ed25519PrivateKey.generate()
    vm = did_key_verification_method(key.public_key())
    badge = _open_badge(did_key_from_public_key(key.public_key()))
    signed = sign(badge, private_key=key, verification_method=vm, created="2024-06-01T12:00:00Z")

    public = resolve_verification_method(signed["proof"]["verificationMethod"], resolver=None)
    result = verify(signed, public_key=public, expected_proof_purpose="assertionMethod")
    assert result.verification_method == vm

    nquads = canonicalize(badge)
    assert 'vocab.html#achievementType> "MicroCredential"' in nquads
    assert "<https://www.w3.org/ns/credentials/status#BitstringStatusListEntry>" in nquads

    tampered = copy.deepcopy(signed)
    tampered["credentialSubject"]["achievement"]["achievementType"] = "Degree"
    with pytest.raises(SignatureMismatchError):
        verify(tampered, public_key=public)
    assert no_network == []


def test_bitstring_status_list_credential_signs_and_verifies() -> None:
    key = Ed25519PrivateKey.generate()
    issuer = did_key_from_public_key(key.public_key())
    status_list = {
        "@context": [VC_V2],
        "id": "https://university.example/status/3",
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": "2024-06-01T00:00:00Z",
        "credentialSubject": {
            "id": "https://university.example/status/3#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA",
        },
    }
    signed = sign(
        status_list,
        private_key=key,
        verification_method=did_key_verification_method(key.public_key()),
        created="2024-06-01T00:00:00Z",
    )
    verify(signed, public_key=key.public_key())

    flipped = copy.deepcopy(signed)
    flipped["credentialSubject"]["encodedList"] = (
        "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAB"
    )
    with pytest.raises(SignatureMismatchError):
        verify(flipped, public_key=key.public_key())


# --------------------------------------------------------------------------- multibase / did:key


@pytest.mark.parametrize(
    ("raw", "encoded"),
    [
        (b"", ""),
        (b"\x00", "1"),
        (b"\x00\x00\x01", "112"),
        (b"hello world", "StV1DL6CwTryKyV"),
        (bytes.fromhex("0000287fb4cd"), "11233QC4"),
    ],
)
def test_base58btc_known_values(raw: bytes, encoded: str) -> None:
    assert base58btc_encode(raw) == encoded
    assert base58btc_decode(encoded) == raw


@given(st.binary(max_size=96))
def test_base58btc_roundtrip(data: bytes) -> None:
    assert base58btc_decode(base58btc_encode(data)) == data
    if data:
        assert multibase_decode(multibase_encode(data)) == data


def test_multibase_rejects_other_bases_and_bad_characters() -> None:
    with pytest.raises(MultibaseError):
        multibase_decode("mAAAA")
    with pytest.raises(MultibaseError):
        base58btc_decode("abc0")


def test_multikey_prefixes_are_checked() -> None:
    key = Ed25519PrivateKey.generate()
    public_mb = encode_public_key_multibase(key.public_key())
    secret_mb = encode_secret_key_multibase(key)
    assert public_mb.startswith("z6Mk")
    assert multibase_decode(public_mb)[:2] == b"\xed\x01"
    assert multibase_decode(secret_mb)[:2] == b"\x80\x26"
    with pytest.raises(MultibaseError):
        decode_public_key_multibase(secret_mb)
    with pytest.raises(MultibaseError):
        decode_secret_key_multibase(public_mb)
    with pytest.raises(MultibaseError):
        decode_public_key_multibase(multibase_encode(b"\xed\x01" + b"\x00" * 31))


def test_known_did_key_for_vector_public_key(vector_keys: Any) -> None:
    assert did_key_from_public_key(vector_keys[1]) == VECTOR_DID_KEY
    assert did_key_verification_method(vector_keys[1]) == (
        f"{VECTOR_DID_KEY}#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
    )
    resolved = resolve_did_key(VECTOR_DID_KEY)
    assert encode_public_key_multibase(resolved.public_key) == encode_public_key_multibase(
        vector_keys[1]
    )
    document = resolved.did_document()
    assert document["id"] == VECTOR_DID_KEY
    assert document["assertionMethod"] == [resolved.verification_method]
    assert document["verificationMethod"][0]["type"] == "Multikey"


def test_did_key_roundtrip_with_fresh_key() -> None:
    key = Ed25519PrivateKey.generate().public_key()
    vm = did_key_verification_method(key)
    did, _, fragment = vm.partition("#")
    assert did == did_key_from_public_key(key)
    assert did.startswith("did:key:z6Mk") and fragment == did.removeprefix("did:key:")
    for reference in (did, vm):
        assert encode_public_key_multibase(resolve_did_key(reference).public_key) == fragment


def test_did_key_resolution_rejects_forged_or_foreign_references() -> None:
    with pytest.raises(KeyResolutionError):
        resolve_did_key(VECTOR_DID_KEY + "#z6MkOther")
    with pytest.raises(KeyResolutionError):
        resolve_did_key("did:key:zQ3sNotEd25519")
    with pytest.raises(KeyResolutionError):
        resolve_did_key("did:web:university.example")


def test_resolve_verification_method_plugs_in_other_resolvers() -> None:
    key = Ed25519PrivateKey.generate().public_key()
    vm = "did:web:university.example#key-1"
    with pytest.raises(KeyResolutionError):
        resolve_verification_method(vm)
    seen: list[str] = []

    def resolver(ref: str) -> Ed25519PublicKey:
        seen.append(ref)
        return key

    assert resolve_verification_method(vm, resolver=resolver) is key
    assert seen == [vm]

    def broken(ref: str) -> Ed25519PublicKey:
        raise LookupError(ref)

    with pytest.raises(KeyResolutionError):
        resolve_verification_method(vm, resolver=broken)


def test_redefining_protected_vc_terms_is_refused(vector_keys: Any) -> None:
    doc = {
        # 'name' is a protected top-level term of the VC 2.0 context.
        "@context": [VC_V2, {"name": "https://evil.example/name"}],
        "type": ["VerifiableCredential"],
        "name": "Alumni Credential",
        "issuer": "did:example:issuer",
        "credentialSubject": {"id": "did:example:subject"},
    }
    with pytest.raises(CanonicalizationError):
        sign(doc, private_key=vector_keys[0], verification_method="did:example:i#k", created=None)
