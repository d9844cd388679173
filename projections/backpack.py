"""Backpacks: per learner, every credential with its state, plus consents, links, lookups.

A credential's row carries the achievement revision as it was issued (not as it
is now) and its full change history; listing a backpack is one query on the
``learner_id`` index. Expiry depends on the reader's clock, so rows keep
``valid_until`` and readers compute "expired" at read time (``current_state``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from ledger.projections.database import Cursor, Queries, json_text, time_text, uuid_text
from ledger.projections.projection import Applied, Projection, handles

from ledger.domain.base import utcnow
from ledger.eventlog.canonical_json import format_datetime

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
        "backpack_share_link_names",
        "backpack_lookups",
        "backpack_refused_lookups",
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
        "CREATE INDEX IF NOT EXISTS backpack_credentials_achievement "
        "ON backpack_credentials (achievement_id, learner_id)",
        # The in-memory status view reads the rows changed since it last looked.
        "CREATE INDEX IF NOT EXISTS backpack_credentials_changed "
        "ON backpack_credentials (last_position)",
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
        # The learner's choice of name on a link's page: the name sealed under their data
        # key, or "" for none. Links made without the choice (before it existed, or in
        # one step for LinkedIn) have no row.
        "CREATE TABLE IF NOT EXISTS backpack_share_link_names ("
        "link_id TEXT PRIMARY KEY, learner_id TEXT NOT NULL, sealed_name TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS backpack_share_link_names_learner "
        "ON backpack_share_link_names (learner_id)",
        "CREATE TABLE IF NOT EXISTS backpack_lookups ("
        "position BIGINT PRIMARY KEY, learner_id TEXT NOT NULL, consent_id TEXT NOT NULL, "
        "grantee TEXT NOT NULL, credential_id TEXT NOT NULL, purpose TEXT NOT NULL, at TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS backpack_lookups_learner ON backpack_lookups (learner_id)",
        # Lookups refused because they named another purpose than the consent's.
        "CREATE TABLE IF NOT EXISTS backpack_refused_lookups ("
        "position BIGINT PRIMARY KEY, learner_id TEXT NOT NULL, consent_id TEXT NOT NULL, "
        "grantee TEXT NOT NULL, credential_id TEXT NOT NULL, purpose TEXT NOT NULL, at TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS backpack_refused_lookups_learner "
        "ON backpack_refused_lookups (learner_id)",
        "CREATE TABLE IF NOT EXISTS backpack_erasures ("
        "learner_id TEXT PRIMARY KEY, erased_at TEXT NOT NULL, position BIGINT NOT NULL)",
    )

    @handles("ledger/Issuer/Registered")
    def _issuer_registered(self, cursor: Cursor, applied: Applied) -> None:
        event = applied.event
        cursor.execute(
            "INSERT INTO backpack_issuers VALUES (?, ?, ?)",
            (str(event.originator_id), event.name, event.country),
        )

    @handles("ledger/Issuer/ProfileEdited")
    def _issuer_profile_edited(self, cursor: Cursor, applied: Applied) -> None:
        event = applied.event
        changes = event.changes
        if "name" in changes or "country" in changes:
            cursor.execute(
                "UPDATE backpack_issuers SET name = COALESCE(CAST(? AS TEXT), name), "
                "country = COALESCE(CAST(? AS TEXT), country) WHERE issuer_id = ?",
                (changes.get("name"), changes.get("country"), str(event.originator_id)),
            )

    @handles("ledger/Achievement/Registered")
    def _achievement_registered(self, cursor: Cursor, applied: Applied) -> None:
        event = applied.event
        cursor.execute(
            "INSERT INTO backpack_achievements VALUES (?, 1, ?, ?)",
            (str(event.originator_id), str(event.issuer_id), json_text(event.spec)),
        )

    @handles("ledger/Achievement/Revised")
    def _achievement_revised(self, cursor: Cursor, applied: Applied) -> None:
        event = applied.event
        row = cursor.one(
            "SELECT MAX(revision), MIN(issuer_id) FROM backpack_achievements WHERE achievement_id = ?",
            (str(event.originator_id),),
        )
        if row is None or row[0] is None:
            raise LookupError(f"achievement {event.originator_id} was never registered")
        cursor.execute(
            "INSERT INTO backpack_achievements VALUES (?, ?, ?, ?)",
            (str(event.originator_id), row[0] + 1, row[1], json_text(event.spec)),
        )

    @handles("ledger/Credential/Issued")
    def _credential_issued(self, cursor: Cursor, applied: Applied) -> None:
        event = applied.event
        # The step holds JSON values already (text, numbers, null): no lowering needed.
        history = orjson.dumps(
            [self._step(event, applied, reason=None)], option=orjson.OPT_SORT_KEYS
        ).decode()
        cursor.execute(
            "INSERT INTO backpack_credentials VALUES (?, ?, ?, ?, ?, 'active', ?, ?, ?, 0, ?, ?, ?)",
            (
                uuid_text(event.originator_id),
                uuid_text(event.learner_id),
                uuid_text(event.issuer_id),
                uuid_text(event.achievement_id),
                event.achievement_revision,
                time_text(event.timestamp),
                time_text(event.valid_from),
                time_text(event.valid_until),
                json_text(event.result),
                history,
                applied.position,
            ),
        )

    @staticmethod
    def _step(event: Any, applied: Applied, *, reason: str | None) -> dict[str, Any]:
        return {
            "at": time_text(event.timestamp),
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
            (*columns.values(), json_text(history), applied.position, credential_id),
        )

    @handles("ledger/Credential/Amended")
    def _credential_amended(self, cursor: Cursor, applied: Applied) -> None:
        event = applied.event
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
            result=json_text(changes["result"]) if "result" in changes else row[1],
            valid_until=time_text(changes["valid_until"]) if "valid_until" in changes else row[2],
            achievement_revision=changes.get("achievement_revision", row[3]),
        )

    @handles(*STATE_BY_TOPIC)
    def _state_change(self, cursor: Cursor, applied: Applied) -> None:
        self._change(cursor, applied.event, applied, state=STATE_BY_TOPIC[applied.topic])

    @handles("ledger/Learner/ConsentGranted")
    def _consent_granted(self, cursor: Cursor, applied: Applied) -> None:
        event = applied.event
        cursor.execute(
            "INSERT INTO backpack_consents VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
            (
                str(event.consent_id),
                str(event.originator_id),
                event.grantee,
                json_text(event.credential_ids),
                int(event.all_credentials),
                event.purpose,
                time_text(event.expires_at),
            ),
        )

    @handles("ledger/Learner/ConsentWithdrawn")
    def _consent_withdrawn(self, cursor: Cursor, applied: Applied) -> None:
        event = applied.event
        cursor.execute(
            "UPDATE backpack_consents SET withdrawn = 1 WHERE consent_id = ?",
            (str(event.consent_id),),
        )

    @handles("ledger/Learner/ShareLinkCreated")
    def _share_link_created(self, cursor: Cursor, applied: Applied) -> None:
        event = applied.event
        cursor.execute(
            "INSERT INTO backpack_share_links VALUES (?, ?, ?, ?, ?, 0)",
            (
                str(event.link_id),
                str(event.originator_id),
                event.token_digest,
                json_text(event.credential_ids),
                time_text(event.expires_at),
            ),
        )
        if event.sealed_name is not None:
            cursor.execute(
                "INSERT INTO backpack_share_link_names VALUES (?, ?, ?)",
                (str(event.link_id), str(event.originator_id), event.sealed_name),
            )

    @handles("ledger/Learner/ShareLinkRevoked")
    def _share_link_revoked(self, cursor: Cursor, applied: Applied) -> None:
        event = applied.event
        cursor.execute(
            "UPDATE backpack_share_links SET revoked = 1 WHERE link_id = ?", (str(event.link_id),)
        )

    @handles("ledger/Learner/Erased")
    def _learner_erased(self, cursor: Cursor, applied: Applied) -> None:
        event = applied.event
        learner_id = str(event.originator_id)
        cursor.execute(
            "UPDATE backpack_consents SET withdrawn = 1 WHERE learner_id = ?", (learner_id,)
        )
        cursor.execute(
            "UPDATE backpack_share_links SET revoked = 1 WHERE learner_id = ?", (learner_id,)
        )
        # Unreadable once the learner's key is destroyed; not kept anyway.
        cursor.execute("DELETE FROM backpack_share_link_names WHERE learner_id = ?", (learner_id,))
        cursor.execute(
            "INSERT INTO backpack_erasures VALUES (?, ?, ?)",
            (learner_id, time_text(event.timestamp), applied.position),
        )

    @handles("ledger/Learner/LookedUp", "ledger/Learner/LookupRefused")
    def _looked_up(self, cursor: Cursor, applied: Applied) -> None:
        event = applied.event
        table = (
            "backpack_lookups"
            if applied.topic.endswith("/LookedUp")
            else "backpack_refused_lookups"
        )
        cursor.execute(
            f"INSERT INTO {table} VALUES (?, ?, ?, ?, ?, ?, ?)",  # noqa: S608 (one of two names)
            (
                applied.position,
                str(event.originator_id),
                str(event.consent_id),
                event.grantee,
                str(event.credential_id),
                event.purpose,
                time_text(event.timestamp),
            ),
        )


def current_state(state: str, valid_until: str | None, now: datetime | None = None) -> str:
    """The state a reader sees: an active or suspended credential past its end is expired."""
    expired = valid_until is not None and format_datetime(now or utcnow()) >= valid_until
    return "expired" if state in ("active", "suspended") and expired else state


def _state_condition(state: str, now: str) -> tuple[str, tuple[str, ...]]:
    """The SQL condition (and its parameters) for credentials a reader sees in ``state``.

    The inverse of ``current_state`` over the stored columns, so that a filtered page
    is filtered by the database and holds ``limit`` rows whenever that many exist.
    """
    if state == "expired":
        return (
            "(state = 'expired' OR (state IN ('active', 'suspended') "
            "AND valid_until IS NOT NULL AND valid_until <= ?))",
            (now,),
        )
    if state in ("active", "suspended"):
        return "(state = ? AND (valid_until IS NULL OR valid_until > ?))", (state, now)
    return "state = ?", (state,)


@dataclass(frozen=True)
class CredentialRow:
    """A credential as a backpack shows it, with the learner it belongs to."""

    credential_id: str
    learner_id: str
    issuer_id: str
    issuer_name: str
    achievement_id: str
    achievement_revision: int
    achievement: dict[str, Any]
    state: str
    issued_at: str
    valid_from: str
    valid_until: str | None
    amendments: int
    result: dict[str, str]
    history: list[dict[str, Any]]

    def shown(self) -> dict[str, Any]:
        """The credential without the learner's id (what a backpack, a share link shows)."""
        view = asdict(self)
        del view["learner_id"]
        return view


@dataclass(frozen=True)
class ShareLinkRow:
    """An open share link: whose, which credentials it shows, and the learner's name
    as its page shows it, sealed under their data key ("": the learner chose to show
    none; None: the link was made without that choice)."""

    link_id: str
    learner_id: str
    credential_ids: list[str]
    sealed_name: str | None = None


@dataclass(frozen=True)
class IssuedRow:
    """One line of an issuer's credential list."""

    credential_id: str
    learner_id: str
    achievement_id: str
    state: str
    issued_at: str
    achievement_revision: int = 0
    valid_until: str | None = None


_CREDENTIAL_COLUMNS = (
    "SELECT c.credential_id, c.learner_id, c.issuer_id, i.name, c.achievement_id, "
    "c.achievement_revision, a.spec, c.state, c.issued_at, c.valid_from, c.valid_until, "
    "c.amendments, c.result, c.history FROM backpack_credentials c "
    "JOIN backpack_achievements a ON a.achievement_id = c.achievement_id "
    "AND a.revision = c.achievement_revision "
    "JOIN backpack_issuers i ON i.issuer_id = c.issuer_id "
)


class BackpackQueries(Queries):
    """Reads of backpacks: credentials, consents, share links, lookups, erasures."""

    def issuers(self) -> list[tuple[str, str]]:
        """Every issuer (id, name) by name: the institutions a learner may address."""
        rows = self._query("SELECT issuer_id, name FROM backpack_issuers ORDER BY name, issuer_id")
        return [(str(r[0]), str(r[1])) for r in rows]

    def erased_at(self, learner_id: UUID) -> str | None:
        """When the learner's personal data was erased (None if it was not)."""
        rows = self._query(
            "SELECT erased_at FROM backpack_erasures WHERE learner_id = ?", (str(learner_id),)
        )
        return str(rows[0][0]) if rows else None

    def backpack(self, learner_id: UUID) -> list[CredentialRow]:
        """Every credential of a learner with its state, history and achievement as issued."""
        rows = self._query(
            _CREDENTIAL_COLUMNS + "WHERE c.learner_id = ? ORDER BY c.issued_at, c.credential_id",
            (str(learner_id),),
        )
        return [self._credential(row) for row in rows]

    @staticmethod
    def _credential(row: tuple[Any, ...]) -> CredentialRow:
        return CredentialRow(
            credential_id=row[0],
            learner_id=row[1],
            issuer_id=row[2],
            issuer_name=row[3],
            achievement_id=row[4],
            achievement_revision=int(row[5]),
            achievement=orjson.loads(row[6]),
            state=current_state(row[7], row[10]),
            issued_at=row[8],
            valid_from=row[9],
            valid_until=row[10],
            amendments=int(row[11]),
            result=orjson.loads(row[12]),
            history=orjson.loads(row[13]),
        )

    def credential(self, credential_id: UUID) -> CredentialRow | None:
        """One credential as a backpack shows it (None if unknown)."""
        rows = self._query(_CREDENTIAL_COLUMNS + "WHERE c.credential_id = ?", (str(credential_id),))
        return self._credential(rows[0]) if rows else None

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
            "SELECT l.link_id, l.credential_ids, l.expires_at, l.revoked, n.sealed_name "
            "FROM backpack_share_links l "
            "LEFT JOIN backpack_share_link_names n ON n.link_id = l.link_id "
            "WHERE l.learner_id = ? ORDER BY l.link_id",
            (str(learner_id),),
        )
        return [
            {
                "link_id": r[0],
                "credential_ids": orjson.loads(r[1]),
                "expires_at": r[2],
                "revoked": bool(r[3]),
                "shows_name": bool(r[4]),
            }
            for r in rows
        ]

    def share_link_by_digest(self, token_digest: str) -> ShareLinkRow | None:
        """The share link a token opens, if it is still open."""
        rows = self._query(
            "SELECT l.link_id, l.learner_id, l.credential_ids, l.expires_at, l.revoked, "
            "n.sealed_name FROM backpack_share_links l "
            "LEFT JOIN backpack_share_link_names n ON n.link_id = l.link_id "
            "WHERE l.token_digest = ?",
            (token_digest,),
        )
        if not rows:
            return None
        link_id, learner_id, credential_ids, expires_at, revoked, sealed_name = rows[0]
        open_now = not revoked and (expires_at is None or expires_at > format_datetime(utcnow()))
        if not open_now:
            return None
        return ShareLinkRow(link_id, learner_id, orjson.loads(credential_ids), sealed_name)

    def lookups(self, learner_id: UUID) -> list[dict[str, Any]]:
        """Every register lookup made under the learner's consents, and every one refused
        because it named another purpose (``outcome``: ``shown`` or ``refused``)."""
        return self._records(
            "SELECT position, consent_id, grantee, credential_id, purpose, at, 'shown' AS outcome "
            "FROM backpack_lookups WHERE learner_id = ? UNION ALL "
            "SELECT position, consent_id, grantee, credential_id, purpose, at, 'refused' AS outcome "
            "FROM backpack_refused_lookups WHERE learner_id = ? ORDER BY position",
            (str(learner_id), str(learner_id)),
            ("position", "consent_id", "grantee", "credential_id", "purpose", "at", "outcome"),
        )

    def issued_by(
        self,
        issuer_id: UUID,
        *,
        state: str | None = None,
        achievement_id: UUID | None = None,
        learner_id: UUID | None = None,
        issued_from: str | None = None,
        issued_until: str | None = None,
        after: str | None = None,
        limit: int = 100,
        now: datetime | None = None,
    ) -> list[IssuedRow]:
        """An issuer's credentials, by credential id, a page after the cursor ``after``.

        Every filter (state with expiry, achievement, learner, issue date from inclusive
        to exclusive, in canonical time text) is part of the query, so a page holds
        ``limit`` credentials whenever that many matching ones follow the cursor.
        """
        at = format_datetime(now or utcnow())
        condition, params = ("1 = 1", ()) if state is None else _state_condition(state, at)
        filters = [
            ("achievement_id = ?", str(achievement_id) if achievement_id else None),
            ("learner_id = ?", str(learner_id) if learner_id else None),
            ("issued_at >= ?", issued_from),
            ("issued_at < ?", issued_until),
            ("credential_id > ?", after),
        ]
        # Each clause is one of the fixed strings above; only the values are parameters.
        clauses = "".join(f" AND {sql}" for sql, value in filters if value is not None)
        values = tuple(value for _, value in filters if value is not None)
        rows = self._query(
            "SELECT credential_id, learner_id, achievement_id, state, issued_at, valid_until, "  # noqa: S608
            "achievement_revision FROM backpack_credentials WHERE issuer_id = ?"
            f"{clauses} AND {condition} ORDER BY credential_id LIMIT ?",
            (str(issuer_id), *values, *params, limit),
        )
        return [
            IssuedRow(r[0], r[1], r[2], current_state(r[3], r[5], now), r[4], r[6], r[5])
            for r in rows
        ]

    def learners_holding(self, achievement_id: UUID) -> set[str]:
        """Learner ids holding an active or suspended credential of an achievement
        (a cohort import refuses to award it to them again)."""
        rows = self._query(
            "SELECT DISTINCT learner_id FROM backpack_credentials "
            "WHERE achievement_id = ? AND state IN ('active', 'suspended')",
            (str(achievement_id),),
        )
        return {str(r[0]) for r in rows}
