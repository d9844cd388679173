"""Signed checkpoints in the C2SP ``tlog-checkpoint`` / ``signed-note`` formats.

A checkpoint is the ledger's signed statement "my tree of ``size`` leaves has
root ``root_hash``".  We use the C2SP formats rather than a home-grown one so
that existing transparency-log witnesses and verifiers (Go's
``golang.org/x/mod/sumdb/note``, ``transparency-dev/formats``, ...) can read
and cosign our checkpoints unchanged.

Body (the signed *note text*), every line ending in ``"\\n"``::

    <origin>
    <tree size, decimal, no leading zeros>
    <base64 root hash>
    [extension lines...]

followed by a blank line and one or more signature lines
``"— <key name> <base64(4-byte key ID || signature)>\\n"`` (U+2014 EM DASH,
space).  For Ed25519 (signature type 0x01) the key ID is
``SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4]`` and the
signature covers the note text bytes exactly.

Verifier keys are exchanged as ``<name>+<hex key ID>+<base64(0x01 || key)>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = [
    "ALG_ED25519",
    "Checkpoint",
    "CheckpointError",
    "NoteSignature",
    "VerifierKey",
    "encode_verifier_key",
    "format_body",
    "key_id",
    "parse_signed_note",
    "parse_verifier_key",
    "sign_checkpoint",
    "sign_note",
    "verify_checkpoint",
    "verify_note",
]

#: signed-note signature type identifier byte for Ed25519.
ALG_ED25519 = 0x01

_EM_DASH_PREFIX = "\u2014 "
_HASH_SIZE = 32
_ED25519_SIG_SIZE = 64
_MAX_SIGNATURES = 100  # signed-note: verifiers MUST accept at least 16.


class CheckpointError(ValueError):
    """A checkpoint or signed note is malformed, unsigned, or wrongly signed."""


def _has_space(s: str) -> bool:
    return any(ch.isspace() for ch in s)


def _check_key_name(name: str) -> None:
    if not name or _has_space(name) or "+" in name:
        raise CheckpointError(f"invalid key name {name!r}: must be non-empty, no spaces or '+'")


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise CheckpointError(f"{what} is not valid standard base64") from exc


def _raw_public_key(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(key_name: str, public_key: Ed25519PublicKey) -> bytes:
    """Return the 4-byte signed-note key ID of an Ed25519 key.

    ``SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4]``, as in
    the "Ed25519 signatures" section of C2SP signed-note.  Binding the name
    and algorithm into the ID lets one note carry signatures from several
    keys (e.g. log plus witnesses) without ambiguity.
    """
    _check_key_name(key_name)
    material = key_name.encode("utf-8") + b"\n" + bytes([ALG_ED25519]) + _raw_public_key(public_key)
    return hashlib.sha256(material).digest()[:4]


@dataclass(frozen=True)
class VerifierKey:
    """A named Ed25519 verifier key, as encoded in signed-note verifier strings."""

    name: str
    public_key: Ed25519PublicKey

    @property
    def key_id(self) -> bytes:
        """The 4-byte key ID derived from name and key."""
        return key_id(self.name, self.public_key)


def encode_verifier_key(key_name: str, public_key: Ed25519PublicKey) -> str:
    """Encode ``<name>+<hex key ID>+<base64(0x01 || public key)>``."""
    kid = key_id(key_name, public_key)
    material = base64.b64encode(bytes([ALG_ED25519]) + _raw_public_key(public_key))
    return f"{key_name}+{kid.hex()}+{material.decode('ascii')}"


def parse_verifier_key(text: str) -> VerifierKey:
    """Parse a verifier key string, checking that its key ID matches its key.

    The base64 part may itself contain ``+``, so only the first two ``+``
    are separators.
    """
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise CheckpointError("verifier key must have the form name+keyid+base64key")
    name, hex_id, b64 = parts
    _check_key_name(name)
    if len(hex_id) != 8 or hex_id != hex_id.lower():
        raise CheckpointError("verifier key ID must be 8 lowercase hex digits")
    try:
        claimed_id = bytes.fromhex(hex_id)
    except ValueError as exc:
        raise CheckpointError("verifier key ID is not hex") from exc
    material = _b64decode(b64, "verifier key material")
    if len(material) != 1 + _HASH_SIZE or material[0] != ALG_ED25519:
        raise CheckpointError("verifier key is not an Ed25519 (type 0x01) key")
    try:
        public_key = Ed25519PublicKey.from_public_bytes(material[1:])
    except ValueError as exc:
        raise CheckpointError("verifier key is not a valid Ed25519 public key") from exc
    if key_id(name, public_key) != claimed_id:
        raise CheckpointError("verifier key ID does not match the key name and key")
    return VerifierKey(name=name, public_key=public_key)


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: origin (log identity), tree size, root hash, extension lines.

    Extension lines are opaque to the C2SP format; the ledger uses one of
    the form ``"time <RFC 3339 UTC>"`` to date its checkpoints.  They are
    signed along with the rest of the body.
    """

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin:
            raise CheckpointError("origin must be a non-empty single line")
        if self.size < 0:
            raise CheckpointError("tree size must be non-negative")
        if len(self.root_hash) != _HASH_SIZE:
            raise CheckpointError(f"root hash must be {_HASH_SIZE} bytes")
        for line in self.extensions:
            if not line or "\n" in line:
                raise CheckpointError("extension lines must be non-empty single lines")
        for text in (self.origin, *self.extensions):
            if any(ord(ch) < 0x20 for ch in text):
                raise CheckpointError("checkpoint lines must not contain control characters")

    def format_body(self) -> str:
        """Return the note text (the exact string that gets signed)."""
        return format_body(self)


def format_body(checkpoint: Checkpoint) -> str:
    """Serialise *checkpoint* to its C2SP note text, each line ending in ``\\n``."""
    lines = [
        checkpoint.origin,
        str(checkpoint.size),
        base64.b64encode(checkpoint.root_hash).decode("ascii"),
        *checkpoint.extensions,
    ]
    return "".join(line + "\n" for line in lines)


@dataclass(frozen=True)
class NoteSignature:
    """One signature line of a signed note: key name, 4-byte key ID, raw signature."""

    key_name: str
    key_id: bytes
    signature: bytes


def sign_note(text: str, *, key_name: str, private_key: Ed25519PrivateKey) -> str:
    """Sign arbitrary note *text* (must end in a newline); return the signed note.

    Generic signed-note signing, used by :func:`sign_checkpoint`; exposed so
    the wire format can be checked against other implementations' vectors.
    """
    if not text.endswith("\n"):
        raise CheckpointError("note text must end with a newline")
    if any(ord(ch) < 0x20 and ch != "\n" for ch in text):
        raise CheckpointError("note text contains control characters other than newline")
    kid = key_id(key_name, private_key.public_key())
    signature = private_key.sign(text.encode("utf-8"))
    blob = base64.b64encode(kid + signature).decode("ascii")
    return f"{text}\n{_EM_DASH_PREFIX}{key_name} {blob}\n"


def sign_checkpoint(
    checkpoint: Checkpoint, *, key_name: str, private_key: Ed25519PrivateKey
) -> str:
    """Return the complete signed note (body, blank line, one signature line)."""
    return sign_note(checkpoint.format_body(), key_name=key_name, private_key=private_key)


def _split_note(text: str) -> tuple[str, list[NoteSignature]]:
    """Split a signed note into its text and parsed signature lines."""
    if any(ord(ch) < 0x20 and ch != "\n" for ch in text):
        raise CheckpointError("note contains control characters other than newline")
    if not text.endswith("\n"):
        raise CheckpointError("note must end with a newline")
    # The text is separated from the signatures by the *last* blank line.
    sep = text.rfind("\n\n")
    if sep < 0:
        raise CheckpointError("note has no blank line before its signatures")
    body = text[: sep + 1]
    sig_lines = text[sep + 2 : -1].split("\n")
    if sig_lines == [""]:
        raise CheckpointError("note has no signature lines")
    if len(sig_lines) > _MAX_SIGNATURES:
        raise CheckpointError("note has too many signatures")
    signatures: list[NoteSignature] = []
    for line in sig_lines:
        if not line.startswith(_EM_DASH_PREFIX):
            raise CheckpointError("signature line must start with an em dash and a space")
        name, sp, blob = line[len(_EM_DASH_PREFIX) :].partition(" ")
        if not sp:
            raise CheckpointError("signature line must be '— <name> <base64>'")
        _check_key_name(name)
        raw = _b64decode(blob, "signature")
        if len(raw) < 5:
            raise CheckpointError("signature is too short to hold a key ID")
        signatures.append(NoteSignature(key_name=name, key_id=raw[:4], signature=raw[4:]))
    return body, signatures


def _parse_body(body: str) -> Checkpoint:
    lines = body.split("\n")
    # body ends with "\n", so the final element is the empty string.
    lines = lines[:-1]
    if len(lines) < 3:
        raise CheckpointError("checkpoint needs origin, size and root hash lines")
    origin, size_text, root_text, *extensions = lines
    if not size_text.isascii() or not size_text.isdigit():
        raise CheckpointError("tree size must be an ASCII decimal number")
    if len(size_text) > 1 and size_text.startswith("0"):
        raise CheckpointError("tree size must not have leading zeros")
    root = _b64decode(root_text, "root hash")
    return Checkpoint(
        origin=origin, size=int(size_text), root_hash=root, extensions=tuple(extensions)
    )


def parse_signed_note(text: str) -> tuple[Checkpoint, list[NoteSignature]]:
    """Parse a signed checkpoint WITHOUT verifying any signature.

    The C2SP spec says note text must be ignored until a trusted signature
    has been verified; use :func:`verify_checkpoint` for anything that acts
    on the result.  This function exists for inspection and tooling.
    """
    body, signatures = _split_note(text)
    return _parse_body(body), signatures


def verify_note(text: str, *, key_name: str, public_key: Ed25519PublicKey) -> str:
    """Verify a signed note against one trusted Ed25519 key; return the note text.

    Following signed-note, signatures by other keys (witnesses, rotated
    keys) are ignored; every signature whose name *and* key ID match the
    trusted key must verify, and at least one must be present.  Raises
    :class:`CheckpointError` on any failure.
    """
    body, signatures = _split_note(text)
    expected_id = key_id(key_name, public_key)
    matching = [s for s in signatures if s.key_name == key_name and s.key_id == expected_id]
    if not matching:
        raise CheckpointError(f"note carries no signature by the trusted key {key_name!r}")
    body_bytes = body.encode("utf-8")
    for sig in matching:
        if len(sig.signature) != _ED25519_SIG_SIZE:
            raise CheckpointError("Ed25519 signature has the wrong length")
        try:
            public_key.verify(sig.signature, body_bytes)
        except InvalidSignature as exc:
            raise CheckpointError(f"signature by {key_name!r} does not verify") from exc
    return body


def verify_checkpoint(text: str, *, key_name: str, public_key: Ed25519PublicKey) -> Checkpoint:
    """Verify a signed checkpoint against the trusted log key and parse it.

    The body is parsed only after the signature has verified, as signed-note
    requires.  Raises :class:`CheckpointError` on any failure.
    """
    return _parse_body(verify_note(text, key_name=key_name, public_key=public_key))
