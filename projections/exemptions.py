"""The exemption register: per receiving institution and programme, every claim."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import orjson
from ledger.projections.database import Cursor, Queries, json_text, time_text
from ledger.projections.projection import Applied, Projection, handles

DECISIONS = {
    "ledger/ExemptionClaim/Approved": "approved",
    "ledger/ExemptionClaim/Rejected": "rejected",
    "ledger/ExemptionClaim/Withdrawn": "withdrawn",
}


class ExemptionRegisterProjection(Projection):
    """Claims with their state and the credentials behind them."""

    name = "exemptions"
    tables = ("exemption_claims",)
    ddl = (
        "CREATE TABLE IF NOT EXISTS exemption_claims ("
        "claim_id TEXT PRIMARY KEY, institution_id TEXT NOT NULL, programme TEXT NOT NULL, "
        "learner_id TEXT NOT NULL, credential_ids TEXT NOT NULL, motivation TEXT NOT NULL, "
        "state TEXT NOT NULL, reason TEXT NOT NULL, submitted_at TEXT NOT NULL, decided_at TEXT, "
        "last_position BIGINT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS exemption_claims_programme "
        "ON exemption_claims (institution_id, programme, state, submitted_at)",
        "CREATE INDEX IF NOT EXISTS exemption_claims_learner ON exemption_claims (learner_id)",
    )

    @handles("ledger/ExemptionClaim/Submitted")
    def _submitted(self, cursor: Cursor, applied: Applied) -> None:
        event = applied.event
        cursor.execute(
            "INSERT INTO exemption_claims VALUES (?, ?, ?, ?, ?, ?, 'pending', '', ?, NULL, ?)",
            (
                str(event.originator_id),
                str(event.institution_id),
                event.programme,
                str(event.learner_id),
                json_text(event.credential_ids),
                event.motivation,
                time_text(event.timestamp),
                applied.position,
            ),
        )

    @handles(*DECISIONS)
    def _decided(self, cursor: Cursor, applied: Applied) -> None:
        event = applied.event
        cursor.execute(
            "UPDATE exemption_claims SET state = ?, reason = ?, decided_at = ?, last_position = ? "
            "WHERE claim_id = ?",
            (
                DECISIONS[applied.topic],
                event.reason,
                time_text(event.timestamp),
                applied.position,
                str(event.originator_id),
            ),
        )


class ExemptionQueries(Queries):
    """Reads of the exemption register."""

    def exemption_register(
        self, institution_id: UUID, *, programme: str | None = None, state: str | None = None
    ) -> list[dict[str, Any]]:
        """Claims addressed to an institution, optionally for one programme or state."""
        claims = self._records(
            "SELECT claim_id, programme, learner_id, credential_ids, motivation, state, reason, "
            "submitted_at, decided_at FROM exemption_claims WHERE institution_id = ? "
            "AND (CAST(? AS TEXT) IS NULL OR programme = ?) AND (CAST(? AS TEXT) IS NULL OR state = ?) ORDER BY submitted_at, claim_id",
            (str(institution_id), programme, programme, state, state),
            (
                "claim_id",
                "programme",
                "learner_id",
                "credential_ids",
                "motivation",
                "state",
                "reason",
                "submitted_at",
                "decided_at",
            ),
        )
        for claim in claims:
            claim["credential_ids"] = orjson.loads(claim["credential_ids"])
        return claims

    def claims_of(self, learner_id: UUID) -> list[dict[str, Any]]:
        """A learner's own exemption claims."""
        return self._records(
            "SELECT claim_id, institution_id, programme, state, reason, submitted_at FROM exemption_claims "
            "WHERE learner_id = ? ORDER BY submitted_at, claim_id",
            (str(learner_id),),
            ("claim_id", "institution_id", "programme", "state", "reason", "submitted_at"),
        )

    def claims_at(
        self,
        institution_id: UUID,
        *,
        state: str | None = None,
        programme: str | None = None,
        decided_from: str | None = None,
        decided_until: str | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Claims addressed to an institution by claim id, a page after ``after``; every
        filter (state, programme, decision date from inclusive to exclusive) is in SQL."""
        filters = [
            ("state = ?", state),
            ("programme = ?", programme),
            ("decided_at >= ?", decided_from),
            ("decided_at < ?", decided_until),
            ("claim_id > ?", after),
        ]
        # Each clause is one of the fixed strings above; only the values are parameters.
        clauses = "".join(f" AND {sql}" for sql, value in filters if value is not None)
        rows = self._query(
            "SELECT claim_id, programme, learner_id, credential_ids, motivation, state, reason, "  # noqa: S608
            f"submitted_at, decided_at FROM exemption_claims WHERE institution_id = ?{clauses} "
            "ORDER BY claim_id LIMIT ?",
            (str(institution_id), *(v for _, v in filters if v is not None), limit),
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
