"""Personal data that can be forgotten: per-learner data keys and sealed values.

A learner's personal data (their eduID subject, the name they chose to show on a
share link's page) enters the log only sealed with
AES-256-GCM under that learner's own data key, bound to the learner's id. The
keys live in a table beside the log, in the same store, which unlike the log
allows DELETE: erasing a learner deletes their key, after which the sealed
values in the log cannot be read by anyone, while the log, its hashes and every
signature stay exactly as they were. (Backups of the store hold the keys too;
erasure must reach them by rotation, like any personal data.)
"""

from __future__ import annotations

import os
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ledger import base64url
from ledger.eventlog.persistence import lock_schema_changes

SEALED_PREFIX = "aesgcm:"
TABLE = "learner_data_keys"


def _associated_data(learner_id: UUID, field: str) -> bytes:
    return f"ledger-learner-{field}:".encode() + learner_id.bytes


def seal(key: bytes, learner_id: UUID, value: str, *, field: str = "subject") -> str:
    """``value`` encrypted under a learner's data key (a fresh nonce each time).

    The sealed value is bound to the learner and to the ``field`` it is for, so that
    one sealed field can never be passed off as another (a subject as a shown name).
    """
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, value.encode("utf-8"), _associated_data(learner_id, field))
    return f"{SEALED_PREFIX}{base64url.encode(nonce)}:{base64url.encode(sealed)}"


def unseal(key: bytes, learner_id: UUID, text: str, *, field: str = "subject") -> str:
    """The value ``seal`` sealed; ValueError if it was not sealed for this learner, key
    and field."""
    if not text.startswith(SEALED_PREFIX):
        raise ValueError("not a sealed value")
    nonce_text, _, sealed_text = text[len(SEALED_PREFIX) :].partition(":")
    try:
        plain = AESGCM(key).decrypt(
            base64url.decode(nonce_text),
            base64url.decode(sealed_text),
            _associated_data(learner_id, field),
        )
    except InvalidTag:
        raise ValueError("the sealed value does not open with this learner's key") from None
    return plain.decode("utf-8")


def new_data_key() -> bytes:
    """A fresh AES-256 data key."""
    return AESGCM.generate_key(bit_length=256)


class LearnerDataKeys:
    """The data keys of learners, in the store's ``learner_data_keys`` table."""

    def __init__(self, datastore: Any, *, kind: str) -> None:
        self._datastore = datastore
        self._postgres = kind == "postgresql"
        schema = getattr(datastore, "schema", "") if self._postgres else ""
        self._table = f"{schema}.{TABLE}" if schema else TABLE
        self._mark = "%s" if self._postgres else "?"

    def create_table(self) -> None:
        """Create the key table if it does not exist."""
        blob = "BYTEA" if self._postgres else "BLOB"
        with self._datastore.transaction(commit=True) as cursor:
            if self._postgres:
                lock_schema_changes(cursor)
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {self._table} "
                f"(learner_id TEXT PRIMARY KEY, data_key {blob} NOT NULL)"
            )

    def key(self, learner_id: UUID) -> bytes | None:
        """A learner's data key (None once erased, or if never made)."""
        with self._datastore.transaction(commit=False) as cursor:
            cursor.execute(
                f"SELECT data_key FROM {self._table} WHERE learner_id = {self._mark}",  # noqa: S608
                (str(learner_id),),
            )
            row = cursor.fetchone()
        if row is None:
            return None
        value = row["data_key"] if isinstance(row, dict) else row[0]
        return bytes(value)

    def opened(self, learner_id: UUID, text: str, *, field: str) -> str | None:
        """A sealed value of a learner in clear, or None: nothing sealed, the learner's
        key destroyed (erased), or a value that does not open with it."""
        if not text:
            return None
        key = self.key(learner_id)
        if key is None:
            return None
        try:
            return unseal(key, learner_id, text, field=field)
        except ValueError:
            return None

    def key_for_new(self, learner_id: UUID, candidate: bytes | None = None) -> bytes:
        """Store a data key for a learner being registered; returns the stored key (the
        existing one if a racer stored one first)."""
        candidate = candidate or new_data_key()
        conflict = "ON CONFLICT (learner_id) DO NOTHING"
        with self._datastore.transaction(commit=True) as cursor:
            cursor.execute(
                f"INSERT INTO {self._table} (learner_id, data_key) "  # noqa: S608
                f"VALUES ({self._mark}, {self._mark}) {conflict}",
                (str(learner_id), candidate),
            )
        found = self.key(learner_id)
        if found is None:
            raise RuntimeError(f"the data key of learner {learner_id} could not be stored")
        return found

    def destroy(self, learner_id: UUID) -> None:
        """Delete a learner's data key for good (erasure), so that no copy stays readable.

        SQLite: with ``secure_delete`` the freed page is overwritten with zeros, and a
        WAL checkpoint (TRUNCATE) copies that into the database file and empties the
        WAL, which held the key's page too. PostgreSQL: a deleted row stays in its
        page until vacuumed; ``VACUUM FULL`` of this small table writes a new file
        without it. (Backups and PostgreSQL's own WAL archive keep old copies until
        they rotate; see docs/decisions.md.)
        """
        with self._datastore.transaction(commit=True) as cursor:
            if not self._postgres:
                cursor.execute("PRAGMA secure_delete = ON")
            cursor.execute(
                f"DELETE FROM {self._table} WHERE learner_id = {self._mark}",  # noqa: S608
                (str(learner_id),),
            )
        if self._postgres:
            with self._datastore.get_connection() as conn:
                conn.execute(f"VACUUM FULL {self._table}")
        else:
            # Outside any transaction: a checkpoint cannot run inside one.
            with self._datastore.get_connection(commit=True) as conn:
                conn.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
