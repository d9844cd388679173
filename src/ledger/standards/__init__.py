"""Open standards: what a verifier outside this ledger expects to read.

Owns W3C Data Integrity (``eddsa-rdfc-2022``) with bundled JSON-LD contexts, the
Bitstring Status List encoding, Open Badges 3.0 export, DID documents, status list
credentials, fetching remote documents from trusted origins, and checking a presented
credential.

May import: ``ledger.errors``, ``ledger.base64url``, ``ledger.domain`` and
``ledger.eventlog`` (keys and the key ring). Never the application, the read side or an entry point.
"""
