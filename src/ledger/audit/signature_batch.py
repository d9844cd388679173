"""Ed25519 verification of many signatures at once, straight through libsodium.

``ledger verify`` spends most of its time here, so this calls libsodium's
``crypto_sign_open`` through PyNaCl's compiled binding directly, with one output
buffer reused for the whole batch: the per-call wrapper (argument checks, a
fresh buffer and a copy of the message for every signature) cost about a tenth
of the verification itself. The check is libsodium's own, the same one
``ledger.eventlog.signing_keys.verify_signature`` makes (see docs/decisions.md
for why libsodium and not OpenSSL).
"""

from __future__ import annotations

from collections.abc import Sequence

from nacl._sodium import ffi, lib  # type: ignore[import-not-found]

from ledger.eventlog.signing_keys import SIGNATURE_BYTES

#: One signature to check: the signer's 32 raw public key bytes, the signature, the data.
Item = tuple[bytes, bytes, bytes]


def failed_signatures(items: Sequence[Item]) -> list[int]:
    """The indexes of the items whose signature does not verify (empty: all verify)."""
    failed: list[int] = []
    size = max((len(data) for _, _, data in items), default=0) + SIGNATURE_BYTES
    out = ffi.new("unsigned char[]", size)
    out_length = ffi.new("unsigned long long *")
    sign_open = lib.crypto_sign_open
    for index, (public_key, signature, data) in enumerate(items):
        # crypto_sign_open reads the first 64 bytes as the signature: any other
        # length would borrow bytes of the message, or misread the key.
        if len(signature) != SIGNATURE_BYTES or len(public_key) != 32:
            failed.append(index)
            continue
        signed = signature + data
        if sign_open(out, out_length, signed, len(signed), public_key) != 0:
            failed.append(index)
    return failed
