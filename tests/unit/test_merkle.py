"""Tests for ledger.transparency.merkle_tree (tree, proofs) and ledger.transparency.proof_verifier (verifier).

Published vectors from transparency-dev/merkle anchor the implementation to
an independent one; Hypothesis properties cover sizes the vectors do not.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.transparency.merkle_tree import (
    EMPTY_ROOT,
    InMemoryNodeStore,
    MerkleTree,
    NodeStore,
    leaf_hash,
    node_hash,
    root_hash,
)
from ledger.transparency.proof_verifier import (
    ProofError,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "merkle"
ROOTS = json.loads((VECTORS / "roots.json").read_text())
LEAVES = [bytes.fromhex(h) for h in ROOTS["leaf_inputs_hex"]]


def _b64(value: str) -> bytes:
    return base64.b64decode(value)


def _load(kind: str) -> list[tuple[str, dict[str, Any]]]:
    files = sorted((VECTORS / kind).glob("*/*.json"))
    assert files, f"no {kind} vectors found"
    return [(str(p.relative_to(VECTORS)), json.loads(p.read_text())) for p in files]


INCLUSION_VECTORS = _load("inclusion")
CONSISTENCY_VECTORS = _load("consistency")


# -- hashing basics ---------------------------------------------------------


def test_hash_primitives_follow_rfc9162() -> None:
    assert hashlib.sha256(b"").digest() == EMPTY_ROOT
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    a, b = b"\x11" * 32, b"\x22" * 32
    assert node_hash(a, b) == hashlib.sha256(b"\x01" + a + b).digest()


def test_reference_roots_match_published_constants() -> None:
    for size, expected in enumerate(ROOTS["root_hashes_hex"]):
        assert root_hash(LEAVES[:size]).hex() == expected, size


def test_incremental_roots_match_published_constants() -> None:
    tree = MerkleTree()
    assert tree.root() == EMPTY_ROOT
    for data in LEAVES:
        tree.append(data)
    for size, expected in enumerate(ROOTS["root_hashes_hex"]):
        assert tree.root(size).hex() == expected, size


def test_stored_nodes_match_published_node_hashes() -> None:
    store = InMemoryNodeStore()
    MerkleTree(store).extend(LEAVES)
    expected = {
        (level, index): bytes.fromhex(h)
        for level, row in enumerate(ROOTS["node_hashes_hex"])
        for index, h in enumerate(row)
    }
    assert dict(store.items()) == expected


# -- published inclusion / consistency vectors ------------------------------


@pytest.mark.parametrize(
    "case", [c for _, c in INCLUSION_VECTORS], ids=[n for n, _ in INCLUSION_VECTORS]
)
def test_inclusion_vectors(case: dict[str, Any]) -> None:
    kwargs = {
        "leaf_hash": _b64(case["leafHash"]),
        "index": case["leafIdx"],
        "size": case["treeSize"],
        "proof": [_b64(p) for p in case["proof"] or []],
        "root": _b64(case["root"]),
    }
    if case["wantErr"]:
        with pytest.raises(ProofError):
            verify_inclusion(**kwargs)
    else:
        verify_inclusion(**kwargs)


@pytest.mark.parametrize(
    "case", [c for _, c in CONSISTENCY_VECTORS], ids=[n for n, _ in CONSISTENCY_VECTORS]
)
def test_consistency_vectors(case: dict[str, Any]) -> None:
    kwargs = {
        "old_size": case["size1"],
        "new_size": case["size2"],
        "old_root": _b64(case["root1"]),
        "new_root": _b64(case["root2"]),
        "proof": [_b64(p) for p in case["proof"] or []],
    }
    if case["wantErr"]:
        with pytest.raises(ProofError):
            verify_consistency(**kwargs)
    else:
        verify_consistency(**kwargs)


def test_vector_sets_contain_both_outcomes() -> None:
    for vectors in (INCLUSION_VECTORS, CONSISTENCY_VECTORS):
        outcomes = {c["wantErr"] for _, c in vectors}
        assert outcomes == {True, False}


@pytest.mark.parametrize(
    "case",
    [c for _, c in INCLUSION_VECTORS if not c["wantErr"]],
    ids=[n for n, c in INCLUSION_VECTORS if not c["wantErr"]],
)
def test_tree_reproduces_published_inclusion_proofs(case: dict[str, Any]) -> None:
    # The happy-path vectors are over LeafInputs(), so our prover must emit
    # exactly the published proof, not merely one that verifies.
    tree = MerkleTree()
    tree.extend(LEAVES)
    proof = tree.inclusion_proof(case["leafIdx"], case["treeSize"])
    assert proof == [_b64(p) for p in case["proof"] or []]
    assert tree.leaf_hash_at(case["leafIdx"]) == _b64(case["leafHash"])


@pytest.mark.parametrize(
    "case",
    [c for _, c in CONSISTENCY_VECTORS if not c["wantErr"]],
    ids=[n for n, c in CONSISTENCY_VECTORS if not c["wantErr"]],
)
def test_tree_reproduces_published_consistency_proofs(case: dict[str, Any]) -> None:
    tree = MerkleTree()
    tree.extend(LEAVES)
    proof = tree.consistency_proof(case["size1"], case["size2"])
    assert proof == [_b64(p) for p in case["proof"] or []]


# -- edge cases --------------------------------------------------------------


def test_empty_tree_and_degenerate_consistency() -> None:
    tree = MerkleTree()
    assert tree.size == 0
    assert tree.root() == EMPTY_ROOT
    assert tree.consistency_proof(0, 0) == []
    tree.extend([b"a", b"b", b"c"])
    assert tree.consistency_proof(0) == []
    assert tree.consistency_proof(3) == []
    # Issue 14: a proof from the empty tree proves nothing and is refused, as
    # transparency-dev refuses it (it used to be accepted with an empty proof).
    for old_root in (EMPTY_ROOT, tree.root(1)):
        with pytest.raises(ProofError, match="empty tree"):
            verify_consistency(
                old_size=0, new_size=3, old_root=old_root, new_root=tree.root(), proof=[]
            )
    with pytest.raises(ProofError, match="empty tree"):
        verify_consistency(
            old_size=0, new_size=0, old_root=EMPTY_ROOT, new_root=EMPTY_ROOT, proof=[]
        )
    with pytest.raises(ProofError, match="roots differ"):
        verify_consistency(
            old_size=3, new_size=3, old_root=tree.root(2), new_root=tree.root(), proof=[]
        )
    with pytest.raises(ProofError, match="larger"):
        verify_consistency(
            old_size=3, new_size=2, old_root=tree.root(), new_root=tree.root(2), proof=[]
        )


def test_tree_rejects_out_of_range_requests() -> None:
    tree = MerkleTree()
    tree.extend([b"x", b"y"])
    with pytest.raises(ValueError):
        tree.root(3)
    with pytest.raises(ValueError):
        tree.inclusion_proof(2, 2)
    with pytest.raises(ValueError):
        tree.inclusion_proof(0, 0)
    with pytest.raises(ValueError):
        tree.consistency_proof(3, 2)
    with pytest.raises(ValueError):
        tree.append_hash(b"short")
    with pytest.raises(IndexError):
        tree.leaf_hash_at(2)


def test_verifier_rejects_out_of_range_index() -> None:
    h = leaf_hash(b"x")
    with pytest.raises(ProofError, match="not below"):
        verify_inclusion(leaf_hash=h, index=1, size=1, proof=[], root=h)
    with pytest.raises(ProofError, match="not below"):
        root_from_inclusion_proof(leaf_hash=h, index=0, size=0, proof=[])
    with pytest.raises(ProofError, match="non-negative"):
        root_from_inclusion_proof(leaf_hash=h, index=-1, size=1, proof=[])


def test_in_memory_store_refuses_rewrites() -> None:
    store = InMemoryNodeStore()
    store.put(0, 0, b"\x00" * 32)
    store.put(0, 0, b"\x00" * 32)  # idempotent rewrite is fine
    with pytest.raises(ValueError, match="already stored"):
        store.put(0, 0, b"\x01" * 32)
    assert isinstance(store, NodeStore)


def test_append_writes_only_newly_completed_nodes() -> None:
    class CountingStore(InMemoryNodeStore):
        def __init__(self) -> None:
            super().__init__()
            self.writes: list[tuple[int, int]] = []
            self.reads = 0

        def put(self, level: int, index: int, value: bytes) -> None:
            self.writes.append((level, index))
            super().put(level, index, value)

        def get(self, level: int, index: int) -> bytes | None:
            self.reads += 1
            return super().get(level, index)

    store = CountingStore()
    tree = MerkleTree(store)
    for n in range(200):
        store.writes.clear()
        tree.append(n.to_bytes(2, "big"))
        trailing_ones = (~n & (n + 1)).bit_length() - 1
        assert len(store.writes) == 1 + trailing_ones
        # Every written node must be complete at the new size.
        for level, index in store.writes:
            assert (index + 1) << level <= n + 1
    assert store.reads == 0
    tree.root()
    assert store.reads == 0  # the current root comes from the in-memory frontier


def test_reopened_tree_continues_from_store() -> None:
    store = InMemoryNodeStore()
    first = MerkleTree(store)
    first.extend(bytes([i]) for i in range(13))
    reopened = MerkleTree(store, size=13)
    assert reopened.root() == first.root()
    reopened.extend(bytes([i]) for i in range(13, 40))
    assert reopened.root() == root_hash([bytes([i]) for i in range(40)])


def test_reopening_with_missing_nodes_fails_loudly() -> None:
    with pytest.raises(LookupError, match="missing"):
        MerkleTree(InMemoryNodeStore(), size=5)


# -- properties ---------------------------------------------------------------

# Draw the size uniformly first: plain st.lists() strongly favours short lists,
# which would leave multi-level trees (sizes into the hundreds) untested.
leaf_lists = st.integers(0, 300).flatmap(
    lambda n: st.lists(st.binary(max_size=8), min_size=n, max_size=n)
)
# Tamper tests need distinct leaves: with duplicates, two different indices
# can legitimately share a proof (identical sibling subtrees), so "altered
# index must fail" would not hold. Prefixing the position makes leaves unique.
unique_leaf_lists = leaf_lists.filter(bool).map(
    lambda xs: [i.to_bytes(2, "big") + x for i, x in enumerate(xs)]
)


def _flip(value: bytes, bit: int) -> bytes:
    i = bit % (len(value) * 8)
    out = bytearray(value)
    out[i // 8] ^= 1 << (i % 8)
    return bytes(out)


@settings(max_examples=40, deadline=None)
@given(leaf_lists)
def test_incremental_root_equals_reference_for_every_prefix(leaves: list[bytes]) -> None:
    tree = MerkleTree()
    assert tree.root() == EMPTY_ROOT
    for i, data in enumerate(leaves):
        assert tree.append(data) == i
        assert tree.root() == root_hash(leaves[: i + 1])
    # Historical roots are recomputed from stored complete nodes.
    for size in range(len(leaves) + 1):
        assert tree.root(size) == root_hash(leaves[:size])


@settings(max_examples=30, deadline=None)
@given(unique_leaf_lists, st.data())
def test_inclusion_proofs_verify_and_detect_tampering(
    leaves: list[bytes], data: st.DataObject
) -> None:
    tree = MerkleTree()
    tree.extend(leaves)
    n = len(leaves)
    sizes = {n, *data.draw(st.lists(st.integers(1, n), max_size=3))}
    for size in sizes:
        root = tree.root(size)
        indices = range(size) if size <= 40 else data.draw(st.sets(st.integers(0, size - 1)))
        for index in indices:
            lh = leaf_hash(leaves[index])
            proof = tree.inclusion_proof(index, size)
            verify_inclusion(leaf_hash=lh, index=index, size=size, proof=proof, root=root)
            assert (
                root_from_inclusion_proof(leaf_hash=lh, index=index, size=size, proof=proof) == root
            )
            bit = data.draw(st.integers(0, 255))
            with pytest.raises(ProofError):
                verify_inclusion(
                    leaf_hash=_flip(lh, bit), index=index, size=size, proof=proof, root=root
                )
            with pytest.raises(ProofError):
                verify_inclusion(
                    leaf_hash=lh, index=index, size=size, proof=proof, root=_flip(root, bit)
                )
            # Any other index, including the out-of-range one equal to size.
            other = (index + data.draw(st.integers(1, size))) % (size + 1)
            with pytest.raises(ProofError):
                verify_inclusion(leaf_hash=lh, index=other, size=size, proof=proof, root=root)
            for k in range(len(proof)):
                bad = list(proof)
                bad[k] = _flip(bad[k], bit)
                with pytest.raises(ProofError):
                    verify_inclusion(leaf_hash=lh, index=index, size=size, proof=bad, root=root)
            with pytest.raises(ProofError):
                verify_inclusion(
                    leaf_hash=lh, index=index, size=size, proof=[*proof, root], root=root
                )
            if proof:
                with pytest.raises(ProofError):
                    verify_inclusion(
                        leaf_hash=lh, index=index, size=size, proof=proof[:-1], root=root
                    )


@settings(max_examples=30, deadline=None)
@given(unique_leaf_lists, st.data())
def test_consistency_proofs_verify_and_detect_tampering(
    leaves: list[bytes], data: st.DataObject
) -> None:
    tree = MerkleTree()
    tree.extend(leaves)
    n = len(leaves)
    if n <= 24:
        pairs = [(m, s) for s in range(n + 1) for m in range(s + 1)]
    else:
        pairs = data.draw(
            st.lists(
                st.tuples(st.integers(0, n), st.integers(0, n)).map(lambda t: (min(t), max(t))),
                min_size=1,
                max_size=25,
            )
        )
    for m, s in pairs:
        old_root, new_root = tree.root(m), tree.root(s)
        proof = tree.consistency_proof(m, s)
        if m == 0:
            # Refused whatever the proof: see test_empty_tree_and_degenerate_consistency.
            with pytest.raises(ProofError, match="empty tree"):
                verify_consistency(
                    old_size=m, new_size=s, old_root=old_root, new_root=new_root, proof=proof
                )
            continue
        verify_consistency(
            old_size=m, new_size=s, old_root=old_root, new_root=new_root, proof=proof
        )
        if m == s:
            assert proof == []
            continue
        bit = data.draw(st.integers(0, 255))
        with pytest.raises(ProofError):
            verify_consistency(
                old_size=m,
                new_size=s,
                old_root=_flip(old_root, bit),
                new_root=new_root,
                proof=proof,
            )
        with pytest.raises(ProofError):
            verify_consistency(
                old_size=m,
                new_size=s,
                old_root=old_root,
                new_root=_flip(new_root, bit),
                proof=proof,
            )
        for k in range(len(proof)):
            bad = list(proof)
            bad[k] = _flip(bad[k], bit)
            with pytest.raises(ProofError):
                verify_consistency(
                    old_size=m, new_size=s, old_root=old_root, new_root=new_root, proof=bad
                )
        with pytest.raises(ProofError):
            verify_consistency(
                old_size=m, new_size=s, old_root=old_root, new_root=new_root, proof=proof[:-1]
            )
        with pytest.raises(ProofError):
            verify_consistency(
                old_size=m,
                new_size=s,
                old_root=old_root,
                new_root=new_root,
                proof=[*proof, new_root],
            )
        if s < n:
            # A proof for (m, s) must not pass for a different new size.
            with pytest.raises(ProofError):
                verify_consistency(
                    old_size=m,
                    new_size=s + 1,
                    old_root=old_root,
                    new_root=tree.root(s + 1),
                    proof=proof,
                )


@settings(max_examples=25, deadline=None)
@given(leaf_lists.filter(bool), st.data())
def test_proofs_from_store_alone_match_fresh_tree(leaves: list[bytes], data: st.DataObject) -> None:
    store = InMemoryNodeStore()
    MerkleTree(store).extend(leaves)
    n = len(leaves)
    # Only the persisted nodes and the size survive, as in a projection.
    reopened = MerkleTree(store, size=n)
    size = data.draw(st.integers(1, n))
    fresh = MerkleTree()
    fresh.extend(leaves[:size])
    assert reopened.root(size) == fresh.root()
    for index in data.draw(st.sets(st.integers(0, size - 1), min_size=1, max_size=10)):
        assert reopened.inclusion_proof(index, size) == fresh.inclusion_proof(index)
    for old in data.draw(st.sets(st.integers(0, size), min_size=1, max_size=10)):
        assert reopened.consistency_proof(old, size) == fresh.consistency_proof(old)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 8, 9, 31, 32, 33, 100, 255, 256, 257, 300])
def test_exhaustive_proofs_for_selected_sizes(n: int) -> None:
    # Deterministic complement to the Hypothesis tests, which favour small
    # lists: every leaf at the full size, and consistency from every old size.
    leaves = [i.to_bytes(2, "big") for i in range(n)]
    tree = MerkleTree()
    tree.extend(leaves)
    root = tree.root()
    assert root == root_hash(leaves)
    for index in range(n):
        verify_inclusion(
            leaf_hash=leaf_hash(leaves[index]),
            index=index,
            size=n,
            proof=tree.inclusion_proof(index),
            root=root,
        )
    for m in range(1, n + 1):
        verify_consistency(
            old_size=m,
            new_size=n,
            old_root=tree.root(m),
            new_root=root,
            proof=tree.consistency_proof(m),
        )
