"""RFC 9162 (Certificate Transparency 2.0) section 2.1 Merkle tree hashing.

The ledger commits to its event stream with the same Merkle tree that
Certificate Transparency and the C2SP transparency-log ecosystem use, so that
off-the-shelf tooling (witnesses, monitors, the standalone verifier in
:mod:`ledger.transparency.proof_verifier`) can check our proofs without knowing anything
about credentials.  Only the standard library is used here on purpose: this
module sits under the persistence layer and must not pull in anything else.

Leaves are opaque byte strings supplied by the caller (for the ledger: an
event's signed canonical bytes).  Hashing follows RFC 9162 section 2.1.1:

* ``leaf_hash(d) = SHA-256(0x00 || d)``
* ``node_hash(l, r) = SHA-256(0x01 || l || r)``
* the empty tree hashes to ``SHA-256("")``.

The 0x00 / 0x01 prefixes provide domain separation so that a leaf can never
be confused with an interior node (second pre-image resistance).

Storage model
-------------
:class:`MerkleTree` stores only the hashes of *complete* (perfect) subtrees,
addressed by ``(level, index)``: the node at level ``L`` and index ``i``
covers leaves ``[i * 2**L, (i + 1) * 2**L)``.  Such a node never changes once
written, which is what makes an append-only SQL table a natural backing
store (see :class:`NodeStore`).  Nodes of *incomplete* subtrees (those on the
right edge of a tree whose size is not a power of two) are never stored; they
are recomputed on demand from their complete children, which is also what
lets us produce roots and proofs for any earlier tree size.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "InMemoryNodeStore",
    "MerkleTree",
    "NodeStore",
    "leaf_hash",
    "node_hash",
    "root_hash",
]

#: Length in bytes of every hash in the tree (SHA-256).
HASH_SIZE = 32

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    """Return the RFC 9162 leaf hash ``SHA-256(0x00 || data)``."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 9162 interior node hash ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


#: Root hash of the empty tree, ``SHA-256("")`` (RFC 9162 section 2.1.1).
EMPTY_ROOT: bytes = hashlib.sha256(b"").digest()


def _split_point(n: int) -> int:
    """Return the largest power of two strictly less than ``n`` (requires n >= 2).

    RFC 9162 splits every list of ``n > 1`` leaves at this point; using it
    everywhere is what keeps proofs, roots and stored nodes mutually consistent.
    """
    return 1 << ((n - 1).bit_length() - 1)


def root_hash(leaves: Sequence[bytes]) -> bytes:
    """Reference Merkle Tree Hash ``MTH(D[n])`` over leaf *data* (not leaf hashes).

    This is a direct, recursive transcription of RFC 9162 section 2.1.1. It is
    O(n) per call and meant as an oracle for tests and for small one-off
    computations; use :class:`MerkleTree` for anything incremental.
    """
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaf_hash(leaves[0])
    k = _split_point(n)
    return node_hash(root_hash(leaves[:k]), root_hash(leaves[k:]))


@runtime_checkable
class NodeStore(Protocol):
    """Storage for hashes of complete subtrees, keyed by ``(level, index)``.

    Level 0 holds the leaf hashes; the node ``(level, index)`` covers leaves
    ``[index << level, (index + 1) << level)``.  Entries are write-once: a
    complete subtree's hash can never change in an append-only log, so an
    implementation may (and a SQL one should) reject an overwrite with a
    different value.  The protocol is deliberately tiny so a persistent
    projection can back it with a ``(level, idx, hash)`` table.
    """

    def get(self, level: int, index: int) -> bytes | None:
        """Return the stored hash, or ``None`` if the node was never written."""
        ...

    def put(self, level: int, index: int, value: bytes) -> None:
        """Store the hash of the complete subtree at ``(level, index)``."""
        ...


class InMemoryNodeStore:
    """Dictionary-backed :class:`NodeStore`, for tests and transient trees."""

    def __init__(self) -> None:
        self._nodes: dict[tuple[int, int], bytes] = {}

    def get(self, level: int, index: int) -> bytes | None:
        """Return the stored hash, or ``None`` if absent."""
        return self._nodes.get((level, index))

    def put(self, level: int, index: int, value: bytes) -> None:
        """Store a node hash; refuse to silently rewrite history."""
        existing = self._nodes.get((level, index))
        if existing is not None and existing != value:
            raise ValueError(f"node ({level}, {index}) already stored with a different hash")
        self._nodes[(level, index)] = value

    def __len__(self) -> int:
        return len(self._nodes)

    def items(self) -> Iterable[tuple[tuple[int, int], bytes]]:
        """Expose all stored nodes (used by tests to check write patterns)."""
        return self._nodes.items()


class MerkleTree:
    """Append-only RFC 9162 Merkle tree backed by a :class:`NodeStore`.

    The tree's size is *not* kept in the store: a persistent projection
    already knows how many events it has applied, and passing the size in
    keeps the store protocol minimal.  On construction the right-edge
    "frontier" (the roots of the perfect subtrees that make up the current
    tree, at most ``log2(n) + 1`` of them) is loaded from the store so that
    appends need no further reads.

    Appending leaf ``n`` writes the leaf hash plus one node per newly
    completed subtree, i.e. ``1 + trailing_ones(n)`` writes: O(log n) worst
    case and O(1) amortised.
    """

    def __init__(self, store: NodeStore | None = None, size: int = 0) -> None:
        if size < 0:
            raise ValueError("tree size must be non-negative")
        self._store: NodeStore = store if store is not None else InMemoryNodeStore()
        self._size = size
        # (level, hash) of the perfect subtrees covering [0, size), largest first.
        self._frontier: list[tuple[int, bytes]] = [
            (level, self._stored(level, start >> level))
            for level, start in _perfect_subtrees(0, size)
        ]

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    @property
    def store(self) -> NodeStore:
        """The backing node store (shared, not copied)."""
        return self._store

    def append(self, data: bytes) -> int:
        """Append leaf *data* (hashed with :func:`leaf_hash`); return its index."""
        return self.append_hash(leaf_hash(data))

    def append_hash(self, hashed_leaf: bytes) -> int:
        """Append an already computed leaf hash; return its index.

        Only the leaf and the subtrees completed by this leaf are written.
        """
        if len(hashed_leaf) != HASH_SIZE:
            raise ValueError(f"leaf hash must be {HASH_SIZE} bytes, got {len(hashed_leaf)}")
        index = self._size
        self._store.put(0, index, hashed_leaf)
        level, value, node_index = 0, hashed_leaf, index
        while self._frontier and self._frontier[-1][0] == level:
            _, left = self._frontier.pop()
            value = node_hash(left, value)
            level += 1
            node_index >>= 1
            self._store.put(level, node_index, value)
        self._frontier.append((level, value))
        self._size = index + 1
        return index

    def extend(self, leaves: Iterable[bytes]) -> None:
        """Append every item of *leaves* (leaf data) in order."""
        for data in leaves:
            self.append(data)

    def root(self, size: int | None = None) -> bytes:
        """Return ``MTH`` of the first *size* leaves (default: the whole tree)."""
        size = self._check_size(self._size if size is None else size)
        if size == self._size:
            # Fold the in-memory frontier: no store reads for the current root.
            if not self._frontier:
                return EMPTY_ROOT
            acc = self._frontier[-1][1]
            for _, left in reversed(self._frontier[:-1]):
                acc = node_hash(left, acc)
            return acc
        if size == 0:
            return EMPTY_ROOT
        return self._range_hash(0, size)

    def leaf_hash_at(self, index: int) -> bytes:
        """Return the stored leaf hash at *index*."""
        if not 0 <= index < self._size:
            raise IndexError(f"leaf index {index} out of range for tree size {self._size}")
        return self._stored(0, index)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """Return the RFC 9162 section 2.1.3.1 inclusion proof ``PATH(index, D[size])``.

        Hashes are ordered from the leaf's sibling upwards, as the verification
        algorithm in section 2.1.3.2 consumes them.
        """
        size = self._check_size(self._size if size is None else size)
        if not 0 <= index < size:
            raise ValueError(f"leaf index {index} out of range for tree size {size}")
        proof: list[bytes] = []
        start, end = 0, size
        # Iterative form of PATH(m, D[n]); siblings are gathered top-down and
        # reversed at the end so the list runs bottom-up like the recursion.
        while end - start > 1:
            k = _split_point(end - start)
            if index < start + k:
                proof.append(self._range_hash(start + k, end))
                end = start + k
            else:
                proof.append(self._range_hash(start, start + k))
                start += k
        proof.reverse()
        return proof

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """Return the RFC 9162 section 2.1.4.1 consistency proof ``PROOF(m, D[n])``.

        For ``old_size == 0`` or ``old_size == new_size`` the proof is empty:
        every tree is consistent with the empty tree and with itself.
        """
        new_size = self._check_size(self._size if new_size is None else new_size)
        if not 0 <= old_size <= new_size:
            raise ValueError(f"old size {old_size} not in [0, {new_size}]")
        if old_size in (0, new_size):
            return []
        proof: list[bytes] = []
        start, end = 0, new_size
        m = old_size
        complete = True  # the "b" flag of SUBPROOF: is D[start:end] the original old tree?
        while m != end - start:
            k = _split_point(end - start)
            if m <= k:
                proof.append(self._range_hash(start + k, end))
                end = start + k
            else:
                proof.append(self._range_hash(start, start + k))
                m -= k
                start += k
                complete = False
        if not complete:
            proof.append(self._range_hash(start, end))
        proof.reverse()
        return proof

    # -- internals -----------------------------------------------------------

    def _check_size(self, size: int) -> int:
        if not 0 <= size <= self._size:
            raise ValueError(f"tree size {size} not in [0, {self._size}]")
        return size

    def _stored(self, level: int, index: int) -> bytes:
        value = self._store.get(level, index)
        if value is None:
            raise LookupError(f"node store is missing complete node ({level}, {index})")
        return value

    def _range_hash(self, start: int, end: int) -> bytes:
        """Return ``MTH(D[start:end])`` for a non-empty leaf range.

        The range is split into its maximal perfect subtrees (each one a
        stored node) which are then folded right-to-left. For the ranges that
        proofs ask for (``start`` aligned to the largest power of two covering
        the range) this equals the RFC's recursive split, and it is how an
        incomplete node at an old tree size is recomputed from complete ones.
        """
        pieces = [self._stored(level, s >> level) for level, s in _perfect_subtrees(start, end)]
        acc = pieces[-1]
        for left in reversed(pieces[:-1]):
            acc = node_hash(left, acc)
        return acc


def _perfect_subtrees(start: int, end: int) -> list[tuple[int, int]]:
    """Decompose ``[start, end)`` into maximal aligned perfect subtrees, left to right.

    Returns ``(level, first_leaf)`` pairs.  Proof ranges always start at a
    multiple of a power of two at least as large as the range, so the
    decomposition follows the binary digits of the length, largest first,
    which is exactly the left-to-right order of RFC 9162's recursive split.
    """
    result: list[tuple[int, int]] = []
    pos = start
    while pos < end:
        # Largest aligned block starting at pos that fits in the remainder.
        level = (end - pos).bit_length() - 1
        if pos:
            level = min(level, (pos & -pos).bit_length() - 1)
        result.append((level, pos))
        pos += 1 << level
    return result
