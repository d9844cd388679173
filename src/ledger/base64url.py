"""Base64url without padding (RFC 4648 section 5): the one codec for binary values in text.

Signatures and keys in the signed log, sealed personal data, and the status lists'
``encodedList`` all use it. Decoding is strict: no padding, no foreign alphabet, and
no unused trailing bits, so that exactly one text decodes to given bytes (a changed
character can never decode to the same bytes). Imports nothing of the ledger.
"""

from __future__ import annotations

import base64
import binascii
import re

_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")


def encode(data: bytes) -> str:
    """The unpadded base64url text of ``data``."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def decode(text: str) -> bytes:
    """Inverse of ``encode``; raises ``ValueError`` for any other text."""
    if not _ALPHABET.fullmatch(text):
        raise ValueError("not unpadded base64url (characters outside its alphabet)")
    if len(text) % 4 == 1:
        raise ValueError(f"impossible base64url length {len(text)}")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as error:  # the checks above leave nothing for it to refuse
        raise ValueError(str(error)) from None
    if encode(data) != text:
        raise ValueError("not canonical base64url (non-zero trailing bits)")
    return data
