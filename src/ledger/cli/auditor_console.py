"""The auditor's console on the command line: trails, time travel, checkpoints and proofs.

``ledger trail KIND KEY`` lists every event of a credential, issuer, learner or actor;
``ledger state-at CREDENTIAL (--at INSTANT | --position N)`` recomputes a credential
from the log as it was then, with the events that led there; ``ledger checkpoints``
lists the signed checkpoints, each checked against the one before by a consistency
proof; ``ledger proof inclusion POSITION`` proves one event is in a checkpointed tree.
Every proof is checked here with the project's small offline verifier, not trusted.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any
from uuid import UUID

from ledger.cli.console_commands import _instant, _views, emit, open_ledger
from ledger.errors import InvalidInput, NotFound
from ledger.eventlog.envelope import open_row
from ledger.transparency.proof_verifier import ProofError, verify_consistency, verify_inclusion

TRAIL_KINDS = ("credential", "issuer", "learner", "actor", "record")


def cmd_trail(args: argparse.Namespace) -> int:
    """Every event of a credential, issuer, learner or actor, in log order."""
    key = args.key
    if args.kind == "learner" and args.subject:
        # Learner ids are keyed: only the ledger, with its key directory, derives one.
        ledger = open_ledger(args.store)
        try:
            key = str(ledger.learner_ids.of(args.key))
        finally:
            ledger.close()
    views = _views(args.store)
    items: list[dict[str, Any]] = []
    after = 0
    while True:
        page = views.audit_trail(args.kind, key, after=after, limit=1000)
        items += page
        if len(page) < 1000:
            break
        after = page[-1]["position"]
    lines = [f"trail of {args.kind} {key}: {len(items)} events"]
    for item in items:
        reason = f"  reason: {item['reason']}" if item["reason"] else ""
        lines.append(
            f"  #{item['position']:<6} {item['at']}  {item['topic'].removeprefix('ledger/')}"
            f"  by {item['actor_subject']} ({item['actor_role']}, {item['actor_auth']})"
            f"  key {item['kid']}{reason}"
        )
    emit(args, items, "\n".join(lines))
    return 0


def cmd_state_at(args: argparse.Namespace) -> int:
    """A credential as it was at an instant or log position, and the events that led there."""
    from ledger.audit.time_travel import credential_at, version_at  # noqa: PLC0415

    if (args.at is None) == (args.position is None):
        raise InvalidInput("give exactly one of --at or --position")
    at: datetime | None = _instant(args.at) if args.at else None
    credential_id = UUID(args.credential_id)
    ledger = open_ledger(args.store)
    try:
        version = version_at(ledger, credential_id, at=at, position=args.position)
        credential = credential_at(ledger, credential_id, at=at, position=args.position)
        events = [open_row(stored) for stored in ledger.history(credential_id)][:version]
    finally:
        ledger.close()
    when = f"at {args.at}" if at else f"at log position {args.position}"
    steps: list[dict[str, Any]] = [
        {
            "version": e.originator_version,
            "topic": e.topic,
            "at": e.timestamp,
            "actor": e.seal.actor,
            "kid": e.seal.kid,
            "reason": e.state.get("reason"),
        }
        for e in events
    ]
    if credential is None:
        emit(
            args,
            {"credential_id": credential_id, "existed": False, "events": []},
            f"credential {credential_id} did not exist yet {when}",
        )
        return 0
    status = credential.status(at)
    data = {
        "credential_id": credential_id,
        "existed": True,
        "version": version,
        "status": status,
        "achievement_revision": credential.achievement_revision,
        "valid_until": credential.valid_until,
        "result": credential.result,
        "events": steps,
    }
    lines = [f"credential {credential_id} {when}: {status} (version {version})"]
    lines += [
        f"  v{s['version']} {s['at']} {s['topic'].rsplit('/', 1)[-1]} by {s['actor']['sub']}"
        + (f"  reason: {s['reason']}" if s["reason"] else "")
        for s in steps
    ]
    emit(args, data, "\n".join(lines))
    return 0


def _merkle(args: argparse.Namespace) -> Any:
    from ledger.projections.merkle_log import MerkleLogView  # noqa: PLC0415 (read side, on use)

    views = _views(args.store)
    return views.reader, MerkleLogView


def cmd_checkpoints(args: argparse.Namespace) -> int:
    """The signed checkpoints, each proven consistent with the one before it."""
    runner, view_class = _merkle(args)
    with runner.transaction(commit=False) as (_, cursor):
        view = view_class(cursor)
        checkpoints = view.checkpoints(limit=1_000_000)
        rows: list[dict[str, Any]] = []
        previous = None
        for checkpoint in checkpoints:
            row = checkpoint.to_json()
            if previous is not None and previous.tree_size < checkpoint.tree_size:
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
    broken = [r for r in rows if r.get("consistent_with_previous") is False]
    lines = [f"{len(rows)} checkpoints, tree now {view.size} events"]
    for row in rows:
        proof_text = (
            ""
            if "consistent_with_previous" not in row
            else "  extends the previous (consistency proof checked)"
            if row["consistent_with_previous"]
            else f"  DOES NOT extend the previous: {row['problem']}"
        )
        lines.append(
            f"  size {row['tree_size']:<7} root {row['root_hash'][:16]}…  "
            f"{row['checkpoint_time']}{proof_text}"
        )
    emit(args, rows, "\n".join(lines))
    return 1 if broken else 0


def cmd_proof(args: argparse.Namespace) -> int:
    """An inclusion proof of one event in a checkpointed tree, checked offline."""
    runner, view_class = _merkle(args)
    with runner.transaction(commit=False) as (_, cursor):
        view = view_class(cursor)
        index = view.leaf_index(args.position)
        if index is None:
            raise NotFound(f"no event at log position {args.position} in the Merkle tree yet")
        checkpoint = view.checkpoint(args.size) if args.size else view.latest_checkpoint()
        if checkpoint is None:
            raise NotFound("no checkpoint of that size; run `ledger checkpoint` first")
        size = checkpoint.tree_size
        if index >= size:
            raise InvalidInput(f"position {args.position} is after the checkpoint of {size} events")
        proof = view.tree.inclusion_proof(index, size)
        leaf = view.tree.leaf_hash_at(index)
    verify_inclusion(
        leaf_hash=leaf,
        index=index,
        size=size,
        proof=proof,
        root=bytes.fromhex(checkpoint.root_hash),
    )
    data = {
        "position": args.position,
        "leaf_index": index,
        "tree_size": size,
        "leaf_hash": leaf.hex(),
        "root_hash": checkpoint.root_hash,
        "proof": [node.hex() for node in proof],
        "checkpoint_note": checkpoint.note,
        "verified": True,
    }
    text = (
        f"event at position {args.position} (leaf {index}) is in the tree of {size} events "
        f"signed at {checkpoint.checkpoint_time}\n  root {checkpoint.root_hash}\n"
        f"  proof of {len(proof)} hashes checked offline: included"
    )
    emit(args, data, text)
    return 0


def add_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """Register the auditor's console subcommands on the ``ledger`` parser."""
    trail = commands.add_parser("trail", parents=[common], help="every event of a record")
    trail.add_argument("kind", choices=TRAIL_KINDS)
    trail.add_argument("key", help="an id, or an actor's subject")
    trail.add_argument(
        "--subject", action="store_true", help="for a learner: KEY is their eduID subject"
    )
    trail.set_defaults(handler=cmd_trail)
    state = commands.add_parser(
        "state-at", parents=[common], help="a credential as it was at an instant or position"
    )
    state.add_argument("credential_id")
    state.add_argument("--at", help="ISO 8601 instant with zone")
    state.add_argument("--position", type=int, help="log position")
    state.set_defaults(handler=cmd_state_at)
    checkpoints = commands.add_parser(
        "checkpoints", parents=[common], help="signed checkpoints with consistency proofs"
    )
    checkpoints.set_defaults(handler=cmd_checkpoints)
    proof = commands.add_parser("proof", parents=[common], help="an inclusion proof")
    kinds = proof.add_subparsers(dest="proof_kind", required=True)
    inclusion = kinds.add_parser("inclusion", parents=[common])
    inclusion.add_argument("position", type=int, help="the event's log position")
    inclusion.add_argument("--size", type=int, help="the checkpoint's tree size (default newest)")
    proof.set_defaults(handler=cmd_proof)
