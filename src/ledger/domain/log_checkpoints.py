"""Log checkpoints: the signed tree heads of the ledger's Merkle tree, as events.

A checkpoint commits the operator to the first ``tree_size`` events of the log
(their Merkle root). Recording it as an event of one ``LogCheckpoints``
aggregate puts every checkpoint in the log itself (chained, signed, exported
with the audit bundle and visible in the audit trail), and the aggregate refuses
a checkpoint that would roll the tree back. The ``note`` is the C2SP
``tlog-checkpoint`` signed note that transparency-log tooling reads.
"""

from __future__ import annotations

from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate
from ledger.errors import InvalidInput, InvalidTransition

LOG_CHECKPOINTS_ID = uuid5(NAMESPACE_URL, "urn:ledger:log-checkpoints")


class LogCheckpoints(LedgerAggregate):
    """Every checkpoint published for the log, in order of growing tree size."""

    TOPIC = "ledger/LogCheckpoints"

    @staticmethod
    def create_id(**_: object) -> UUID:
        return LOG_CHECKPOINTS_ID

    @event("Started")
    def __init__(self) -> None:
        self.tree_size = 0
        self.root_hash = ""
        self.count = 0

    def publish(
        self, *, tree_size: int, root_hash: str, checkpoint_time: datetime, note: str
    ) -> None:
        """Record a checkpoint; the tree only ever grows."""
        if len(root_hash) != 64:
            raise InvalidInput("a checkpoint root is a hex SHA-256 hash")
        if tree_size <= self.tree_size:
            raise InvalidTransition(
                f"a checkpoint of {tree_size} events cannot follow one of {self.tree_size}"
            )
        self._published(
            tree_size=tree_size, root_hash=root_hash, checkpoint_time=checkpoint_time, note=note
        )

    @event("Published")
    def _published(
        self, tree_size: int, root_hash: str, checkpoint_time: datetime, note: str
    ) -> None:
        self.tree_size = tree_size
        self.root_hash = root_hash
        self.count += 1
