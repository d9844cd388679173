"""The log's Merkle tree (RFC 9162) as a projection, and what it serves to auditors.

Leaf ``i`` is the signed canonical bytes of the ``i``-th event in log order:
leaves are counted densely, whatever gaps the notification ids have, and
``merkle_leaves`` maps each leaf index to its notification id. ``merkle_nodes``
holds the hashes of complete subtrees only (``ledger.transparency.merkle_tree``): they never
change, so appending an event writes its leaf plus one node per subtree it
completes (O(log n), amortised two rows), and roots and proofs for any earlier
size come from stored nodes. Rows are buffered during a batch and written at its
end, in the batch's transaction.

Checkpoint events (``ledger/LogCheckpoints/Published``) are leaves like any
other; applying one also checks that the root it commits to is the root this
tree had at that size, and records it in ``merkle_checkpoints``. A mismatch
stops the projection: the tree and the checkpoints disagree, which is tampering.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from ledger.projections.database import Cursor
from ledger.projections.projection import EVERY_EVENT, Applied, Projection, handles

from ledger.errors import CheckpointMismatch
from ledger.eventlog.envelope import signed_part
from ledger.transparency.checkpoint_note import CheckpointError, parse_signed_note
from ledger.transparency.merkle_tree import MerkleTree

CHECKPOINT_TOPIC = "ledger/LogCheckpoints/Published"
_RECENT_NODES = 4096


class NodeTable:
    """The ``NodeStore`` of ``ledger.transparency.merkle_tree`` over the ``merkle_nodes`` table.

    Writes are buffered until ``flush``; reads see the buffer first, then a small
    cache of recent nodes (an append reads only the newest ones), then the table.
    """

    def __init__(self, cursor: Cursor | None = None) -> None:
        self.cursor = cursor
        self._pending: dict[tuple[int, int], bytes] = {}
        self._recent: OrderedDict[tuple[int, int], bytes] = OrderedDict()

    def get(self, level: int, index: int) -> bytes | None:
        key = (level, index)
        found = self._pending.get(key) or self._recent.get(key)
        if found is not None:
            return found
        if self.cursor is None:
            return None
        row = self.cursor.one(
            "SELECT hash FROM merkle_nodes WHERE level = ? AND idx = ?", (level, index)
        )
        return bytes(row[0]) if row is not None else None

    def put(self, level: int, index: int, value: bytes) -> None:
        self._pending[(level, index)] = value

    def flush(self) -> None:
        """Write the buffered nodes through the current cursor."""
        if self.cursor is None or not self._pending:
            return
        self.cursor.executemany(
            "INSERT INTO merkle_nodes (level, idx, hash) VALUES (?, ?, ?)",
            [(level, index, value) for (level, index), value in self._pending.items()],
        )
        # Only the newest nodes are kept (a replay's batch writes thousands).
        newest = list(self._pending.items())[-_RECENT_NODES:]
        self._recent.update(newest)
        while len(self._recent) > _RECENT_NODES:
            self._recent.popitem(last=False)
        self._pending.clear()

    def discard(self) -> None:
        """Forget everything buffered or cached (the transaction may have rolled back)."""
        self._pending.clear()
        self._recent.clear()


def tree_size(cursor: Cursor) -> tuple[int, int]:
    """The committed tree size and the notification id of its last leaf (0, 0 if empty)."""
    row = cursor.one(
        "SELECT MAX(leaf_index) AS last_leaf, MAX(position) AS last_pos FROM merkle_leaves"
    )
    if row is None or row[0] is None:
        return 0, 0
    return int(row[0]) + 1, int(row[1])


class MerkleLogProjection(Projection):
    """Maintains the Merkle tree of the whole log and the record of its checkpoints."""

    name = "merkle"
    tables = ("merkle_leaves", "merkle_nodes", "merkle_checkpoints")
    ddl = (
        "CREATE TABLE IF NOT EXISTS merkle_leaves ("
        "leaf_index BIGINT PRIMARY KEY, position BIGINT NOT NULL UNIQUE)",
        "CREATE TABLE IF NOT EXISTS merkle_nodes ("
        "level INTEGER NOT NULL, idx BIGINT NOT NULL, hash {blob} NOT NULL, "
        "PRIMARY KEY (level, idx))",
        "CREATE TABLE IF NOT EXISTS merkle_checkpoints ("
        "tree_size BIGINT PRIMARY KEY, root_hash TEXT NOT NULL, "
        "checkpoint_time TEXT NOT NULL, note TEXT NOT NULL, position BIGINT NOT NULL)",
    )

    def __init__(self) -> None:
        self._nodes = NodeTable()
        self._tree: MerkleTree | None = None
        self._last_position = -1
        self._leaves: list[tuple[int, int]] = []

    def begin(self, cursor: Cursor, position: int) -> None:
        self._nodes.cursor = cursor
        self._leaves = []
        if self._tree is None or self._last_position != position:
            # First batch, or the previous one rolled back or another runner moved
            # on: the committed tables are the truth.
            self._nodes.discard()
            size, last = tree_size(cursor)
            self._tree = MerkleTree(self._nodes, size=size)
            self._last_position = last

    def reset(self) -> None:
        self._nodes.discard()
        self._tree = None
        self._last_position = -1
        self._leaves = []

    def _current_tree(self) -> MerkleTree:
        if self._tree is None:
            raise RuntimeError("the Merkle projection was applied outside a batch")
        return self._tree

    @handles(EVERY_EVENT)
    def _append_leaf(self, cursor: Cursor, applied: Applied) -> None:
        index = self._current_tree().append(signed_part(applied.notification.state))
        self._leaves.append((index, applied.position))
        self._last_position = applied.position

    def finish(self, cursor: Cursor) -> None:
        cursor.executemany(
            "INSERT INTO merkle_leaves (leaf_index, position) VALUES (?, ?)", self._leaves
        )
        self._leaves = []
        self._nodes.flush()

    @handles(CHECKPOINT_TOPIC)
    def _record_checkpoint(self, cursor: Cursor, applied: Applied) -> None:
        """Check a checkpoint against the tree (its own leaf already appended), record it."""
        tree = self._current_tree()
        event = applied.event
        size = int(event.tree_size)
        where = f"checkpoint at position {applied.position}"
        if size >= tree.size:
            raise CheckpointMismatch(f"{where} commits to {size} events, more than precede it")
        if tree.root(size).hex() != event.root_hash:
            raise CheckpointMismatch(
                f"{where}: the root of the first {size} events is not the checkpoint's root"
            )
        try:
            noted, _ = parse_signed_note(event.note)
        except CheckpointError as error:
            raise CheckpointMismatch(f"{where} carries a malformed note: {error}") from None
        if noted.size != size or noted.root_hash.hex() != event.root_hash:
            raise CheckpointMismatch(f"{where}: its note and its fields disagree")
        cursor.execute(
            "INSERT INTO merkle_checkpoints VALUES (?, ?, ?, ?, ?)",
            (
                size,
                event.root_hash,
                event.checkpoint_time.isoformat(),
                event.note,
                applied.position,
            ),
        )


@dataclass(frozen=True)
class StoredCheckpoint:
    """A published checkpoint as the Merkle projection recorded it."""

    tree_size: int
    root_hash: str
    checkpoint_time: str
    note: str
    position: int

    def to_json(self) -> dict[str, Any]:
        """The checkpoint as the API and the audit bundle carry it."""
        return {
            "tree_size": self.tree_size,
            "root_hash": self.root_hash,
            "checkpoint_time": self.checkpoint_time,
            "note": self.note,
            "position": self.position,
        }


class MerkleLogView:
    """Read access to the committed tree: sizes, roots, proofs and checkpoints.

    Used inside one read transaction, so everything it answers is about one
    committed tree.
    """

    def __init__(self, cursor: Cursor) -> None:
        self.cursor = cursor
        self.size, self.last_position = tree_size(cursor)
        self.tree = MerkleTree(NodeTable(cursor), size=self.size)

    def leaf_index(self, position: int) -> int | None:
        """The leaf index of the event at a notification id (None if not in the tree)."""
        row = self.cursor.one(
            "SELECT leaf_index FROM merkle_leaves WHERE position = ?", (position,)
        )
        return int(row[0]) if row is not None else None

    def checkpoints(self, *, after: int = 0, limit: int = 100) -> list[StoredCheckpoint]:
        """Checkpoints with a tree size above ``after``, smallest first."""
        return self._checkpoints("WHERE tree_size > ? ORDER BY tree_size LIMIT ?", (after, limit))

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        """The checkpoint of the largest tree, if any was published."""
        found = self._checkpoints("ORDER BY tree_size DESC LIMIT 1", ())
        return found[0] if found else None

    def checkpoint(self, size: int) -> StoredCheckpoint | None:
        """The checkpoint of exactly ``size`` events, if one was published."""
        found = self._checkpoints("WHERE tree_size = ?", (size,))
        return found[0] if found else None

    def _checkpoints(self, condition: str, params: tuple[Any, ...]) -> list[StoredCheckpoint]:
        rows = self.cursor.rows(
            "SELECT tree_size, root_hash, checkpoint_time, note, position "  # noqa: S608
            f"FROM merkle_checkpoints {condition}",
            params,
        )
        return [StoredCheckpoint(int(r[0]), r[1], r[2], r[3], int(r[4])) for r in rows]
