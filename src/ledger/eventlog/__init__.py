"""The signed event log: what is stored, how it is signed, and how it is read back.

Owns canonical JSON bytes, the signed envelope (the "seal" of an event: actor, key id,
chain link, signature), the signing mapper and event store wired into the
``eventsourcing`` application, signing keys and the verifying key ring, and the choice
of persistence module (SQLite or PostgreSQL) with the append-only triggers.

May import: ``ledger.errors``, ``ledger.base64url`` and ``ledger.domain``. Never the
application, the read side, standards, transparency, audit or an entry point.
"""
