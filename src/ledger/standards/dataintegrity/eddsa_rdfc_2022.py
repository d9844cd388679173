"""The ``eddsa-rdfc-2022`` cryptosuite (W3C Data Integrity EdDSA Cryptosuites v1.0).

Algorithms follow the specification step by step:

* transformation: RDFC-1.0 canonical N-Quads of the unsecured document;
* proof configuration: the proof options without ``proofValue``, with the
  document's ``@context``, canonicalized the same way;
* hashData = SHA-256(canonical proof config) || SHA-256(canonical document);
* proofValue = multibase base58btc of the Ed25519 signature over hashData.

``verify`` never returns a boolean; every failure raises a subclass of
:class:`ProofVerificationError` naming what failed.
"""

from __future__ import annotations

import copy
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from .errors import (
    CanonicalizationError,
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
    SignatureMismatchError,
    UnknownContextError,
)
from .multibase import multibase_decode, multibase_encode
from .rdf_canonical import canonicalize

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-rdfc-2022"
ED25519_SIGNATURE_LENGTH = 64

# XML Schema dateTime (the spec requires ``created`` to be one); timezone optional.
_XSD_DATETIME = re.compile(
    r"^-?\d{4,}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T"
    r"([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00))?$"
)


@dataclass(frozen=True)
class VerifiedProof:
    """What a successful verification established (returned only on success)."""

    verification_method: str
    proof_purpose: str
    cryptosuite: str
    created: str | None
    proof: dict[str, Any]


@dataclass(frozen=True)
class HashingIntermediates:
    """Every intermediate value of the algorithm, exposed for test vectors and audits."""

    canonical_document: str
    canonical_proof_config: str
    proof_config_hash: bytes
    document_hash: bytes

    @property
    def hash_data(self) -> bytes:
        """proofConfigHash || transformedDocumentHash, the bytes that are signed."""
        return self.proof_config_hash + self.document_hash


def _now_xsd() -> str:
    return datetime.now(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _context_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _check_type_and_suite(options: dict[str, Any], error: type[Exception]) -> None:
    if options.get("type") != PROOF_TYPE:
        raise error(f"proof type must be {PROOF_TYPE!r}, got {options.get('type')!r}")
    if options.get("cryptosuite") != CRYPTOSUITE:
        raise error(f"cryptosuite must be {CRYPTOSUITE!r}, got {options.get('cryptosuite')!r}")


def _check_created(options: dict[str, Any], error: type[Exception]) -> None:
    created = options.get("created")
    if created is not None and (not isinstance(created, str) or not _XSD_DATETIME.match(created)):
        raise error(f"proof 'created' is not an XML Schema dateTime: {created!r}")


def proof_configuration(unsecured_document: dict[str, Any], options: dict[str, Any]) -> str:
    """Spec 3.3.5 Proof Configuration: canonical N-Quads of the proof options.

    The options (minus proofValue) get the unsecured document's ``@context`` so
    that the proof terms are interpreted with the same vocabulary.
    """
    config = {k: copy.deepcopy(v) for k, v in options.items() if k != "proofValue"}
    if "@context" in unsecured_document:
        config["@context"] = copy.deepcopy(unsecured_document["@context"])
    return canonicalize(config)


def hashing_intermediates(
    unsecured_document: dict[str, Any], options: dict[str, Any]
) -> HashingIntermediates:
    """Spec 3.3.3-3.3.4: transformation and hashing, all intermediates kept."""
    canonical_document = canonicalize(unsecured_document)
    canonical_config = proof_configuration(unsecured_document, options)
    return HashingIntermediates(
        canonical_document=canonical_document,
        canonical_proof_config=canonical_config,
        proof_config_hash=hashlib.sha256(canonical_config.encode("utf-8")).digest(),
        document_hash=hashlib.sha256(canonical_document.encode("utf-8")).digest(),
    )


def sign(
    document: dict[str, Any],
    *,
    private_key: Ed25519PrivateKey,
    verification_method: str,
    created: str | None,
    proof_purpose: str = "assertionMethod",
    challenge: str | None = None,
    domain: str | None = None,
) -> dict[str, Any]:
    """Return a copy of ``document`` with an ``eddsa-rdfc-2022`` proof added.

    ``created=None`` stamps the current UTC time (second precision); pass an
    explicit value for reproducible output. Raises ProofGenerationError,
    UnknownContextError or UnsafeJsonLdError instead of signing data that
    would not be covered by the signature.
    """
    if "proof" in document:
        raise ProofGenerationError("document already carries a proof; proof sets are not supported")
    if not isinstance(verification_method, str) or not verification_method:
        raise ProofGenerationError("verification_method must be a non-empty string")
    unsecured = copy.deepcopy(document)
    options: dict[str, Any] = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": created if created is not None else _now_xsd(),
        "verificationMethod": verification_method,
        "proofPurpose": proof_purpose,
    }
    # A presentation's proof binds it to a verifier's challenge and domain.
    if challenge is not None:
        options["challenge"] = challenge
    if domain is not None:
        options["domain"] = domain
    _check_type_and_suite(options, ProofGenerationError)
    _check_created(options, ProofGenerationError)
    intermediates = hashing_intermediates(unsecured, options)
    signature = private_key.sign(intermediates.hash_data)
    secured = copy.deepcopy(document)
    secured["proof"] = {**options, "proofValue": multibase_encode(signature)}
    return secured


def _single_proof(document: dict[str, Any]) -> dict[str, Any]:
    proof = document.get("proof")
    if isinstance(proof, list):
        if len(proof) != 1:
            raise MissingProofError(
                "a proof set or chain: verify it with verify_proof_set; expected one proof here"
            )
        proof = proof[0]
    if not isinstance(proof, dict):
        raise MissingProofError("document has no proof object")
    return proof


#: Proof types verified here: the eddsa-rdfc-2022 cryptosuite, and the older
#: Ed25519Signature2020 suite, whose signing algorithm is the same (RDFC-1.0 of
#: the proof options with the document's @context, then of the document;
#: SHA-256 of each, concatenated; Ed25519; multibase base58btc).
LEGACY_PROOF_TYPE = "Ed25519Signature2020"


def _check_verifiable_type(proof: dict[str, Any]) -> None:
    kind, suite = proof.get("type"), proof.get("cryptosuite")
    if kind == PROOF_TYPE and suite == CRYPTOSUITE:
        return
    if kind == LEGACY_PROOF_TYPE and suite is None:
        return
    raise ProofTypeError(
        f"unsupported proof type {kind!r}"
        + (f" with cryptosuite {suite!r}" if suite is not None else "")
        + f"; supported: {PROOF_TYPE}/{CRYPTOSUITE}, {LEGACY_PROOF_TYPE}"
    )


def verify(
    document: dict[str, Any],
    *,
    public_key: Ed25519PublicKey,
    expected_proof_purpose: str | None = None,
) -> VerifiedProof:
    """Verify a document's one proof (spec 3.3.2) or raise ProofVerificationError.

    The caller supplies the key (e.g. via ``resolve_verification_method``);
    binding that key to the issuer is the caller's policy, not this function's.
    """
    proof = _single_proof(document)
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    return verify_proof(
        unsecured, proof, public_key=public_key, expected_proof_purpose=expected_proof_purpose
    )


def verify_proof(
    unsecured_document: dict[str, Any],
    proof: dict[str, Any],
    *,
    public_key: Ed25519PublicKey,
    expected_proof_purpose: str | None = None,
) -> VerifiedProof:
    """Verify one ``proof`` over ``unsecured_document`` (which, in a proof chain, carries
    the proofs this one names as ``previousProof``)."""
    _check_verifiable_type(proof)
    for required in ("verificationMethod", "proofPurpose", "proofValue"):
        if not isinstance(proof.get(required), str):
            raise MalformedProofError(f"proof is missing a string {required!r}")
    _check_created(proof, MalformedProofError)
    if expected_proof_purpose is not None and proof["proofPurpose"] != expected_proof_purpose:
        raise ProofPurposeMismatchError(
            f"proof purpose is {proof['proofPurpose']!r}, expected {expected_proof_purpose!r}"
        )
    document = {**unsecured_document, "proof": proof}

    try:
        signature = multibase_decode(proof["proofValue"])
    except MultibaseError as exc:
        raise ProofValueEncodingError(f"proofValue is not multibase base58btc: {exc}") from exc
    if len(signature) != ED25519_SIGNATURE_LENGTH:
        raise ProofValueEncodingError(
            f"proofValue decodes to {len(signature)} bytes, expected {ED25519_SIGNATURE_LENGTH}"
        )

    unsecured = dict(unsecured_document)
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    if "@context" in options:
        # Spec step: the document's @context must start with the proof's, in order.
        proof_ctx = _context_list(options["@context"])
        doc_ctx = _context_list(document.get("@context"))
        if doc_ctx[: len(proof_ctx)] != proof_ctx:
            raise ProofContextMismatchError(
                "the document @context does not start with the proof @context"
            )
        unsecured["@context"] = copy.deepcopy(options["@context"])

    try:
        intermediates = hashing_intermediates(unsecured, options)
    except UnknownContextError as exc:
        raise ProofUnknownContextError(exc.url) from exc
    except CanonicalizationError as exc:
        raise ProofTransformationError(f"cannot canonicalize the secured document: {exc}") from exc

    try:
        public_key.verify(signature, intermediates.hash_data)
    except InvalidSignature:
        raise SignatureMismatchError(
            "Ed25519 signature does not match the canonical document and proof options"
        ) from None

    created = proof.get("created")
    return VerifiedProof(
        verification_method=proof["verificationMethod"],
        proof_purpose=proof["proofPurpose"],
        cryptosuite=str(proof.get("cryptosuite") or proof["type"]),
        created=created if isinstance(created, str) else None,
        proof=copy.deepcopy(proof),
    )
