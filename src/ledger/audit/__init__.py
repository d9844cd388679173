"""The auditor's tools: replay and check the whole log, bundles, time travel.

Owns the whole-log verifier and its report, the sources it reads (a live store or an
exported bundle), audit bundles, and the state of a record as it was at an instant or
log position.

May import: ``ledger.errors``, ``ledger.domain``, ``ledger.eventlog``,
``ledger.transparency`` (tree and notes), ``ledger.standards`` and
``ledger.application``. Never the read side or an entry point.
"""
