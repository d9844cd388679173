"""Every transparency-dev/merkle table case, read from the public fixtures.

``tests/vectors/merkle`` holds a selection; this runs all of
``external/transparency-dev-merkle/testdata`` (inclusion, consistency, the
"additional" edge cases and the single-entry tree) and expects exactly the
outcome each file's ``wantErr`` states. The edge cases include the ones our
verifier used to decide differently: a consistency proof from size 0 is
refused, and equal sizes compare the given roots byte for byte.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from ledger.transparency.merkle_tree import EMPTY_ROOT, MerkleTree, leaf_hash, node_hash
from ledger.transparency.proof_verifier import ProofError, verify_consistency, verify_inclusion
from tests.external_vectors import external, load_json

TESTDATA = ("transparency-dev-merkle", "testdata")


def _cases(kind: str) -> list[str]:
    root = external(*TESTDATA, kind)
    names = sorted(str(p.relative_to(root)) for p in root.rglob("*.json"))
    assert names, f"no {kind} fixtures under {root}"
    return names


def _b64(value: str) -> bytes:
    return base64.b64decode(value)


@pytest.mark.parametrize("name", _cases("inclusion"))
def test_inclusion_fixture(name: str) -> None:
    case: dict[str, Any] = load_json(*TESTDATA, "inclusion", name)
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


@pytest.mark.parametrize("name", _cases("consistency"))
def test_consistency_fixture(name: str) -> None:
    case: dict[str, Any] = load_json(*TESTDATA, "consistency", name)
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


def test_fixture_tables_hold_both_outcomes_and_the_size_zero_cases() -> None:
    names = _cases("consistency")
    outcomes = {load_json(*TESTDATA, "consistency", n)["wantErr"] for n in names}
    assert outcomes == {True, False}
    # The edge cases the issue names are among them, so this file really tests them.
    assert "additional/size1-is-zero-and-size2-is-not-zero.json" in names
    assert "0/happy-path.json" in names


def test_reference_vectors_file_matches_our_tree_and_hasher() -> None:
    vectors = load_json("transparency-dev-merkle", "vectors.json")
    reference = vectors["reference_tree"]
    leaves = [bytes.fromhex(h) for h in reference["leaf_inputs_hex"]]
    tree = MerkleTree()
    tree.extend(leaves)
    for size, expected in enumerate(reference["root_hashes_hex_by_size"]):
        assert tree.root(size).hex() == expected, size
    hasher = vectors["hasher"]
    assert EMPTY_ROOT.hex() == hasher["empty_root"]
    assert leaf_hash(b"").hex() == hasher["empty_leaf"]
    assert leaf_hash(b"L123456").hex() == hasher["leaf_L123456"]
    assert node_hash(b"N123", b"N456").hex() == hasher["node_N123_N456"]
