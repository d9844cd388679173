"""base58btc, multibase, Multikey and did:key for Ed25519.

Implemented here (it is small) rather than pulled in as a dependency, so the
exact byte handling behind every key identifier is visible and tested.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from .errors import KeyResolutionError, MultibaseError

BASE58BTC_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(BASE58BTC_ALPHABET)}

#: multibase prefix for base58btc
MULTIBASE_BASE58BTC = "z"
#: multicodec ``ed25519-pub`` (0xed) as unsigned varint
ED25519_PUB_MULTICODEC = b"\xed\x01"
#: multicodec ``ed25519-priv`` (0x1300) as unsigned varint
ED25519_PRIV_MULTICODEC = b"\x80\x26"

DID_KEY_PREFIX = "did:key:"
ED25519_KEY_LENGTH = 32


def base58btc_encode(data: bytes) -> str:
    """Encode bytes as base58 (Bitcoin alphabet); leading zero bytes become '1'."""
    zeros = len(data) - len(data.lstrip(b"\0"))
    num = int.from_bytes(data, "big")
    out: list[str] = []
    while num:
        num, rem = divmod(num, 58)
        out.append(BASE58BTC_ALPHABET[rem])
    return "1" * zeros + "".join(reversed(out))


def base58btc_decode(text: str) -> bytes:
    """Decode base58 (Bitcoin alphabet); raises MultibaseError on any bad character."""
    num = 0
    for ch in text:
        try:
            num = num * 58 + _B58_INDEX[ch]
        except KeyError:
            raise MultibaseError(f"invalid base58btc character {ch!r}") from None
    zeros = len(text) - len(text.lstrip("1"))
    body = num.to_bytes((num.bit_length() + 7) // 8, "big") if num else b""
    return b"\0" * zeros + body


def multibase_encode(data: bytes) -> str:
    """Multibase base58btc: 'z' + base58btc(data)."""
    return MULTIBASE_BASE58BTC + base58btc_encode(data)


def multibase_decode(value: str) -> bytes:
    """Decode a multibase base58btc string; other multibase encodings are refused."""
    if not isinstance(value, str) or not value.startswith(MULTIBASE_BASE58BTC):
        raise MultibaseError("expected a multibase base58btc value starting with 'z'")
    if len(value) == 1:
        raise MultibaseError("empty multibase value")
    return base58btc_decode(value[1:])


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def encode_public_key_multibase(key: Ed25519PublicKey) -> str:
    """Multikey ``publicKeyMultibase`` for Ed25519 (0xed01 prefix, base58btc)."""
    return multibase_encode(ED25519_PUB_MULTICODEC + _raw_public(key))


def decode_public_key_multibase(value: str) -> Ed25519PublicKey:
    """Parse an Ed25519 Multikey ``publicKeyMultibase`` value."""
    raw = multibase_decode(value)
    if not raw.startswith(ED25519_PUB_MULTICODEC):
        raise MultibaseError("not an Ed25519 public key multikey (missing 0xed01 prefix)")
    key = raw[len(ED25519_PUB_MULTICODEC) :]
    if len(key) != ED25519_KEY_LENGTH:
        raise MultibaseError(f"Ed25519 public key must be 32 bytes, got {len(key)}")
    return Ed25519PublicKey.from_public_bytes(key)


def encode_secret_key_multibase(key: Ed25519PrivateKey) -> str:
    """Multikey ``secretKeyMultibase`` for Ed25519 (0x8026 prefix + 32-byte seed)."""
    seed = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return multibase_encode(ED25519_PRIV_MULTICODEC + seed)


def decode_secret_key_multibase(value: str) -> Ed25519PrivateKey:
    """Parse an Ed25519 Multikey ``secretKeyMultibase`` value."""
    raw = multibase_decode(value)
    if not raw.startswith(ED25519_PRIV_MULTICODEC):
        raise MultibaseError("not an Ed25519 secret key multikey (missing 0x8026 prefix)")
    seed = raw[len(ED25519_PRIV_MULTICODEC) :]
    if len(seed) != ED25519_KEY_LENGTH:
        raise MultibaseError(f"Ed25519 secret key must be 32 bytes, got {len(seed)}")
    return Ed25519PrivateKey.from_private_bytes(seed)


def did_key_from_public_key(key: Ed25519PublicKey) -> str:
    """``did:key:z6Mk...`` for an Ed25519 public key."""
    return DID_KEY_PREFIX + encode_public_key_multibase(key)


def did_key_verification_method(key: Ed25519PublicKey) -> str:
    """Verification method id ``did:key:z6Mk...#z6Mk...`` for an Ed25519 public key."""
    fingerprint = encode_public_key_multibase(key)
    return f"{DID_KEY_PREFIX}{fingerprint}#{fingerprint}"


@dataclass(frozen=True)
class ResolvedDidKey:
    """A locally resolved Ed25519 did:key (no network involved)."""

    did: str
    verification_method: str
    public_key_multibase: str
    public_key: Ed25519PublicKey

    def did_document(self) -> dict[str, Any]:
        """The DID document the did:key method defines, using a Multikey method."""
        return {
            "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
            "id": self.did,
            "verificationMethod": [
                {
                    "id": self.verification_method,
                    "type": "Multikey",
                    "controller": self.did,
                    "publicKeyMultibase": self.public_key_multibase,
                }
            ],
            "authentication": [self.verification_method],
            "assertionMethod": [self.verification_method],
            "capabilityInvocation": [self.verification_method],
            "capabilityDelegation": [self.verification_method],
        }


def resolve_did_key(did_or_vm: str) -> ResolvedDidKey:
    """Resolve an Ed25519 ``did:key`` DID or verification method id, offline.

    A fragment, if present, must equal the key fingerprint: did:key defines no
    other verification methods, so anything else is a forged reference.
    """
    if not did_or_vm.startswith(DID_KEY_PREFIX):
        raise KeyResolutionError(f"not a did:key: {did_or_vm!r}")
    did, _, fragment = did_or_vm.partition("#")
    fingerprint = did[len(DID_KEY_PREFIX) :]
    try:
        key = decode_public_key_multibase(fingerprint)
    except MultibaseError as exc:
        raise KeyResolutionError(f"unsupported or malformed did:key {did!r}: {exc}") from exc
    if fragment and fragment != fingerprint:
        raise KeyResolutionError(f"did:key fragment {fragment!r} does not match the key")
    return ResolvedDidKey(
        did=did,
        verification_method=f"{did}#{fingerprint}",
        public_key_multibase=fingerprint,
        public_key=key,
    )


#: Pluggable resolver for non-did:key methods (e.g. did:web): vm id -> public key.
VerificationMethodResolver = Callable[[str], Ed25519PublicKey]


def resolve_verification_method(
    vm: str, *, resolver: VerificationMethodResolver | None = None
) -> Ed25519PublicKey:
    """Resolve a verification method id to an Ed25519 public key.

    did:key is resolved locally; anything else goes to ``resolver`` (so did:web
    can be plugged in later). Without a resolver, other methods are refused.
    """
    if vm.startswith(DID_KEY_PREFIX):
        return resolve_did_key(vm).public_key
    if resolver is None:
        raise KeyResolutionError(f"no resolver configured for verification method {vm!r}")
    try:
        key = resolver(vm)
    except KeyResolutionError:
        raise
    except Exception as exc:
        raise KeyResolutionError(f"resolver failed for {vm!r}: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise KeyResolutionError(f"resolver returned no Ed25519 public key for {vm!r}")
    return key
