"""Audit trails: every event in log order, with who, when, under which key and why.

One row per event, indexed four ways (by record, issuer, learner and actor), so
the trail of a credential, an issuer, a learner or an actor is one index scan.
The issuer and learner a record belongs to come from its creating event and are
kept in ``audit_owners``.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from ledger.projections.database import Cursor, Queries, time_text, uuid_text
from ledger.projections.projection import EVERY_EVENT, Applied, Projection, handles

from ledger.eventlog.envelope import seal_of

#: The column each kind of audit trail is kept by.
AUDIT_KINDS = {
    "credential": "originator_id",
    "record": "originator_id",
    "issuer": "issuer_id",
    "learner": "learner_id",
    "actor": "actor_subject",
}

_OWNER_FIELDS = {
    "ledger/Credential/Issued": ("issuer_id", "learner_id"),
    "ledger/Achievement/Registered": ("issuer_id", None),
    "ledger/IssuanceRequest/Completed": ("issuer_id", None),
    "ledger/ExemptionClaim/Submitted": ("institution_id", "learner_id"),
}


class AuditTrailProjection(Projection):
    """Every event with its actor, key, time and reason."""

    name = "audit"
    tables = ("audit_events", "audit_owners")
    ddl = (
        "CREATE TABLE IF NOT EXISTS audit_events ("
        "position BIGINT PRIMARY KEY, originator_id TEXT NOT NULL, originator_version INTEGER NOT NULL, "
        "topic TEXT NOT NULL, event_time TEXT NOT NULL, actor_subject TEXT NOT NULL, "
        "actor_role TEXT NOT NULL, actor_auth TEXT NOT NULL, actor_issuer TEXT, kid TEXT NOT NULL, "
        "event_hash TEXT NOT NULL, reason TEXT, issuer_id TEXT, learner_id TEXT)",
        "CREATE INDEX IF NOT EXISTS audit_events_record ON audit_events (originator_id, position)",
        "CREATE INDEX IF NOT EXISTS audit_events_issuer ON audit_events (issuer_id, position)",
        "CREATE INDEX IF NOT EXISTS audit_events_learner ON audit_events (learner_id, position)",
        "CREATE INDEX IF NOT EXISTS audit_events_actor ON audit_events (actor_subject, position)",
        "CREATE INDEX IF NOT EXISTS audit_events_kid ON audit_events (kid, event_time)",
        "CREATE TABLE IF NOT EXISTS audit_owners ("
        "originator_id TEXT PRIMARY KEY, issuer_id TEXT, learner_id TEXT)",
    )

    @handles(EVERY_EVENT)
    def _recorded(self, cursor: Cursor, applied: Applied) -> None:
        event: Any = applied.event
        seal = seal_of(event)
        if seal is None:
            raise ValueError(f"event at position {applied.position} carries no seal")
        originator_id = uuid_text(event.originator_id)
        issuer_id, learner_id = self._owners(cursor, applied, originator_id)
        actor = seal.actor
        cursor.execute(
            "INSERT INTO audit_events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                applied.position,
                originator_id,
                event.originator_version,
                applied.topic,
                time_text(event.timestamp),
                actor.get("sub", ""),
                actor.get("role", ""),
                actor.get("auth", ""),
                actor.get("issuer"),
                seal.kid,
                seal.digest,
                getattr(event, "reason", None),
                issuer_id,
                learner_id,
            ),
        )

    @staticmethod
    def _owners(
        cursor: Cursor, applied: Applied, originator_id: str
    ) -> tuple[str | None, str | None]:
        event: Any = applied.event
        topic = applied.topic
        if event.originator_version == 1:
            if topic in _OWNER_FIELDS:
                issuer_field, learner_field = _OWNER_FIELDS[topic]
                issuer = uuid_text(getattr(event, issuer_field))
                learner = uuid_text(getattr(event, learner_field)) if learner_field else None
            elif topic == "ledger/Issuer/Registered":
                issuer, learner = originator_id, None
            elif topic == "ledger/Learner/Registered":
                issuer, learner = None, originator_id
            else:
                issuer, learner = None, None
            cursor.execute(
                "INSERT INTO audit_owners VALUES (?, ?, ?)", (originator_id, issuer, learner)
            )
            return issuer, learner
        row = cursor.one(
            "SELECT issuer_id, learner_id FROM audit_owners WHERE originator_id = ?",
            (originator_id,),
        )
        return (row[0], row[1]) if row else (None, None)


class AuditQueries(Queries):
    """Reads of the audit trails."""

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
        return self._records(statement, (key, after, limit), keys)

    def credential_ids_of_learner(self, learner_id: UUID) -> list[UUID]:
        """Every credential ever issued to a learner, in log order (for time travel)."""
        rows = self._query(
            "SELECT originator_id FROM audit_events WHERE learner_id = ? AND topic = ? ORDER BY position",
            (str(learner_id), "ledger/Credential/Issued"),
        )
        return [UUID(r[0]) for r in rows]

    def signed_by(self, kid: str, *, since: str) -> list[dict[str, Any]]:
        """Events a key signed at or after ``since`` (canonical time text), in log order:
        what a compromise from that instant invalidates."""
        rows = self._query(
            "SELECT position, originator_id, topic, event_time FROM audit_events "
            "WHERE kid = ? AND event_time >= ? ORDER BY position",
            (kid, since),
        )
        keys = ("position", "originator_id", "topic", "at")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def compromise_consequences(self, kid: str, *, since: str) -> dict[str, Any]:
        """What marking a key compromised from ``since`` invalidates, by kind of record.

        Every event the key signed from that instant on fails verification afterwards:
        a credential's no longer verifies (issue it again); an institution's own record
        (its status reservations, profile, administrators) can no longer be read, so
        that institution cannot issue or correct until its record is recovered.
        """
        events = self.signed_by(kid, since=since)
        kinds: dict[str, set[str]] = {"credentials": set(), "institutions": set(), "other": set()}
        for event in events:
            topic = event["topic"]
            kind = (
                "credentials"
                if topic.startswith("ledger/Credential/")
                else "institutions"
                if topic.startswith("ledger/Issuer/")
                else "other"
            )
            kinds[kind].add(event["originator_id"])
        effects = []
        if kinds["credentials"]:
            effects.append(
                f"{len(kinds['credentials'])} credentials no longer verify: issue them again"
            )
        if kinds["institutions"]:
            effects.append(
                "the institution's own record has events signed since then: it no longer "
                "verifies, and the institution cannot issue or correct credentials"
            )
        if kinds["other"]:
            effects.append(f"{len(kinds['other'])} other records no longer verify")
        return {
            "events_signed_since": len(events),
            "credentials": sorted(kinds["credentials"]),
            "institutions": sorted(kinds["institutions"]),
            "other_records": sorted(kinds["other"]),
            "effects": effects or ["the key signed nothing from that instant on"],
        }
