"""The exemption register: per receiving institution and programme, every claim."""

from __future__ import annotations

from typing import Any

from ledger.projections.backpack import _json, _time
from ledger.projections.base import Applied, Cursor, Projection

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

    def apply(self, cursor: Cursor, applied: Applied) -> None:
        event: Any = applied.event
        if applied.topic == "ledger/ExemptionClaim/Submitted":
            cursor.execute(
                "INSERT INTO exemption_claims VALUES (?, ?, ?, ?, ?, ?, 'pending', '', ?, NULL, ?)",
                (
                    str(event.originator_id),
                    str(event.institution_id),
                    event.programme,
                    str(event.learner_id),
                    _json(event.credential_ids),
                    event.motivation,
                    _time(event.timestamp),
                    applied.position,
                ),
            )
        elif applied.topic in DECISIONS:
            cursor.execute(
                "UPDATE exemption_claims SET state = ?, reason = ?, decided_at = ?, last_position = ? "
                "WHERE claim_id = ?",
                (
                    DECISIONS[applied.topic],
                    event.reason,
                    _time(event.timestamp),
                    applied.position,
                    str(event.originator_id),
                ),
            )
