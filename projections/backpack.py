"""Backpacks: per learner, every credential with its state, plus consents, links, lookups.

A credential's row carries the achievement revision as it was issued (not as it
is now) and its full change history; listing a backpack is one query on the
``learner_id`` index. Expiry depends on the reader's clock, so rows keep
``valid_until`` and readers compute "expired" at read time.
"""

from __future__ import annotations

from typing import Any

import orjson
from ledger.projections.base import Applied, Cursor, Projection

from ledger.eventlog.canonical_json import to_json_value


def _json(value: Any) -> str:
    return orjson.dumps(to_json_value(value), option=orjson.OPT_SORT_KEYS).decode()


def _time(value: Any) -> str | None:
    lowered = to_json_value(value)
    return lowered if isinstance(lowered, str) else None


STATE_BY_TOPIC = {
    "ledger/Credential/Suspended": "suspended",
    "ledger/Credential/Reinstated": "active",
    "ledger/Credential/Revoked": "revoked",
    "ledger/Credential/Expired": "expired",
}


class BackpackProjection(Projection):
    """Each learner's credentials and own decisions."""

    name = "backpack"
    tables = (
        "backpack_credentials",
        "backpack_achievements",
        "backpack_issuers",
        "backpack_consents",
        "backpack_share_links",
        "backpack_lookups",
        "backpack_erasures",
    )
    ddl = (
        "CREATE TABLE IF NOT EXISTS backpack_credentials ("
        "credential_id TEXT PRIMARY KEY, learner_id TEXT NOT NULL, issuer_id TEXT NOT NULL, "
        "achievement_id TEXT NOT NULL, achievement_revision INTEGER NOT NULL, state TEXT NOT NULL, "
        "issued_at TEXT NOT NULL, valid_from TEXT NOT NULL, valid_until TEXT, "
        "amendments INTEGER NOT NULL, result TEXT NOT NULL, history TEXT NOT NULL, "
        "last_position BIGINT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS backpack_credentials_learner "
        "ON backpack_credentials (learner_id, issued_at, credential_id)",
        "CREATE INDEX IF NOT EXISTS backpack_credentials_issuer "
        "ON backpack_credentials (issuer_id, issued_at, credential_id)",
        "CREATE TABLE IF NOT EXISTS backpack_achievements ("
        "achievement_id TEXT NOT NULL, revision INTEGER NOT NULL, issuer_id TEXT NOT NULL, "
        "spec TEXT NOT NULL, PRIMARY KEY (achievement_id, revision))",
        "CREATE TABLE IF NOT EXISTS backpack_issuers ("
        "issuer_id TEXT PRIMARY KEY, name TEXT NOT NULL, country TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS backpack_consents ("
        "consent_id TEXT PRIMARY KEY, learner_id TEXT NOT NULL, grantee TEXT NOT NULL, "
        "credential_ids TEXT NOT NULL, all_credentials INTEGER NOT NULL, purpose TEXT NOT NULL, "
        "expires_at TEXT NOT NULL, withdrawn INTEGER NOT NULL)",
        "CREATE INDEX IF NOT EXISTS backpack_consents_learner ON backpack_consents (learner_id)",
        "CREATE TABLE IF NOT EXISTS backpack_share_links ("
        "link_id TEXT PRIMARY KEY, learner_id TEXT NOT NULL, token_digest TEXT NOT NULL UNIQUE, "
        "credential_ids TEXT NOT NULL, expires_at TEXT, revoked INTEGER NOT NULL)",
        "CREATE INDEX IF NOT EXISTS backpack_share_links_learner ON backpack_share_links (learner_id)",
        "CREATE TABLE IF NOT EXISTS backpack_lookups ("
        "position BIGINT PRIMARY KEY, learner_id TEXT NOT NULL, consent_id TEXT NOT NULL, "
        "grantee TEXT NOT NULL, credential_id TEXT NOT NULL, purpose TEXT NOT NULL, at TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS backpack_lookups_learner ON backpack_lookups (learner_id)",
        "CREATE TABLE IF NOT EXISTS backpack_erasures ("
        "learner_id TEXT PRIMARY KEY, erased_at TEXT NOT NULL, position BIGINT NOT NULL)",
    )

    def apply(self, cursor: Cursor, applied: Applied) -> None:
        topic = applied.topic
        event = applied.event
        handler = getattr(self, "_" + topic.replace("ledger/", "").replace("/", "_"), None)
        if handler is not None:
            handler(cursor, event, applied)

    def _Issuer_Registered(self, cursor: Cursor, event: Any, applied: Applied) -> None:  # noqa: N802
        cursor.execute(
            "INSERT INTO backpack_issuers VALUES (?, ?, ?)",
            (str(event.originator_id), event.name, event.country),
        )

    def _Achievement_Registered(self, cursor: Cursor, event: Any, applied: Applied) -> None:  # noqa: N802
        cursor.execute(
            "INSERT INTO backpack_achievements VALUES (?, 1, ?, ?)",
            (str(event.originator_id), str(event.issuer_id), _json(event.spec)),
        )

    def _Achievement_Revised(self, cursor: Cursor, event: Any, applied: Applied) -> None:  # noqa: N802
        row = cursor.one(
            "SELECT MAX(revision), MIN(issuer_id) FROM backpack_achievements WHERE achievement_id = ?",
            (str(event.originator_id),),
        )
        if row is None or row[0] is None:
            raise LookupError(f"achievement {event.originator_id} was never registered")
        cursor.execute(
            "INSERT INTO backpack_achievements VALUES (?, ?, ?, ?)",
            (str(event.originator_id), row[0] + 1, row[1], _json(event.spec)),
        )

    def _Credential_Issued(self, cursor: Cursor, event: Any, applied: Applied) -> None:  # noqa: N802
        history = [self._step(event, applied, reason=None)]
        cursor.execute(
            "INSERT INTO backpack_credentials VALUES (?, ?, ?, ?, ?, 'active', ?, ?, ?, 0, ?, ?, ?)",
            (
                str(event.originator_id),
                str(event.learner_id),
                str(event.issuer_id),
                str(event.achievement_id),
                event.achievement_revision,
                _time(event.timestamp),
                _time(event.valid_from),
                _time(event.valid_until),
                _json(event.result),
                _json(history),
                applied.position,
            ),
        )

    @staticmethod
    def _step(event: Any, applied: Applied, *, reason: str | None) -> dict[str, Any]:
        return {
            "at": _time(event.timestamp),
            "event": applied.topic.rsplit("/", 1)[1],
            "position": applied.position,
            "reason": reason,
            "version": event.originator_version,
        }

    def _change(self, cursor: Cursor, event: Any, applied: Applied, **columns: Any) -> None:
        credential_id = str(event.originator_id)
        row = cursor.one(
            "SELECT history FROM backpack_credentials WHERE credential_id = ?", (credential_id,)
        )
        if row is None:
            raise LookupError(f"credential {credential_id} was never issued")
        history = orjson.loads(row[0])
        history.append(self._step(event, applied, reason=getattr(event, "reason", None)))
        assignments = ", ".join(f"{name} = ?" for name in columns)
        cursor.execute(
            f"UPDATE backpack_credentials SET {assignments}{', ' if columns else ''}"  # noqa: S608
            "history = ?, last_position = ? WHERE credential_id = ?",
            (*columns.values(), _json(history), applied.position, credential_id),
        )

    def _Credential_Amended(self, cursor: Cursor, event: Any, applied: Applied) -> None:  # noqa: N802
        row = cursor.one(
            "SELECT amendments, result, valid_until, achievement_revision FROM backpack_credentials "
            "WHERE credential_id = ?",
            (str(event.originator_id),),
        )
        if row is None:
            raise LookupError(f"credential {event.originator_id} was never issued")
        changes = event.changes
        self._change(
            cursor,
            event,
            applied,
            amendments=row[0] + 1,
            result=_json(changes["result"]) if "result" in changes else row[1],
            valid_until=_time(changes["valid_until"]) if "valid_until" in changes else row[2],
            achievement_revision=changes.get("achievement_revision", row[3]),
        )

    def _state_change(self, cursor: Cursor, event: Any, applied: Applied) -> None:
        self._change(cursor, event, applied, state=STATE_BY_TOPIC[applied.topic])

    _Credential_Suspended = _state_change
    _Credential_Reinstated = _state_change
    _Credential_Revoked = _state_change
    _Credential_Expired = _state_change

    def _Learner_ConsentGranted(self, cursor: Cursor, event: Any, applied: Applied) -> None:  # noqa: N802
        cursor.execute(
            "INSERT INTO backpack_consents VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
            (
                str(event.consent_id),
                str(event.originator_id),
                event.grantee,
                _json(event.credential_ids),
                int(event.all_credentials),
                event.purpose,
                _time(event.expires_at),
            ),
        )

    def _Learner_ConsentWithdrawn(self, cursor: Cursor, event: Any, applied: Applied) -> None:  # noqa: N802
        cursor.execute(
            "UPDATE backpack_consents SET withdrawn = 1 WHERE consent_id = ?",
            (str(event.consent_id),),
        )

    def _Learner_ShareLinkCreated(self, cursor: Cursor, event: Any, applied: Applied) -> None:  # noqa: N802
        cursor.execute(
            "INSERT INTO backpack_share_links VALUES (?, ?, ?, ?, ?, 0)",
            (
                str(event.link_id),
                str(event.originator_id),
                event.token_digest,
                _json(event.credential_ids),
                _time(event.expires_at),
            ),
        )

    def _Learner_ShareLinkRevoked(self, cursor: Cursor, event: Any, applied: Applied) -> None:  # noqa: N802
        cursor.execute(
            "UPDATE backpack_share_links SET revoked = 1 WHERE link_id = ?", (str(event.link_id),)
        )

    def _Learner_Erased(self, cursor: Cursor, event: Any, applied: Applied) -> None:  # noqa: N802
        learner_id = str(event.originator_id)
        cursor.execute(
            "UPDATE backpack_consents SET withdrawn = 1 WHERE learner_id = ?", (learner_id,)
        )
        cursor.execute(
            "UPDATE backpack_share_links SET revoked = 1 WHERE learner_id = ?", (learner_id,)
        )
        cursor.execute(
            "INSERT INTO backpack_erasures VALUES (?, ?, ?)",
            (learner_id, _time(event.timestamp), applied.position),
        )

    def _Learner_LookedUp(self, cursor: Cursor, event: Any, applied: Applied) -> None:  # noqa: N802
        cursor.execute(
            "INSERT INTO backpack_lookups VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                applied.position,
                str(event.originator_id),
                str(event.consent_id),
                event.grantee,
                str(event.credential_id),
                event.purpose,
                _time(event.timestamp),
            ),
        )
