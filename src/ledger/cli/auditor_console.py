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

from ledger.audit.checkpoint_proofs import checked_checkpoints, checked_inclusion
from ledger.cli.console_commands import _instant, _views, emit, open_ledger
from ledger.errors import InvalidInput

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
    from ledger.audit.time_travel import credential_then  # noqa: PLC0415

    if (args.at is None) == (args.position is None):
        raise InvalidInput("give exactly one of --at or --position")
    at: datetime | None = _instant(args.at) if args.at else None
    credential_id = UUID(args.credential_id)
    ledger = open_ledger(args.store)
    try:
        then = credential_then(ledger, credential_id, at=at, position=args.position)
    finally:
        ledger.close()
    version, credential, steps = then.version, then.credential, then.led_there
    when = f"at {args.at}" if at else f"at log position {args.position}"
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
        rows = checked_checkpoints(view)
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
        data = checked_inclusion(view_class(cursor), args.position, args.size)
    index, size = data["leaf_index"], data["tree_size"]
    if not data["verified"]:
        emit(
            args,
            data,
            f"event at position {args.position} (leaf {index}): the proof of its inclusion in "
            f"the tree of {size} events DOES NOT check: {data['problem']}",
        )
        return 1
    text = (
        f"event at position {args.position} (leaf {index}) is in the tree of {size} events "
        f"signed at {data['checkpoint_time']}\n  root {data['root_hash']}\n"
        f"  proof of {len(data['proof'])} hashes checked offline: included"
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
