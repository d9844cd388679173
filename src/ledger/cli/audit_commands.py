"""The auditor's commands: ``ledger checkpoint``, ``ledger export`` and ``ledger verify``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import orjson

from ledger.application.ledger import Ledger
from ledger.audit.live_store import (
    checkpoint_count_note,
    export_bundle,
    readonly_ledger,
    verify_store,
)
from ledger.audit.log_sources import BundleSource
from ledger.audit.log_verifier import CheckpointClaim, Progress, Verifier
from ledger.settings import Settings

#: A ledger handle that creates nothing in the store it reads (``ledger rebuild`` uses it too).
_readonly_ledger = readonly_ledger


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


def cmd_export(args: argparse.Namespace) -> int:
    """Write the audit bundle to a temporary file, then move it into place."""
    settings = Settings.from_env(store_url=args.store)
    target: Path = args.bundle
    partial = target.with_name(target.name + ".partial")
    try:
        with partial.open("wb") as out:
            exported = export_bundle(settings, out)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    data = {"bundle": str(target), **exported}
    text = (
        f"wrote {exported['events']} events and {exported['checkpoints']} checkpoints to {target}"
    )
    note = checkpoint_count_note(exported)
    if note is not None:
        text += "\n" + note
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
    progress = None if args.quiet or args.json else _throttled(_progress)
    if args.bundle is not None:
        source = BundleSource(args.bundle)
        claims += [
            CheckpointClaim(
                note=str(item.get("note", "")),
                source=f"bundle checkpoint of {item.get('tree_size')}",
            )
            for item in source.checkpoints
        ]
        try:
            report = Verifier(
                source,
                workers=args.workers,
                operator_anchor=args.operator_key or settings.operator_anchor,
                checkpoints=claims,
                declared_keys=[str(item.get("kid")) for item in source.keys],
                progress=progress,
            ).run()
        finally:
            source.close()
        disagreements: list[str] = []
    else:
        report, disagreements = verify_store(
            settings,
            workers=args.workers,
            operator_anchor=args.operator_key,
            claims=claims,
            progress=progress,
        )
    result = report.to_json()
    result["read_side_disagreements"] = disagreements
    summary = report.summary()
    if disagreements:
        summary += "\nthe read side disagrees with the log:\n  " + "\n  ".join(disagreements)
    _emit(args, result, summary)
    return 0 if report.ok and not disagreements else 1


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
