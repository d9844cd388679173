"""Personal data that can be forgotten: per-learner data keys and sealed values.

A learner's personal data (their eduID subject, the name they chose to show on a
share link's page) enters the log only sealed with
AES-256-GCM under that learner's own data key, bound to the learner's id. The
keys live in a table beside the log, in the same store, which unlike the log
allows DELETE: erasing a learner deletes their key, after which the sealed
values in the log cannot be read by anyone, while the log, its hashes and every
signature stay exactly as they were.

The table holds each data key only wrapped (AES-256-GCM, bound to the learner's id)
under a key-encryption key kept in the key directory, never in the database: a copy
of the database alone (a backup, a dead row, an old page) opens no learner's data.
Rows written before wrapping hold the key in clear; they are wrapped when the
ledger starts or when first read (docs/decisions.md). A backup of the store *and*
of the key directory still opens an erased learner's key until that backup rotates.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ledger import base64url
from ledger.errors import KeyUnavailable
from ledger.eventlog.persistence import lock_schema_changes

SEALED_PREFIX = "aesgcm:"
TABLE = "learner_data_keys"
#: A data key in clear (a row written before keys were wrapped) is exactly this long.
CLEAR_KEY_BYTES = 32
#: The first byte of a wrapped key: version 1, AES-256-GCM under the key-encryption key.
WRAPPED_V1 = b"\x01"


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


def _wrapping_data(learner_id: UUID) -> bytes:
    return b"ledger-learner-data-key:" + learner_id.bytes


def wrap(kek: bytes, learner_id: UUID, data_key: bytes) -> bytes:
    """A data key as the table stores it: sealed under the key-encryption key."""
    nonce = os.urandom(12)
    return WRAPPED_V1 + nonce + AESGCM(kek).encrypt(nonce, data_key, _wrapping_data(learner_id))


def unwrap(kek: bytes, learner_id: UUID, stored: bytes) -> bytes:
    """The data key ``wrap`` wrapped; ValueError under another KEK or another learner's row."""
    if not stored.startswith(WRAPPED_V1) or len(stored) < 1 + 12 + 16:
        raise ValueError("not a wrapped data key")
    try:
        return AESGCM(kek).decrypt(stored[1:13], stored[13:], _wrapping_data(learner_id))
    except InvalidTag:
        raise ValueError(
            f"the data key of learner {learner_id} does not open with this key-encryption key"
        ) from None


class LearnerDataKeys:
    """The data keys of learners, in the store's ``learner_data_keys`` table, wrapped.

    ``kek`` gives the key-encryption key when it is first needed (commands that never
    touch a learner's data, such as ``ledger verify``, never ask for it).
    """

    def __init__(self, datastore: Any, *, kind: str, kek: Callable[[], bytes]) -> None:
        self._datastore = datastore
        self._postgres = kind == "postgresql"
        schema = getattr(datastore, "schema", "") if self._postgres else ""
        self._table = f"{schema}.{TABLE}" if schema else TABLE
        self._mark = "%s" if self._postgres else "?"
        self._kek = kek

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

    def stored(self, learner_id: UUID) -> bytes | None:
        """A learner's key row as the table holds it (wrapped), for checks and tests."""
        with self._datastore.transaction(commit=False) as cursor:
            cursor.execute(
                f"SELECT data_key FROM {self._table} WHERE learner_id = {self._mark}",  # noqa: S608
                (str(learner_id),),
            )
            row = cursor.fetchone()
        if row is None:
            return None
        return bytes(row["data_key"] if isinstance(row, dict) else row[0])

    def key(self, learner_id: UUID) -> bytes | None:
        """A learner's data key (None once erased, or if never made).

        A key still stored in clear (written before wrapping) is wrapped now.
        """
        stored = self.stored(learner_id)
        if stored is None:
            return None
        if len(stored) == CLEAR_KEY_BYTES:
            self._wrap_clear(learner_id, stored)
            return stored
        try:
            return unwrap(self._kek(), learner_id, stored)
        except ValueError as error:
            # Another key directory's KEK (or a row moved between learners): the key is
            # there but unusable here, which is a configuration fault, not an erasure.
            raise KeyUnavailable(f"{error}: is LEDGER_KEY_DIR the store's key directory?") from None

    def _wrap_clear(self, learner_id: UUID, clear: bytes) -> None:
        """Replace a key stored in clear by its wrapped form (only if still in clear)."""
        with self._datastore.transaction(commit=True) as cursor:
            if not self._postgres:
                cursor.execute("PRAGMA secure_delete = ON")
            cursor.execute(
                f"UPDATE {self._table} SET data_key = {self._mark} "  # noqa: S608
                f"WHERE learner_id = {self._mark} AND data_key = {self._mark}",
                (wrap(self._kek(), learner_id, clear), str(learner_id), clear),
            )

    def wrap_clear_keys(self) -> int:
        """Wrap every key still stored in clear (at start-up); returns how many were.

        The clear copies are then scrubbed as ``destroy`` scrubs a deleted key; copies
        in backups and in PostgreSQL's WAL archive stay until those rotate.
        """
        length = "octet_length" if self._postgres else "length"
        with self._datastore.transaction(commit=False) as cursor:
            cursor.execute(
                f"SELECT learner_id, data_key FROM {self._table} "  # noqa: S608
                f"WHERE {length}(data_key) = {CLEAR_KEY_BYTES}"
            )
            rows = [tuple(r.values()) if isinstance(r, dict) else r for r in cursor.fetchall()]
        clear = [(UUID(str(learner_id)), bytes(stored)) for learner_id, stored in rows]
        for learner_id, key in clear:
            self._wrap_clear(learner_id, key)
        if clear:
            self._scrub()
        return len(clear)

    def any_wrapped(self) -> bool:
        """Whether any stored key is wrapped (so a key-encryption key was made before)."""
        length = "octet_length" if self._postgres else "length"
        with self._datastore.transaction(commit=False) as cursor:
            cursor.execute(
                f"SELECT 1 FROM {self._table} "  # noqa: S608
                f"WHERE {length}(data_key) <> {CLEAR_KEY_BYTES} LIMIT 1"
            )
            return cursor.fetchone() is not None

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
                (str(learner_id), wrap(self._kek(), learner_id, candidate)),
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
        self._scrub()

    def _scrub(self) -> None:
        """Make deleted or replaced key rows unreadable on disk (see ``destroy``)."""
        if self._postgres:
            with self._datastore.get_connection() as conn:
                conn.execute(f"VACUUM FULL {self._table}")
        else:
            # Outside any transaction: a checkpoint cannot run inside one.
            with self._datastore.get_connection(commit=True) as conn:
                conn.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
