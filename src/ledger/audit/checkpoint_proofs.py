"""Checkpoints with their proofs, each proof checked here and never just passed on.

``ledger checkpoints``, ``ledger proof inclusion`` and the audit pages show the same
rows: every checkpoint with the consistency proof that its tree extends the one
before, and the inclusion proof of an event in a checkpointed tree, each checked
with the project's small offline verifier (``ledger.transparency.proof_verifier``).

``view`` is a ``MerkleLogView`` (the Merkle projection's committed tree, read in one
transaction); it is typed loosely because the read side is loaded on use.
"""

from __future__ import annotations

from typing import Any

from ledger.errors import InvalidInput, NotFound
from ledger.transparency.proof_verifier import ProofError, verify_consistency, verify_inclusion


def checked_checkpoints(
    view: Any, *, after: int = 0, limit: int = 1_000_000
) -> list[dict[str, Any]]:
    """The checkpoints above tree size ``after``, each proven to extend the one before it
    (``consistent_with_previous``, the ``consistency_proof`` and any ``problem``)."""
    previous = view.checkpoint(after) if after else None
    rows: list[dict[str, Any]] = []
    for checkpoint in view.checkpoints(after=after, limit=limit):
        row = checkpoint.to_json()
        if previous is not None and previous.tree_size < checkpoint.tree_size:
            row["previous_size"] = previous.tree_size
            proof = view.tree.consistency_proof(previous.tree_size, checkpoint.tree_size)
            try:
                verify_consistency(
                    old_size=previous.tree_size,
                    new_size=checkpoint.tree_size,
                    old_root=bytes.fromhex(previous.root_hash),
                    new_root=bytes.fromhex(checkpoint.root_hash),
                    proof=proof,
                )
                row["consistent_with_previous"] = True
            except ProofError as error:
                row["consistent_with_previous"] = False
                row["problem"] = str(error)
            row["consistency_proof"] = [node.hex() for node in proof]
        rows.append(row)
        previous = checkpoint
    return rows


def checked_inclusion(view: Any, position: int, size: int | None = None) -> dict[str, Any]:
    """The proof that the event at log ``position`` is in the checkpoint of ``size`` events
    (default: the newest), checked against that checkpoint's signed root (``verified``)."""
    index = view.leaf_index(position)
    if index is None:
        raise NotFound(f"no event at log position {position} in the Merkle tree yet")
    checkpoint = view.checkpoint(size) if size else view.latest_checkpoint()
    if checkpoint is None:
        raise NotFound("no checkpoint of that size; run `ledger checkpoint` first")
    tree_size = checkpoint.tree_size
    if index >= tree_size:
        raise InvalidInput(f"position {position} is after the checkpoint of {tree_size} events")
    proof = view.tree.inclusion_proof(index, tree_size)
    leaf = view.tree.leaf_hash_at(index)
    data: dict[str, Any] = {
        "position": position,
        "leaf_index": index,
        "tree_size": tree_size,
        "leaf_hash": leaf.hex(),
        "root_hash": checkpoint.root_hash,
        "checkpoint_time": checkpoint.checkpoint_time,
        "proof": [node.hex() for node in proof],
        "checkpoint_note": checkpoint.note,
        "verified": True,
        "problem": None,
    }
    try:
        verify_inclusion(
            leaf_hash=leaf,
            index=index,
            size=tree_size,
            proof=proof,
            root=bytes.fromhex(checkpoint.root_hash),
        )
    except ProofError as error:
        data["verified"] = False
        data["problem"] = str(error)
    return data
