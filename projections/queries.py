"""Reads of the projections: what the API and the CLI show (CQRS views).

Every method is one or two indexed queries on the projection tables; nothing here
writes. Expiry is computed at read time from ``valid_until``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from ledger.projections.runner import ProjectionRunner

from ledger.domain.base import utcnow
from ledger.eventlog.canonical_json import format_datetime
from ledger.standards.bitstring_status_list import Bitstring, interleave

AUDIT_KINDS = {
    "credential": "originator_id",
    "record": "originator_id",
    "issuer": "issuer_id",
    "learner": "learner_id",
    "actor": "actor_subject",
}


def current_state(state: str, valid_until: str | None, now: datetime | None = None) -> str:
    """The state a reader sees: an active or suspended credential past its end is expired."""
    expired = valid_until is not None and format_datetime(now or utcnow()) >= valid_until
    return "expired" if state in ("active", "suspended") and expired else state


@dataclass(frozen=True)
class StatusEntry:
    """A credential's place in its issuer's status lists, and its bits there."""

    issuer_id: str
    list_number: int
    index: int
    revoked: bool
    suspended: bool


class ReadModels:
    """Queries over the projections of one store."""

    def __init__(self, runner: ProjectionRunner) -> None:
        self.runner = runner

    def _query(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self.runner.query(statement, params)

    # -- backpacks ----------------------------------------------------------------

    def erased_at(self, learner_id: UUID) -> str | None:
        """When the learner's personal data was erased (None if it was not)."""
        rows = self._query(
            "SELECT erased_at FROM backpack_erasures WHERE learner_id = ?", (str(learner_id),)
        )
        return str(rows[0][0]) if rows else None

    def backpack(self, learner_id: UUID) -> list[dict[str, Any]]:
        """Every credential of a learner with its state, history and achievement as issued."""
        rows = self._query(
            "SELECT c.credential_id, c.issuer_id, i.name, c.achievement_id, c.achievement_revision, "
            "a.spec, c.state, c.issued_at, c.valid_from, c.valid_until, c.amendments, c.result, c.history "
            "FROM backpack_credentials c "
            "JOIN backpack_achievements a ON a.achievement_id = c.achievement_id "
            "AND a.revision = c.achievement_revision "
            "JOIN backpack_issuers i ON i.issuer_id = c.issuer_id "
            "WHERE c.learner_id = ? ORDER BY c.issued_at, c.credential_id",
            (str(learner_id),),
        )
        return [self._credential(row) for row in rows]

    @staticmethod
    def _credential(row: tuple[Any, ...]) -> dict[str, Any]:
        return {
            "credential_id": row[0],
            "issuer_id": row[1],
            "issuer_name": row[2],
            "achievement_id": row[3],
            "achievement_revision": row[4],
            "achievement": orjson.loads(row[5]),
            "state": current_state(row[6], row[9]),
            "issued_at": row[7],
            "valid_from": row[8],
            "valid_until": row[9],
            "amendments": row[10],
            "result": orjson.loads(row[11]),
            "history": orjson.loads(row[12]),
        }

    def credential(self, credential_id: UUID) -> dict[str, Any] | None:
        """One credential as a backpack shows it (None if unknown)."""
        rows = self._query(
            "SELECT c.credential_id, c.issuer_id, i.name, c.achievement_id, c.achievement_revision, "
            "a.spec, c.state, c.issued_at, c.valid_from, c.valid_until, c.amendments, c.result, c.history, "
            "c.learner_id FROM backpack_credentials c "
            "JOIN backpack_achievements a ON a.achievement_id = c.achievement_id "
            "AND a.revision = c.achievement_revision "
            "JOIN backpack_issuers i ON i.issuer_id = c.issuer_id WHERE c.credential_id = ?",
            (str(credential_id),),
        )
        if not rows:
            return None
        view = self._credential(rows[0])
        view["learner_id"] = rows[0][13]
        return view

    def credential_status(self, credential_id: UUID) -> str | None:
        """A credential's current state (None if unknown): one primary-key read, for
        status checks, which need none of what ``credential`` joins and decodes."""
        rows = self._query(
            "SELECT state, valid_until FROM backpack_credentials WHERE credential_id = ?",
            (str(credential_id),),
        )
        return current_state(rows[0][0], rows[0][1]) if rows else None

    def consents(self, learner_id: UUID) -> list[dict[str, Any]]:
        """A learner's consents, live or not."""
        rows = self._query(
            "SELECT consent_id, grantee, credential_ids, all_credentials, purpose, expires_at, withdrawn "
            "FROM backpack_consents WHERE learner_id = ? ORDER BY consent_id",
            (str(learner_id),),
        )
        now = format_datetime(utcnow())
        return [
            {
                "consent_id": r[0],
                "grantee": r[1],
                "credential_ids": orjson.loads(r[2]),
                "all_credentials": bool(r[3]),
                "purpose": r[4],
                "expires_at": r[5],
                "live": not r[6] and r[5] > now,
            }
            for r in rows
        ]

    def share_links(self, learner_id: UUID) -> list[dict[str, Any]]:
        """A learner's share links."""
        rows = self._query(
            "SELECT link_id, credential_ids, expires_at, revoked FROM backpack_share_links "
            "WHERE learner_id = ? ORDER BY link_id",
            (str(learner_id),),
        )
        return [
            {
                "link_id": r[0],
                "credential_ids": orjson.loads(r[1]),
                "expires_at": r[2],
                "revoked": bool(r[3]),
            }
            for r in rows
        ]

    def share_link_by_digest(self, token_digest: str) -> dict[str, Any] | None:
        """The share link a token opens, if it is still open."""
        rows = self._query(
            "SELECT link_id, learner_id, credential_ids, expires_at, revoked FROM backpack_share_links "
            "WHERE token_digest = ?",
            (token_digest,),
        )
        if not rows:
            return None
        link_id, learner_id, credential_ids, expires_at, revoked = rows[0]
        open_now = not revoked and (expires_at is None or expires_at > format_datetime(utcnow()))
        if not open_now:
            return None
        return {
            "link_id": link_id,
            "learner_id": learner_id,
            "credential_ids": orjson.loads(credential_ids),
        }

    def lookups(self, learner_id: UUID) -> list[dict[str, Any]]:
        """Every register lookup made under the learner's consents."""
        rows = self._query(
            "SELECT position, consent_id, grantee, credential_id, purpose, at FROM backpack_lookups "
            "WHERE learner_id = ? ORDER BY position",
            (str(learner_id),),
        )
        keys = ("position", "consent_id", "grantee", "credential_id", "purpose", "at")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def issued_by(
        self,
        issuer_id: UUID,
        *,
        state: str | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """An issuer's credentials, oldest first, a page after the cursor ``after``."""
        rows = self._query(
            "SELECT credential_id, learner_id, achievement_id, state, issued_at, valid_until "
            "FROM backpack_credentials WHERE issuer_id = ? AND (CAST(? AS TEXT) IS NULL OR credential_id > ?) "
            "ORDER BY credential_id LIMIT ?",
            (str(issuer_id), after, after, limit if state is None else limit * 10),
        )
        found = [
            {
                "credential_id": r[0],
                "learner_id": r[1],
                "achievement_id": r[2],
                "state": current_state(r[3], r[5]),
                "issued_at": r[4],
            }
            for r in rows
        ]
        return [f for f in found if state is None or f["state"] == state][:limit]

    # -- exemptions ---------------------------------------------------------------

    def exemption_register(
        self, institution_id: UUID, *, programme: str | None = None, state: str | None = None
    ) -> list[dict[str, Any]]:
        """Claims addressed to an institution, optionally for one programme or state."""
        rows = self._query(
            "SELECT claim_id, programme, learner_id, credential_ids, motivation, state, reason, "
            "submitted_at, decided_at FROM exemption_claims WHERE institution_id = ? "
            "AND (CAST(? AS TEXT) IS NULL OR programme = ?) AND (CAST(? AS TEXT) IS NULL OR state = ?) ORDER BY submitted_at, claim_id",
            (str(institution_id), programme, programme, state, state),
        )
        keys = (
            "claim_id",
            "programme",
            "learner_id",
            "credential_ids",
            "motivation",
            "state",
            "reason",
            "submitted_at",
            "decided_at",
        )
        claims = [dict(zip(keys, r, strict=True)) for r in rows]
        for claim in claims:
            claim["credential_ids"] = orjson.loads(claim["credential_ids"])
        return claims

    def claims_of(self, learner_id: UUID) -> list[dict[str, Any]]:
        """A learner's own exemption claims."""
        rows = self._query(
            "SELECT claim_id, institution_id, programme, state, reason, submitted_at FROM exemption_claims "
            "WHERE learner_id = ? ORDER BY submitted_at, claim_id",
            (str(learner_id),),
        )
        keys = ("claim_id", "institution_id", "programme", "state", "reason", "submitted_at")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    # -- audit ----------------------------------------------------------------------

    def audit_trail(
        self, kind: str, key: str, *, after: int = 0, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Events of a credential (record), issuer, learner or actor, in log order."""
        column = AUDIT_KINDS.get(kind)
        if column is None:
            raise ValueError(
                f"audit trails are kept per {', '.join(AUDIT_KINDS)}; not per {kind!r}"
            )
        # The column name comes from AUDIT_KINDS above, never from the caller.
        statement = (
            "SELECT position, originator_id, originator_version, topic, event_time, actor_subject, "  # noqa: S608
            "actor_role, actor_auth, actor_issuer, kid, event_hash, reason FROM audit_events "
            f"WHERE {column} = ? AND position > ? ORDER BY position LIMIT ?"
        )
        rows = self._query(statement, (key, after, limit))
        keys = (
            "position",
            "originator_id",
            "originator_version",
            "topic",
            "at",
            "actor_subject",
            "actor_role",
            "actor_auth",
            "actor_issuer",
            "kid",
            "event_hash",
            "reason",
        )
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def credential_ids_of_learner(self, learner_id: UUID) -> list[UUID]:
        """Every credential ever issued to a learner, in log order (for time travel)."""
        rows = self._query(
            "SELECT originator_id FROM audit_events WHERE learner_id = ? AND topic = ? ORDER BY position",
            (str(learner_id), "ledger/Credential/Issued"),
        )
        return [UUID(r[0]) for r in rows]

    # -- status ---------------------------------------------------------------------

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

    def status_lists_of(self, issuer_id: UUID) -> list[tuple[int, str, int]]:
        """(list number, purpose, last change) of every list of an issuer."""
        rows = self._query(
            "SELECT list_number, purpose, changed_at FROM status_lists WHERE issuer_id = ? "
            "ORDER BY list_number, purpose",
            (str(issuer_id),),
        )
        return [(int(r[0]), str(r[1]), int(r[2])) for r in rows]
