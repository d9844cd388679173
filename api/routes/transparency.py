"""The tamper-evident log over HTTP: signed checkpoints and Merkle proofs.

The latest checkpoint is public (it reveals only the log's size and root, and
transparency-log witnesses fetch it as plain text). Checkpoint history and
proofs are for auditors: the inclusion proof of any event in any tree size, and
the consistency proof between any two sizes, all from the Merkle projection's
committed tree, to be checked with ``ledger.transparency.proof_verifier``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from ledger.api.deps import AuditorDep, ServicesDep
from ledger.api.problems import PROBLEM_RESPONSES
from ledger.api.schemas import (
    MAX_POSITION,
    CheckpointOut,
    CheckpointPage,
    ConsistencyProofOut,
    InclusionProofOut,
)
from ledger.projections.merkle_log import MerkleLogView
from starlette.responses import Response

from ledger.errors import InvalidInput, NotFound

router = APIRouter(tags=["transparency"], responses=PROBLEM_RESPONSES)

NOTE_MEDIA_TYPE = "text/plain; charset=utf-8"


@router.get(
    "/v1/log/checkpoint",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def latest_checkpoint(services: ServicesDep) -> Response:
    """The latest signed checkpoint as a C2SP signed note (public).

    From memory, refreshed after this request arrived (one read serves every
    request waiting for it)."""
    await services.checkpoint_fresh.wait()
    note = services.checkpoint.note
    if note is None:
        raise NotFound("no checkpoint has been published yet")
    return Response(note, media_type=NOTE_MEDIA_TYPE, headers={"Cache-Control": "no-cache"})


@router.get("/v1/audit/checkpoints")
def checkpoints(
    actor: AuditorDep,
    services: ServicesDep,
    after: Annotated[int, Query(ge=0, le=MAX_POSITION, description="tree size to start after")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> CheckpointPage:
    """Every published checkpoint, by growing tree size (a stable cursor)."""
    with services.runner.transaction(commit=False) as (_, cursor):
        found = MerkleLogView(cursor).checkpoints(after=after, limit=limit)
    items = [CheckpointOut(**c.to_json()) for c in found]
    return CheckpointPage(
        checkpoints=items, next_after=items[-1].tree_size if len(items) == limit else None
    )


@router.get("/v1/audit/proofs/inclusion")
def inclusion_proof(
    actor: AuditorDep,
    services: ServicesDep,
    position: Annotated[int, Query(ge=1, le=MAX_POSITION, description="the event's log position")],
    tree_size: Annotated[int, Query(ge=1, le=MAX_POSITION, description="a checkpoint's tree size")],
) -> InclusionProofOut:
    """The proof that the event at ``position`` is among the first ``tree_size`` events."""
    with services.runner.transaction(commit=False) as (_, cursor):
        view = MerkleLogView(cursor)
        _check_size("tree_size", tree_size, view)
        index = view.leaf_index(position)
        if index is None:
            raise NotFound(f"no event at position {position} in the Merkle tree yet")
        if index >= tree_size:
            raise InvalidInput(
                f"tree_size: the event at position {position} is leaf {index}, "
                f"not among the first {tree_size}"
            )
        return InclusionProofOut(
            position=position,
            leaf_index=index,
            tree_size=tree_size,
            leaf_hash=view.tree.leaf_hash_at(index).hex(),
            root_hash=view.tree.root(tree_size).hex(),
            proof=[node.hex() for node in view.tree.inclusion_proof(index, tree_size)],
        )


@router.get("/v1/audit/proofs/consistency")
def consistency_proof(
    actor: AuditorDep,
    services: ServicesDep,
    first: Annotated[int, Query(ge=1, le=MAX_POSITION, description="the older tree size")],
    second: Annotated[int, Query(ge=1, le=MAX_POSITION, description="the newer tree size")],
) -> ConsistencyProofOut:
    """The proof that the tree of ``second`` events extends the tree of ``first``."""
    if first > second:
        raise InvalidInput("first: must not be larger than second")
    with services.runner.transaction(commit=False) as (_, cursor):
        view = MerkleLogView(cursor)
        _check_size("second", second, view)
        return ConsistencyProofOut(
            first=first,
            second=second,
            first_root=view.tree.root(first).hex(),
            second_root=view.tree.root(second).hex(),
            proof=[node.hex() for node in view.tree.consistency_proof(first, second)],
        )


def _check_size(field: str, size: int, view: MerkleLogView) -> None:
    if size > view.size:
        raise InvalidInput(f"{field}: the tree holds {view.size} events, not {size}")
