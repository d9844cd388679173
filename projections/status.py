"""Status lists: per issuer, a revocation and a suspension W3C Bitstring Status List.

The bits are stored uncompressed (16 KiB per list); the published form (GZIP,
base64url, multibase ``u``) is computed from them deterministically, so a rebuild
gives the same bytes. Each credential's list and index come from its ``Issued``
event, where the issuer's reservation put them.
"""

from __future__ import annotations

from typing import ClassVar

from ledger.projections.base import Applied, Cursor, Projection

from ledger.domain.statusallocation import LIST_LENGTH
from ledger.standards.bitstring_status_list import Bitstring

PURPOSES = ("revocation", "suspension")


class StatusListProjection(Projection):
    """Bitstrings per issuer, list and purpose; the entry of every credential."""

    name = "status"
    tables = ("status_lists", "status_entries")
    ddl = (
        "CREATE TABLE IF NOT EXISTS status_lists ("
        "issuer_id TEXT NOT NULL, list_number INTEGER NOT NULL, purpose TEXT NOT NULL, "
        "bits {blob} NOT NULL, changed_at BIGINT NOT NULL, "
        "PRIMARY KEY (issuer_id, list_number, purpose))",
        "CREATE TABLE IF NOT EXISTS status_entries ("
        "credential_id TEXT PRIMARY KEY, issuer_id TEXT NOT NULL, "
        "list_number INTEGER NOT NULL, status_index INTEGER NOT NULL)",
    )

    _BIT_EVENTS: ClassVar[dict[str, tuple[str, bool]]] = {
        "ledger/Credential/Suspended": ("suspension", True),
        "ledger/Credential/Reinstated": ("suspension", False),
        "ledger/Credential/Revoked": ("revocation", True),
    }

    def apply(self, cursor: Cursor, applied: Applied) -> None:
        topic = applied.topic
        event = applied.event
        if topic == "ledger/Issuer/StatusListOpened":
            empty = Bitstring(LIST_LENGTH).to_bytes()
            cursor.executemany(
                "INSERT INTO status_lists VALUES (?, ?, ?, ?, ?)",
                [
                    (str(event.originator_id), event.list_number, purpose, empty, applied.position)
                    for purpose in PURPOSES
                ],
            )
        elif topic == "ledger/Credential/Issued":
            cursor.execute(
                "INSERT INTO status_entries VALUES (?, ?, ?, ?)",
                (
                    str(event.originator_id),
                    str(event.issuer_id),
                    event.status_list,
                    event.status_index,
                ),
            )
        elif topic in self._BIT_EVENTS:
            purpose, value = self._BIT_EVENTS[topic]
            self._set_bit(cursor, str(event.originator_id), purpose, value, applied.position)

    @staticmethod
    def _set_bit(
        cursor: Cursor, credential_id: str, purpose: str, value: bool, position: int
    ) -> None:
        entry = cursor.one(
            "SELECT issuer_id, list_number, status_index FROM status_entries WHERE credential_id = ?",
            (credential_id,),
        )
        if entry is None:
            raise LookupError(f"credential {credential_id} has no status entry")
        issuer_id, list_number, index = entry
        row = cursor.one(
            "SELECT bits FROM status_lists WHERE issuer_id = ? AND list_number = ? AND purpose = ?",
            (issuer_id, list_number, purpose),
        )
        if row is None:
            raise LookupError(f"status list {issuer_id}/{list_number} was never opened")
        bits = Bitstring.from_bytes(bytes(row[0]))
        bits.set(index, value)
        cursor.execute(
            "UPDATE status_lists SET bits = ?, changed_at = ? "
            "WHERE issuer_id = ? AND list_number = ? AND purpose = ?",
            (bits.to_bytes(), position, issuer_id, list_number, purpose),
        )
