"""Verifying and exporting a live store: what ``ledger verify``, ``ledger export`` and the
audit pages share, so that the command line and the pages count and check the same way.

A whole-store verification holds the log against every checkpoint it knows: those
the log records, those the Merkle projection serves (each counted once however many
places hold it) and the roots its tree serves; then, when the log checks out, it
compares the read side with the log. An export writes the bundle with the same
checkpoints and names the difference when the projection lags the log.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import IO, Any

from ledger.application.ledger import Ledger
from ledger.audit.log_sources import StoreSource
from ledger.audit.log_verifier import CheckpointClaim, Progress, Report, Verifier
from ledger.domain.keyregistry import KeyEntry
from ledger.eventlog.signing_keys import MemoryKeyStore
from ledger.settings import Settings

#: Where a note about a missing part goes (the CLI: stderr; the server: its log).
Warn = Callable[[str], None]


def _stderr(message: str) -> None:
    sys.stderr.write(f"ledger: {message}\n")


def readonly_ledger(settings: Settings) -> Ledger:
    """A ledger handle that creates nothing in the store it reads."""
    return Ledger(settings.store, key_store=MemoryKeyStore(), env={"CREATE_TABLE": "n"})


def public_source(description: str) -> str:
    """A store's description without its credentials or options (for pages and bundles)."""
    return description.split("?", 1)[0].rsplit("@", 1)[-1]


def served_checkpoints(
    ledger: Ledger, warn: Warn = _stderr
) -> tuple[list[dict[str, Any]], dict[int, str]]:
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
        warn(f"no Merkle projection to compare with ({error})")
        return [], {}
    return checkpoints, roots


def read_side_disagreements(settings: Settings, warn: Warn = _stderr) -> list[str]:
    """Credentials whose projected state or status bits differ from the verified log."""
    from ledger.projections.agreement import (  # noqa: PLC0415
        read_side_disagreements as disagreements,
    )
    from ledger.projections.runner import ProjectionRunner  # noqa: PLC0415

    reader = readonly_ledger(settings)
    try:
        return disagreements(ProjectionRunner(reader, create_tables=False))
    except Exception as error:  # no read side in this store: nothing to compare
        warn(f"no read side to compare with ({type(error).__name__})")
        return []
    finally:
        reader.close()


def verify_store(
    settings: Settings,
    *,
    workers: int = 1,
    operator_anchor: str | None = None,
    claims: Sequence[CheckpointClaim] = (),
    progress: Progress | None = None,
    warn: Warn = _stderr,
) -> tuple[Report, list[str]]:
    """Replay the store's whole log (and the auditor's own ``claims``); then, if it checks
    out, the read side's disagreements with it."""
    source = StoreSource(settings.store)
    reader = readonly_ledger(settings)
    try:
        served, served_roots = served_checkpoints(reader, warn)
    finally:
        reader.close()
    all_claims = [
        *claims,
        *(
            CheckpointClaim(
                note=item["note"], source=f"served checkpoint of {item['tree_size']} events"
            )
            for item in served
        ),
    ]
    try:
        report = Verifier(
            source,
            workers=workers,
            operator_anchor=operator_anchor or settings.operator_anchor,
            checkpoints=all_claims,
            served_roots=served_roots,
            progress=progress,
        ).run()
    finally:
        source.close()
    disagreements = read_side_disagreements(settings, warn) if report.ok else []
    return report, disagreements


def export_bundle(settings: Settings, out: IO[bytes], warn: Warn = _stderr) -> dict[str, Any]:
    """Write the audit bundle of the store to ``out``: how many events and checkpoints it
    carries, and how many checkpoints the log itself records."""
    from ledger.audit.bundles import write_bundle  # noqa: PLC0415

    ledger = readonly_ledger(settings)
    try:
        ledger.keyring.refresh()
        registry = ledger.keyring.registry
        keys: list[KeyEntry] = list(registry.keys.values()) if registry else []
        operator_kid = ledger.operator_kid if registry else None
        checkpoints, _ = served_checkpoints(ledger, warn)
        recorded = ledger.checkpoint_log()
        in_log = recorded.count if recorded is not None else 0
    finally:
        ledger.close()
    source = StoreSource(settings.store)
    try:
        count = write_bundle(
            out, source=source, keys=keys, operator_kid=operator_kid, checkpoints=checkpoints
        )
    finally:
        source.close()
    return {"events": count, "checkpoints": len(checkpoints), "checkpoints_in_log": in_log}


def checkpoint_count_note(exported: dict[str, Any]) -> str | None:
    """Why a bundle carries fewer (or more) checkpoints than the log records, if it does."""
    in_log, carried = exported["checkpoints_in_log"], exported["checkpoints"]
    if in_log == carried:
        return None
    # The bundle carries the Merkle projection's checkpoints; name why they differ.
    return (
        f"the log records {in_log} checkpoints; the Merkle projection had served "
        f"{carried} (it {'lags the log' if in_log > carried else 'is ahead'}"
        "; run `ledger project --once` and export again to carry them all)"
    )
