"""Tamper evidence of the log as a whole (RFC 9162, C2SP signed notes).

Owns the Merkle tree and its proofs, the standalone proof verifier (standard library
only, so auditors can copy it), checkpoints as C2SP signed notes, and the checkpoint
publisher, which is a writer (it records operator-signed checkpoint events).

May import: ``ledger.errors``, ``ledger.domain`` and ``ledger.eventlog``; the publisher
alone (``checkpoint_publisher``, a writer) also reads the Merkle projection's committed
tree and records checkpoint events through the application: the one upward import,
listed as an exception in tests/unit/test_architecture.py.
"""
