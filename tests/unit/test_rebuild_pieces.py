"""The pieces a rebuild binds its replay to the verification with, and its bulk writes."""

from __future__ import annotations

from ledger.projections.database import _copy_form, _with_constants
from ledger.projections.rebuild import LeafRoot

from ledger.transparency.merkle_tree import MerkleTree


def test_the_streaming_root_is_the_rfc_9162_root_at_every_size() -> None:
    leaves = [f"event {n}".encode() for n in range(70)]
    streaming = LeafRoot()
    tree = MerkleTree()
    assert streaming.fingerprint().root == tree.root().hex()
    for leaf in leaves:
        streaming.add(leaf)
        tree.append(leaf)
        assert streaming.fingerprint().size == tree.size
        assert streaming.fingerprint().root == tree.root().hex()


def test_a_plain_insert_becomes_a_copy_with_its_constants_in_place() -> None:
    copy = _copy_form("INSERT INTO claims VALUES (?, ?, 'pending', '', ?, NULL, 0)")
    assert copy == ("COPY claims FROM STDIN", ((2, "pending"), (3, ""), (5, None), (6, 0)))
    assert _with_constants(("a", "b", "c"), copy[1]) == ["a", "b", "pending", "", "c", None, 0]
    assert _copy_form("INSERT INTO nodes (level, idx) VALUES (?, ?)") == (
        "COPY nodes (level, idx) FROM STDIN",
        (),
    )
    # An upsert, or a constant it cannot read, stays an INSERT.
    assert _copy_form("INSERT INTO t (a) VALUES (?) ON CONFLICT (a) DO NOTHING") is None
    assert _copy_form("INSERT INTO t VALUES (?, now())") is None
