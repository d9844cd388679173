"""Standalone verifier for RFC 9162 inclusion and consistency proofs.

This module is intentionally self-contained (standard library only, no import
from the rest of ``ledger``) so that a relying party can vendor this single
file and check the ledger's proofs without trusting, or even installing, the
ledger itself.

Every check *raises* :class:`ProofError` on failure instead of returning a
boolean: a forgotten ``if`` around a boolean verifier silently accepts forged
proofs, an unhandled exception does not.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

__all__ = [
    "EMPTY_ROOT",
    "ProofError",
    "root_from_inclusion_proof",
    "verify_consistency",
    "verify_inclusion",
]

_HASH_SIZE = 32

#: Root hash of the empty tree, ``SHA-256("")``.
EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(ValueError):
    """A Merkle proof, or the values it is checked against, failed verification."""


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _check_hash(name: str, value: bytes) -> None:
    if not isinstance(value, bytes | bytearray) or len(value) != _HASH_SIZE:
        raise ProofError(f"{name} must be a {_HASH_SIZE}-byte hash")


def _check_proof(proof: Sequence[bytes]) -> None:
    for i, element in enumerate(proof):
        _check_hash(f"proof[{i}]", element)


def _equal(a: bytes, b: bytes) -> bool:
    # Constant time is not needed for public hashes, but it costs nothing.
    return hmac.compare_digest(a, b)


def root_from_inclusion_proof(
    *, leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes:
    """Recompute the root implied by an inclusion proof (RFC 9162 section 2.1.3.2).

    Raises :class:`ProofError` if the proof cannot be a valid proof for
    ``index`` in a tree of ``size`` leaves (wrong length, index out of range,
    malformed hashes).  The caller must still compare the result with a
    trusted root; :func:`verify_inclusion` does both.
    """
    _check_hash("leaf_hash", leaf_hash)
    _check_proof(proof)
    if index < 0 or size < 0:
        raise ProofError("index and size must be non-negative")
    if index >= size:
        raise ProofError(f"leaf index {index} is not below tree size {size}")
    fn, sn = index, size - 1
    r = bytes(leaf_hash)
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof is too long for the tree size")
        if fn & 1 or fn == sn:
            r = _node(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is too short for the tree size")
    return r


def verify_inclusion(
    *, leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` with ``root``.

    Returns ``None`` on success and raises :class:`ProofError` otherwise.
    """
    _check_hash("root", root)
    computed = root_from_inclusion_proof(leaf_hash=leaf_hash, index=index, size=size, proof=proof)
    if not _equal(computed, root):
        raise ProofError("inclusion proof does not lead to the expected root hash")


def verify_consistency(
    *,
    old_size: int,
    new_size: int,
    old_root: bytes,
    new_root: bytes,
    proof: Sequence[bytes],
) -> None:
    """Check that the tree ``(new_size, new_root)`` extends ``(old_size, old_root)``.

    Implements RFC 9162 section 2.1.4.2 with the edge cases decided as
    transparency-dev/merkle's ``VerifyConsistency`` tables decide them:

    * a proof *from* the empty tree (``old_size == 0``) is refused, even
      between two empty trees: every tree extends the empty one, so such a
      "proof" proves nothing, and accepting it lets a caller believe it
      checked something it did not;
    * equal sizes need an empty proof and byte-identical roots (the roots are
      compared, not recomputed, so their length is not judged there);
    * otherwise the proof must be non-empty and reproduce both roots.

    Raises :class:`ProofError` on any failure.
    """
    if old_size < 0 or new_size < 0:
        raise ProofError("tree sizes must be non-negative")
    if old_size > new_size:
        raise ProofError(f"old size {old_size} is larger than new size {new_size}")
    if old_size == 0:
        raise ProofError(
            "a consistency proof from the empty tree (size 0) proves nothing and is refused"
        )
    if old_size == new_size:
        if proof:
            raise ProofError("consistency proof between equal sizes must be empty")
        if not _equal(bytes(old_root), bytes(new_root)):
            raise ProofError("roots differ for equal tree sizes")
        return
    _check_hash("old_root", old_root)
    _check_hash("new_root", new_root)
    _check_proof(proof)
    if not proof:
        raise ProofError("consistency proof is empty")

    path = list(proof)
    # Step 2: a power-of-two old tree is itself a node of the new tree, so
    # the proof omits it and we start from the old root.
    if old_size & (old_size - 1) == 0:
        path.insert(0, bytes(old_root))
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is too long for the tree sizes")
        if fn & 1 or fn == sn:
            fr = _node(c, fr)
            sr = _node(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = _node(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is too short for the tree sizes")
    if not _equal(fr, old_root):
        raise ProofError("consistency proof does not reproduce the old root hash")
    if not _equal(sr, new_root):
        raise ProofError("consistency proof does not reproduce the new root hash")
