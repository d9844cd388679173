"""Event-sourced, signed, append-only ledger for educational credentials."""
