"""Proof sets and proof chains (W3C VC Data Integrity 1.0, section 4.5 and 4.6).

A document's ``proof`` may be one object or a set of them; a proof naming
``previousProof`` is part of a chain and signs the document together with the
proofs it names. Every proof must verify ("If any proof fails, the document is
not verified"); a ``previousProof`` that names no proof of the set is a
malformed proof, since the chain cannot be checked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .eddsa_rdfc_2022 import VerifiedProof, verify_proof
from .errors import MalformedProofError, MissingProofError

#: The key of a verification method id (raises KeyResolutionError if it has none).
KeyLookup = Callable[[str], Ed25519PublicKey]


def proofs_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The document's proofs as a list (one object is a set of one)."""
    proof = document.get("proof")
    proofs = proof if isinstance(proof, list) else [proof] if proof is not None else []
    if not proofs:
        raise MissingProofError("document has no proof")
    if not all(isinstance(p, dict) for p in proofs):
        raise MalformedProofError("every proof must be an object")
    return proofs


def _previous(proof: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    previous = proof.get("previousProof")
    ids = [previous] if isinstance(previous, str) else previous
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise MalformedProofError("previousProof must be a proof id or a list of them")
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise MalformedProofError(f"previousProof {missing[0]!r} names no proof of this document")
    return [by_id[i] for i in ids]


def verify_proof_set(
    document: dict[str, Any],
    *,
    key_for: KeyLookup,
    expected_proof_purpose: str | None = None,
) -> list[VerifiedProof]:
    """Verify every proof of a document, chains included; raise on the first failure."""
    proofs = proofs_of(document)
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    by_id = {p["id"]: p for p in proofs if isinstance(p.get("id"), str)}
    verified = []
    for proof in proofs:
        base = dict(unsecured)
        if "previousProof" in proof:
            base["proof"] = _previous(proof, by_id)
        method = proof.get("verificationMethod")
        if not isinstance(method, str):
            raise MalformedProofError("a proof names no verificationMethod")
        verified.append(
            verify_proof(
                base,
                proof,
                public_key=key_for(method),
                expected_proof_purpose=expected_proof_purpose,
            )
        )
    return verified
