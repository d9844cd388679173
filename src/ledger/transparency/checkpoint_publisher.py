"""Publishing signed checkpoints of the log: every N events, every T seconds, on demand.

The root comes from the Merkle projection once it has caught up; the operator
key signs it twice over: as a C2SP signed note (for transparency-log tooling)
and as the envelope of the ``LogCheckpoints/Published`` event that records it.
Publishing is idempotent in effect: a tree that has not grown since the last
checkpoint (apart from that checkpoint's own event) gets no new one, and two
publishers racing for the same size leave one checkpoint (the aggregate refuses
the second).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ledger.application.actor import SYSTEM, acting_as
from ledger.domain.base import utcnow
from ledger.domain.keyregistry import OPERATOR
from ledger.errors import InvalidTransition, KeyUnavailable
from ledger.eventlog.canonical_json import format_datetime
from ledger.projections.merkle_log import MerkleLogView, StoredCheckpoint
from ledger.projections.runner import ProjectionRunner
from ledger.settings import Settings
from ledger.transparency.checkpoint_note import Checkpoint, sign_checkpoint


@dataclass(frozen=True)
class CheckpointPolicy:
    """When to publish: after ``every`` new events, or ``seconds`` after the last one."""

    origin: str
    every: int = 1000
    seconds: float = 60.0

    @classmethod
    def from_settings(cls, settings: Settings) -> CheckpointPolicy:
        """The policy configured with ``LEDGER_LOG_ORIGIN`` and ``LEDGER_CHECKPOINT_*``."""
        return cls(
            origin=settings.log_origin,
            every=settings.checkpoint_every,
            seconds=settings.checkpoint_seconds,
        )


class CheckpointPublisher:
    """Signs and records checkpoints of the Merkle projection's tree."""

    def __init__(self, runner: ProjectionRunner, policy: CheckpointPolicy) -> None:
        self.runner = runner
        self.ledger = runner.ledger
        self.policy = policy
        self._last_attempt = time.monotonic()
        self._last_check = float("-inf")

    def pending(self) -> tuple[int, StoredCheckpoint | None]:
        """Events not covered by the latest checkpoint, and that checkpoint."""
        with self.runner.transaction(commit=False) as (_, cursor):
            return _pending_in(MerkleLogView(cursor))

    def publish(self) -> StoredCheckpoint | None:
        """Checkpoint the tree now, if it grew since the last checkpoint."""
        self.runner.catch_up()
        self._last_attempt = time.monotonic()
        with self.runner.transaction(commit=False) as (_, cursor):
            view = MerkleLogView(cursor)
            new_events, _ = _pending_in(view)
            if new_events <= 0:
                return None
            size, root = view.size, view.tree.root()
        entry = self.ledger.keyring.active_key(OPERATOR)
        if entry is None:
            raise KeyUnavailable("the operator has no active key to sign checkpoints with")
        now = utcnow()
        note = sign_checkpoint(
            Checkpoint(
                origin=self.policy.origin,
                size=size,
                root_hash=root,
                extensions=(f"time {format_datetime(now)}",),
            ),
            key_name=self.policy.origin,
            private_key=self.ledger.key_store.private_key(entry.kid),
        )
        try:
            with acting_as(SYSTEM):
                self.ledger.record_checkpoint(
                    tree_size=size, root_hash=root.hex(), checkpoint_time=now, note=note
                )
        except InvalidTransition:
            return None  # another publisher checkpointed this size (or a larger one) first
        self.runner.catch_up()
        with self.runner.transaction(commit=False) as (_, cursor):
            return MerkleLogView(cursor).checkpoint(size)

    def due(self) -> bool:
        """Whether the policy asks for a checkpoint now (looked at most once a second)."""
        now = time.monotonic()
        if now - self._last_check < 1.0:
            return False
        self._last_check = now
        new_events, _ = self.pending()
        if new_events <= 0:
            return False
        waited = time.monotonic() - self._last_attempt
        return new_events >= self.policy.every or waited >= self.policy.seconds

    def maybe_publish(self) -> StoredCheckpoint | None:
        """Publish if the policy says so (called by the projection loop)."""
        return self.publish() if self.due() else None


def _pending_in(view: MerkleLogView) -> tuple[int, StoredCheckpoint | None]:
    """Events of a committed tree after the latest checkpoint's own event, and that checkpoint."""
    latest = view.latest_checkpoint()
    if latest is None:
        return view.size, None
    own_leaf = view.leaf_index(latest.position)
    return view.size - (own_leaf + 1 if own_leaf is not None else latest.tree_size), latest
