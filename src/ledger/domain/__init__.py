"""The domain model: one module per aggregate, holding the rules and nothing else.

May import: ``ledger.errors`` and the standard library and ``eventsourcing`` only; no
envelope, keys, canonical bytes, cryptography, persistence or HTTP.

``load_all`` imports every aggregate module, which registers their stable event
topics; a process that only reads stored events (a verification worker) calls it
before it resolves a topic.
"""

from __future__ import annotations

import importlib

AGGREGATE_MODULES = (
    "achievement",
    "log_checkpoints",
    "credential",
    "exemption",
    "issuance",
    "issuer",
    "keyregistry",
    "learner",
    "policy",
)


def load_all() -> None:
    """Import every aggregate module so that all event topics resolve."""
    for name in AGGREGATE_MODULES:
        importlib.import_module(f"{__name__}.{name}")
