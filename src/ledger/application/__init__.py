"""The application service: the ``Ledger`` commands and what they need around them.

Owns the ``Ledger`` (load, decide, save signed), the acting actor of a command,
authorization of who may do what, learners' personal data encryption (privacy), and
the publishing of signed standard exports.

May import: ``ledger.errors``, ``ledger.base64url``, ``ledger.domain``, ``ledger.eventlog``,
``ledger.standards`` and ``ledger.settings``. Knows no HTTP, no read side and no CLI.
"""
