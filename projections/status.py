"""Status lists: per issuer, a revocation and a suspension W3C Bitstring Status List.

The bits are stored uncompressed (16 KiB per list); the published form (GZIP,
base64url, multibase ``u``) is computed from them deterministically, so a rebuild
gives the same bytes. Each credential's list and index come from its ``Issued``
event, where the issuer's reservation put them.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from ledger.projections.database import Cursor, Queries, uuid_text
from ledger.projections.projection import Applied, Projection, handles

from ledger.domain.statusallocation import LIST_LENGTH, STATUS_PURPOSES
from ledger.standards.bitstring_status_list import Bitstring, interleave


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

    @handles("ledger/Issuer/StatusListOpened")
    def _list_opened(self, cursor: Cursor, applied: Applied) -> None:
        event = applied.event
        empty = Bitstring(LIST_LENGTH).to_bytes()
        cursor.executemany(
            "INSERT INTO status_lists VALUES (?, ?, ?, ?, ?)",
            [
                (str(event.originator_id), event.list_number, purpose, empty, applied.position)
                for purpose in STATUS_PURPOSES
            ],
        )

    @handles("ledger/Credential/Issued")
    def _issued(self, cursor: Cursor, applied: Applied) -> None:
        event = applied.event
        cursor.execute(
            "INSERT INTO status_entries VALUES (?, ?, ?, ?)",
            (
                uuid_text(event.originator_id),
                uuid_text(event.issuer_id),
                event.status_list,
                event.status_index,
            ),
        )

    @handles("ledger/Credential/Suspended")
    def _suspended(self, cursor: Cursor, applied: Applied) -> None:
        self._set_bit(cursor, applied, "suspension", True)

    @handles("ledger/Credential/Reinstated")
    def _reinstated(self, cursor: Cursor, applied: Applied) -> None:
        self._set_bit(cursor, applied, "suspension", False)

    @handles("ledger/Credential/Revoked")
    def _revoked(self, cursor: Cursor, applied: Applied) -> None:
        self._set_bit(cursor, applied, "revocation", True)

    @staticmethod
    def _set_bit(cursor: Cursor, applied: Applied, purpose: str, value: bool) -> None:
        credential_id = str(applied.event.originator_id)
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
            (bits.to_bytes(), applied.position, issuer_id, list_number, purpose),
        )


@dataclass(frozen=True)
class StatusEntry:
    """A credential's place in its issuer's status lists, and its bits there."""

    issuer_id: str
    list_number: int
    index: int
    revoked: bool
    suspended: bool


class StatusQueries(Queries):
    """Reads of the status lists."""

    def status(self, credential_id: UUID) -> StatusEntry | None:
        """A credential's revocation and suspension bits (None if unknown)."""
        rows = self._query(
            "SELECT e.issuer_id, e.list_number, e.status_index, l.purpose, l.bits "
            "FROM status_entries e JOIN status_lists l ON l.issuer_id = e.issuer_id "
            "AND l.list_number = e.list_number WHERE e.credential_id = ?",
            (str(credential_id),),
        )
        if not rows:
            return None
        bits = {r[3]: Bitstring.from_bytes(bytes(r[4])).get(r[2]) for r in rows}
        return StatusEntry(
            issuer_id=rows[0][0],
            list_number=rows[0][1],
            index=rows[0][2],
            revoked=bits.get("revocation", False),
            suspended=bits.get("suspension", False),
        )

    def status_list(
        self, issuer_id: UUID, list_number: int, purpose: str
    ) -> tuple[str, int] | None:
        """A published list: its encoded bitstring and the position of its last change.

        The ``message`` list (two bits per credential: revoked, suspended) is
        computed from the revocation and suspension lists, never stored.
        """
        if purpose == "message":
            return self._message_list(issuer_id, list_number)
        rows = self._query(
            "SELECT bits, changed_at FROM status_lists WHERE issuer_id = ? AND list_number = ? AND purpose = ?",
            (str(issuer_id), list_number, purpose),
        )
        if not rows:
            return None
        return Bitstring.from_bytes(bytes(rows[0][0])).encode(), int(rows[0][1])

    def _message_list(self, issuer_id: UUID, list_number: int) -> tuple[str, int] | None:
        rows = self._query(
            "SELECT purpose, bits, changed_at FROM status_lists WHERE issuer_id = ? AND list_number = ? "
            "AND purpose IN ('revocation', 'suspension')",
            (str(issuer_id), list_number),
        )
        lists = {str(r[0]): (Bitstring.from_bytes(bytes(r[1])), int(r[2])) for r in rows}
        if set(lists) != {"revocation", "suspension"}:
            return None
        (revoked, at_r), (suspended, at_s) = lists["revocation"], lists["suspension"]
        return interleave(revoked, suspended).encode(), max(at_r, at_s)
