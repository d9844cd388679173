"""The auditor's commands: ``ledger checkpoint``, ``ledger export`` and ``ledger verify``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import orjson

from ledger.application.ledger import Ledger
from ledger.audit.log_sources import BundleSource, StoreSource
from ledger.audit.log_verifier import CheckpointClaim, Progress, Verifier
from ledger.domain.keyregistry import KeyEntry
from ledger.eventlog.signing_keys import MemoryKeyStore
from ledger.settings import Settings


def add_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """Register the auditor's subcommands on the ``ledger`` parser."""
    checkpoint = commands.add_parser(
        "checkpoint", parents=[common], help="publish a signed checkpoint of the log now"
    )
    checkpoint.set_defaults(handler=cmd_checkpoint)
    export = commands.add_parser(
        "export", parents=[common], help="write an audit bundle of the whole log"
    )
    export.add_argument("bundle", type=Path, help="the file to write (JSON lines)")
    export.set_defaults(handler=cmd_export)
    verify = commands.add_parser(
        "verify", parents=[common], help="replay and check the whole log, or a bundle"
    )
    verify.add_argument("--bundle", type=Path, help="verify this bundle instead of the store")
    verify.add_argument(
        "--checkpoint",
        type=Path,
        action="append",
        default=[],
        help="a signed checkpoint note you kept (repeatable): the log must still match it",
    )
    verify.add_argument(
        "--operator-key", help="the operator key id you trust (default: LEDGER_OPERATOR_KEY_ID)"
    )
    verify.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="processes checking signatures"
    )
    verify.add_argument("--quiet", action="store_true", help="no progress lines")
    verify.set_defaults(handler=cmd_verify)


def _readonly_ledger(settings: Settings) -> Ledger:
    """A ledger handle that creates nothing in the store it reads."""
    return Ledger(settings.store, key_store=MemoryKeyStore(), env={"CREATE_TABLE": "n"})


def cmd_checkpoint(args: argparse.Namespace) -> int:
    """Catch the Merkle projection up and publish a checkpoint if the log grew."""
    from ledger.projections.runner import ProjectionRunner  # noqa: PLC0415
    from ledger.transparency.checkpoint_publisher import (  # noqa: PLC0415 (read side, loaded on use)
        CheckpointPolicy,
        CheckpointPublisher,
    )

    settings = Settings.from_env(store_url=args.store)
    ledger = Ledger(
        settings.store, key_store=settings.key_store(), operator_anchor=settings.operator_anchor
    )
    publisher = CheckpointPublisher(
        ProjectionRunner(ledger), CheckpointPolicy.from_settings(settings)
    )
    try:
        published = publisher.publish()
        latest = publisher.pending()[1] if published is None else None
    finally:
        ledger.close()
    if published is None:
        data = {"published": False, "latest": latest.to_json() if latest else None}
        _emit(args, data, "the log has not grown since the last checkpoint; nothing published")
        return 0
    _emit(args, {"published": True, **published.to_json()}, published.note)
    return 0


def _served_checkpoints(ledger: Ledger) -> tuple[list[dict[str, Any]], dict[int, str]]:
    """The checkpoints the Merkle projection holds, and the roots its tree serves."""
    from ledger.projections.merkle_log import MerkleLogView  # noqa: PLC0415
    from ledger.projections.runner import ProjectionRunner  # noqa: PLC0415

    runner = ProjectionRunner(ledger, create_tables=False)
    try:
        with runner.transaction(commit=False) as (_, cursor):
            view = MerkleLogView(cursor)
            checkpoints = [c.to_json() for c in view.checkpoints(limit=1_000_000)]
            sizes = {c["tree_size"] for c in checkpoints if c["tree_size"] <= view.size}
            roots = {size: view.tree.root(size).hex() for size in sizes}
            if view.size:
                roots[view.size] = view.tree.root().hex()
    except Exception as error:
        sys.stderr.write(f"ledger: no Merkle projection to compare with ({error})\n")
        return [], {}
    return checkpoints, roots


def cmd_export(args: argparse.Namespace) -> int:
    """Write the audit bundle to a temporary file, then move it into place."""
    from ledger.audit.bundles import write_bundle  # noqa: PLC0415

    settings = Settings.from_env(store_url=args.store)
    ledger = _readonly_ledger(settings)
    try:
        ledger.keyring.refresh()
        registry = ledger.keyring.registry
        keys: list[KeyEntry] = list(registry.keys.values()) if registry else []
        operator_kid = ledger.operator_kid if registry else None
        checkpoints, _ = _served_checkpoints(ledger)
        recorded = ledger.checkpoint_log()
        in_log = recorded.count if recorded is not None else 0
    finally:
        ledger.close()
    source = StoreSource(settings.store)
    target: Path = args.bundle
    partial = target.with_name(target.name + ".partial")
    try:
        with partial.open("wb") as out:
            count = write_bundle(
                out,
                source=source,
                keys=keys,
                operator_kid=operator_kid,
                checkpoints=checkpoints,
            )
        partial.replace(target)
    finally:
        source.close()
        partial.unlink(missing_ok=True)
    data = {
        "bundle": str(target),
        "events": count,
        "checkpoints": len(checkpoints),
        "checkpoints_in_log": in_log,
    }
    text = f"wrote {count} events and {len(checkpoints)} checkpoints to {target}"
    if in_log != len(checkpoints):
        # The bundle carries the Merkle projection's checkpoints; name why they differ.
        text += (
            f"\nthe log records {in_log} checkpoints; the Merkle projection had served "
            f"{len(checkpoints)} (it {'lags the log' if in_log > len(checkpoints) else 'is ahead'}"
            "; run `ledger project --once` and export again to carry them all)"
        )
    _emit(args, data, text)
    return 0


def _progress(done: int, total: int, seconds: float) -> None:
    rate = done / seconds if seconds > 0 else 0.0
    sys.stderr.write(f"  verified up to position {done:,} of {total:,} ({rate:,.0f} events/s)\n")


def cmd_verify(args: argparse.Namespace) -> int:
    """Verify a live store or a bundle; exit 1 naming the first event that fails."""
    settings = Settings.from_env(store_url=args.store)
    claims = [
        CheckpointClaim(note=path.read_text(encoding="utf-8"), source=f"checkpoint file {path}")
        for path in args.checkpoint
    ]
    served_roots: dict[int, str] = {}
    source: StoreSource | BundleSource
    if args.bundle is not None:
        source = BundleSource(args.bundle)
        claims += [
            CheckpointClaim(
                note=str(item.get("note", "")),
                source=f"bundle checkpoint of {item.get('tree_size')}",
            )
            for item in source.checkpoints
        ]
    else:
        source = StoreSource(settings.store)
        reader = _readonly_ledger(settings)
        try:
            served, served_roots = _served_checkpoints(reader)
        finally:
            reader.close()
        claims += [
            CheckpointClaim(
                note=item["note"], source=f"served checkpoint of {item['tree_size']} events"
            )
            for item in served
        ]
    try:
        report = Verifier(
            source,
            workers=args.workers,
            operator_anchor=args.operator_key or settings.operator_anchor,
            checkpoints=claims,
            served_roots=served_roots,
            declared_keys=[str(item.get("kid")) for item in source.keys]
            if isinstance(source, BundleSource)
            else None,
            progress=None if args.quiet or args.json else _throttled(_progress),
        ).run()
    finally:
        source.close()
    disagreements = _read_side_disagreements(settings) if args.bundle is None and report.ok else []
    result = report.to_json()
    result["read_side_disagreements"] = disagreements
    summary = report.summary()
    if disagreements:
        summary += "\nthe read side disagrees with the log:\n  " + "\n  ".join(disagreements)
    _emit(args, result, summary)
    return 0 if report.ok and not disagreements else 1


def _read_side_disagreements(settings: Settings) -> list[str]:
    """Credentials whose projected state or status bits differ from the verified log."""
    from ledger.projections.agreement import read_side_disagreements  # noqa: PLC0415
    from ledger.projections.runner import ProjectionRunner  # noqa: PLC0415

    reader = _readonly_ledger(settings)
    try:
        return read_side_disagreements(ProjectionRunner(reader, create_tables=False))
    except Exception as error:  # no read side in this store: nothing to compare
        sys.stderr.write(f"ledger: no read side to compare with ({type(error).__name__})\n")
        return []
    finally:
        reader.close()


def _throttled(progress: Progress, every: float = 1.0) -> Progress:
    """Pass progress on at most once per ``every`` seconds, and at the end."""
    last = -every

    def report(done: int, total: int, seconds: float) -> None:
        nonlocal last
        if seconds - last >= every or done >= total:
            last = seconds
            progress(done, total, seconds)

    return report


def _emit(args: argparse.Namespace, data: Any, text: str) -> None:
    """Like ``cli._print``, for data that is JSON already (reports carry float seconds,
    which the canonical lowering that ``_print`` applies refuses)."""
    if args.json:
        sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        sys.stdout.write(text.rstrip("\n") + "\n")
