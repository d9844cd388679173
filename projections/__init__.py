"""The read side: projections built from the ledger's notification log, and their queries.

Each projection module (``status``, ``backpack``, ``exemptions``, ``audit_trails``,
``merkle_log``) holds its tables, its event handlers (``@handles`` on stable topics, see
``projection``) and its queries; ``database`` is the SQL helper they share;
``read_models.ReadModels`` gathers the queries into one handle for the API and the CLI.
The runner feeds the projections with the library's tracking, so that a projection
records how far it has read in the same transaction as its own writes.

May import: ``ledger.errors``, ``ledger.domain``, ``ledger.eventlog``,
``ledger.transparency`` (the tree), ``ledger.standards`` (status list encoding),
``ledger.audit`` (the verifier) and ``ledger.application`` (to read). Never HTTP or the
CLI, and it writes no events.
"""
