"""Institutions for the console: profiles, administrators and achievements with revisions.

What an operator lists (every institution) and what an administrator opens (its
achievements, every revision with the reason and the policy it was checked
under). Administrators are staff, identified by the eduID subject the operator
gave when adding them; learners never appear here.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import orjson
from ledger.projections.database import Cursor, Queries, json_text, time_text
from ledger.projections.projection import Applied, Projection, handles


class InstitutionsProjection(Projection):
    """Institution profiles, their administrators and their achievements."""

    name = "institutions"
    tables = ("institutions", "institution_administrators", "institution_achievements")
    ddl = (
        "CREATE TABLE IF NOT EXISTS institutions ("
        "issuer_id TEXT PRIMARY KEY, name TEXT NOT NULL, country TEXT NOT NULL, "
        "identifiers TEXT NOT NULL, homepage TEXT NOT NULL, logo_url TEXT NOT NULL, "
        "registered_at TEXT NOT NULL, last_position BIGINT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS institution_administrators ("
        "issuer_id TEXT NOT NULL, subject TEXT NOT NULL, added_at TEXT NOT NULL, "
        "position BIGINT NOT NULL, PRIMARY KEY (issuer_id, subject))",
        "CREATE INDEX IF NOT EXISTS institution_administrators_subject "
        "ON institution_administrators (subject)",
        "CREATE TABLE IF NOT EXISTS institution_achievements ("
        "achievement_id TEXT NOT NULL, revision INTEGER NOT NULL, issuer_id TEXT NOT NULL, "
        "kind TEXT NOT NULL, title TEXT NOT NULL, spec TEXT NOT NULL, reason TEXT, "
        "policy TEXT NOT NULL, recorded_at TEXT NOT NULL, position BIGINT NOT NULL, "
        "PRIMARY KEY (achievement_id, revision))",
        "CREATE INDEX IF NOT EXISTS institution_achievements_issuer "
        "ON institution_achievements (issuer_id, achievement_id, revision)",
    )

    @handles("ledger/Issuer/Registered")
    def _registered(self, cursor: Cursor, applied: Applied) -> None:
        event = applied.event
        cursor.execute(
            "INSERT INTO institutions VALUES (?, ?, ?, ?, '', '', ?, ?)",
            (
                str(event.originator_id),
                event.name,
                event.country,
                json_text(event.identifiers),
                time_text(event.timestamp),
                applied.position,
            ),
        )

    @handles("ledger/Issuer/ProfileEdited")
    def _profile_edited(self, cursor: Cursor, applied: Applied) -> None:
        event = applied.event
        changes = dict(event.changes)
        if "identifiers" in changes:
            changes["identifiers"] = json_text(changes["identifiers"])
        # Column names come from this fixed set, never from the event.
        columns = [
            c for c in ("name", "country", "identifiers", "homepage", "logo_url") if c in changes
        ]
        assignments = "".join(f"{c} = ?, " for c in columns)
        cursor.execute(
            f"UPDATE institutions SET {assignments}last_position = ? WHERE issuer_id = ?",  # noqa: S608
            (*(changes[c] for c in columns), applied.position, str(event.originator_id)),
        )

    @handles("ledger/Issuer/AdministratorAdded")
    def _administrator_added(self, cursor: Cursor, applied: Applied) -> None:
        event = applied.event
        cursor.execute(
            "INSERT INTO institution_administrators VALUES (?, ?, ?, ?)",
            (str(event.originator_id), event.subject, time_text(event.timestamp), applied.position),
        )

    @handles("ledger/Issuer/AdministratorRemoved")
    def _administrator_removed(self, cursor: Cursor, applied: Applied) -> None:
        event = applied.event
        cursor.execute(
            "DELETE FROM institution_administrators WHERE issuer_id = ? AND subject = ?",
            (str(event.originator_id), event.subject),
        )

    @handles("ledger/Achievement/Registered")
    def _achievement_registered(self, cursor: Cursor, applied: Applied) -> None:
        event = applied.event
        self._revision(cursor, applied, str(event.issuer_id), 1, reason=None)

    @handles("ledger/Achievement/Revised")
    def _achievement_revised(self, cursor: Cursor, applied: Applied) -> None:
        event = applied.event
        row = cursor.one(
            "SELECT MAX(revision) AS latest, MIN(issuer_id) AS issuer FROM institution_achievements "
            "WHERE achievement_id = ?",
            (str(event.originator_id),),
        )
        if row is None or row[0] is None:
            raise LookupError(f"achievement {event.originator_id} was never registered")
        self._revision(cursor, applied, row[1], row[0] + 1, reason=event.reason)

    @staticmethod
    def _revision(
        cursor: Cursor, applied: Applied, issuer_id: str, revision: int, *, reason: str | None
    ) -> None:
        event = applied.event
        spec = dict(event.spec)
        cursor.execute(
            "INSERT INTO institution_achievements VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                str(event.originator_id),
                revision,
                issuer_id,
                str(spec.get("kind", "")),
                str(spec.get("title", "")),
                json_text(spec),
                reason,
                str(getattr(event, "policy", "")),
                time_text(event.timestamp),
                applied.position,
            ),
        )


_INSTITUTION_KEYS = (
    "issuer_id",
    "name",
    "country",
    "identifiers",
    "homepage",
    "logo_url",
    "registered_at",
)


class InstitutionQueries(Queries):
    """Reads of institutions and their achievements."""

    def institutions(self, *, after: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Every institution, by id, a page after the cursor ``after`` (operators)."""
        rows = self._query(
            "SELECT issuer_id, name, country, identifiers, homepage, logo_url, registered_at "
            "FROM institutions WHERE (CAST(? AS TEXT) IS NULL OR issuer_id > ?) "
            "ORDER BY issuer_id LIMIT ?",
            (after, after, limit),
        )
        return [self._institution(r) for r in rows]

    def institution(self, issuer_id: UUID) -> dict[str, Any] | None:
        """One institution's profile and administrators (None if unknown)."""
        rows = self._query(
            "SELECT issuer_id, name, country, identifiers, homepage, logo_url, registered_at "
            "FROM institutions WHERE issuer_id = ?",
            (str(issuer_id),),
        )
        if not rows:
            return None
        found = self._institution(rows[0])
        found["administrators"] = self.administrators(issuer_id)
        return found

    @staticmethod
    def _institution(row: tuple[Any, ...]) -> dict[str, Any]:
        found = dict(zip(_INSTITUTION_KEYS, row, strict=True))
        found["identifiers"] = orjson.loads(found["identifiers"])
        return found

    def administrators(self, issuer_id: UUID) -> list[dict[str, Any]]:
        """The administrators of an institution, by subject."""
        rows = self._query(
            "SELECT subject, added_at FROM institution_administrators WHERE issuer_id = ? "
            "ORDER BY subject",
            (str(issuer_id),),
        )
        return [{"subject": r[0], "added_at": r[1]} for r in rows]

    def achievements_of(
        self, issuer_id: UUID, *, after: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """An institution's achievements with their latest revision, by id."""
        rows = self._query(
            "SELECT a.achievement_id, a.revision, a.kind, a.title, a.recorded_at, "
            "(SELECT MIN(f.recorded_at) FROM institution_achievements f "
            "WHERE f.achievement_id = a.achievement_id) AS defined_at "
            "FROM institution_achievements a WHERE a.issuer_id = ? "
            "AND a.revision = (SELECT MAX(m.revision) FROM institution_achievements m "
            "WHERE m.achievement_id = a.achievement_id) "
            "AND (CAST(? AS TEXT) IS NULL OR a.achievement_id > ?) "
            "ORDER BY a.achievement_id LIMIT ?",
            (str(issuer_id), after, after, limit),
        )
        keys = ("achievement_id", "revision", "kind", "title", "revised_at", "defined_at")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def achievement_revisions(self, achievement_id: UUID) -> list[dict[str, Any]]:
        """Every revision of an achievement, oldest first (empty if unknown)."""
        rows = self._query(
            "SELECT achievement_id, revision, issuer_id, spec, reason, policy, recorded_at "
            "FROM institution_achievements WHERE achievement_id = ? ORDER BY revision",
            (str(achievement_id),),
        )
        keys = ("achievement_id", "revision", "issuer_id", "spec", "reason", "policy", "at")
        revisions = [dict(zip(keys, r, strict=True)) for r in rows]
        for revision in revisions:
            revision["spec"] = orjson.loads(revision["spec"])
        return revisions
