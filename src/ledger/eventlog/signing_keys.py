"""Signing keys: identifiers, the key store interface and its implementations.

Private keys never enter the event log. The ledger asks a ``KeyStore`` for the
private key of a key id when it must sign; where the key lives (an encrypted PEM
file, an environment variable, a KMS later) is the store's business. Public keys
are registered in the log (see ``domain/keyregistry.py``) so that a verifier always
finds the key that was valid when an event was signed.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from nacl.bindings import crypto_sign, crypto_sign_open
from nacl.exceptions import BadSignatureError

from ledger import base64url
from ledger.errors import ConfigurationError, KeyUnavailable, SignatureInvalid

KEY_ID_PREFIX = "ed25519:"
SIGNATURE_BYTES = 64
#: The secrets kept beside the signing keys (``KeyStore.secret``): the key of keyed
#: learner ids and the key-encryption key of learners' data keys (docs/decisions.md).
SECRET_NAMES = ("learner-ids", "data-keys")
SECRET_BYTES = 32


def raw_public_bytes(public_key: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of an Ed25519 public key (RFC 8032 encoding)."""
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public_key: Ed25519PublicKey) -> str:
    """The key id: a fingerprint, so that a key id can never name two keys."""
    digest = hashlib.sha256(raw_public_bytes(public_key)).hexdigest()
    return KEY_ID_PREFIX + digest[:32]


def encode_public_key(public_key: Ed25519PublicKey) -> str:
    """A public key as it is written into key registration events."""
    return base64url.encode(raw_public_bytes(public_key))


def decode_public_key(text: str) -> Ed25519PublicKey:
    """Inverse of ``encode_public_key``."""
    return Ed25519PublicKey.from_public_bytes(base64url.decode(text))


def verify_signature(public_key: Ed25519PublicKey, *, signature: bytes, data: bytes) -> None:
    """Check an Ed25519 signature; raise ``SignatureInvalid``, never return False.

    libsodium (PyNaCl) checks, not OpenSSL: measured in the same run
    (``scripts/bench_ed25519.py``) it verifies about twice as fast here, and its
    checks are the stricter ones (it also refuses small-order points), so a
    signature it accepts OpenSSL accepts too.
    """
    if len(signature) != SIGNATURE_BYTES:
        # crypto_sign_open reads the first 64 bytes as the signature: a shorter one
        # would borrow bytes of the message.
        raise SignatureInvalid("an Ed25519 signature is 64 bytes")
    try:
        crypto_sign_open(signature + data, public_key.public_bytes_raw())
    except BadSignatureError:
        raise SignatureInvalid("Ed25519 signature does not match the signed bytes") from None


Sign = Callable[[bytes], bytes]

#: Signers by private key object (the key store hands out the same object for a key id).
_signers: dict[int, tuple[Ed25519PrivateKey, Sign]] = {}
_signers_lock = threading.Lock()
_MAX_SIGNERS = 256
_PROBE = b"ledger: libsodium and OpenSSL must sign alike"


def signer_for(private_key: Ed25519PrivateKey) -> Sign:
    """The function that signs with ``private_key``, through libsodium (PyNaCl).

    Measured in one run (``scripts/bench_write.py`` prints it), libsodium signs
    1.5-1.8x faster than ``cryptography`` here and, unlike it, releases the GIL while
    it signs, so the signing threads of a bulk save run in parallel. Keys stay
    ``cryptography`` objects (the key store loads and serialises them); their raw seed
    is handed to libsodium once per key. Ed25519 is deterministic, so both libraries
    give the same 64 bytes for the same key and message: checked on a probe message
    when the signer is made, so a mismatch can never reach the log.
    """
    found = _signers.get(id(private_key))
    if found is not None and found[0] is private_key:
        return found[1]
    secret = private_key.private_bytes_raw() + private_key.public_key().public_bytes_raw()

    def sign(data: bytes) -> bytes:
        return crypto_sign(data, secret)[:SIGNATURE_BYTES]

    if sign(_PROBE) != private_key.sign(_PROBE):
        raise ConfigurationError("libsodium and cryptography disagree on an Ed25519 signature")
    with _signers_lock:
        if len(_signers) >= _MAX_SIGNERS:
            _signers.clear()
        _signers[id(private_key)] = (private_key, sign)
    return sign


class KeyStore(Protocol):
    """Where private signing keys live; the one interface the ledger signs through."""

    def private_key(self, kid: str) -> Ed25519PrivateKey:
        """The private key for a key id, or raise ``KeyUnavailable``."""
        ...

    def add(self, private_key: Ed25519PrivateKey) -> str:
        """Keep a new private key and return its key id."""
        ...

    def secret(self, name: str, *, create: bool = False) -> bytes:
        """A named 32-byte secret kept with the keys, never in the log or the database.

        Raises ``KeyUnavailable`` when it does not exist, unless ``create`` (then a
        fresh one is made, or the one a racing process made first is returned).
        """
        ...


def _check_secret_name(name: str) -> None:
    if name not in SECRET_NAMES:
        raise KeyUnavailable(f"unknown secret {name!r}")


class MemoryKeyStore:
    """Keys held in process memory: for tests and for keys given by environment."""

    def __init__(self, keys: Mapping[str, Ed25519PrivateKey] | None = None) -> None:
        self._keys: dict[str, Ed25519PrivateKey] = dict(keys or {})
        self._secrets: dict[str, bytes] = {}

    def secret(self, name: str, *, create: bool = False) -> bytes:
        _check_secret_name(name)
        if name not in self._secrets:
            if not create:
                raise KeyUnavailable(f"no secret {name!r} in memory")
            self._secrets[name] = os.urandom(SECRET_BYTES)
        return self._secrets[name]

    def private_key(self, kid: str) -> Ed25519PrivateKey:
        try:
            return self._keys[kid]
        except KeyError:
            raise KeyUnavailable(f"no private key for {kid} in memory") from None

    def add(self, private_key: Ed25519PrivateKey) -> str:
        kid = key_id(private_key.public_key())
        self._keys[kid] = private_key
        return kid


class FileKeyStore:
    """PKCS#8 PEM files, one per key, readable by the owner only.

    With a passphrase the files are encrypted (the library's best available
    encryption); without one they are plain and only fit for development, which
    ``Settings`` enforces.
    """

    def __init__(self, directory: Path, *, passphrase: bytes | None = None) -> None:
        self.directory = directory
        self._passphrase = passphrase
        self._cache: dict[str, Ed25519PrivateKey] = {}
        self._secrets: dict[str, bytes] = {}

    def _path(self, kid: str) -> Path:
        if not kid.startswith(KEY_ID_PREFIX) or not kid[len(KEY_ID_PREFIX) :].isalnum():
            raise KeyUnavailable(f"malformed key id {kid!r}")
        return self.directory / (kid[len(KEY_ID_PREFIX) :] + ".pem")

    def private_key(self, kid: str) -> Ed25519PrivateKey:
        cached = self._cache.get(kid)
        if cached is not None:
            return cached
        path = self._path(kid)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise KeyUnavailable(f"no key file for {kid} in {self.directory}") from None
        try:
            key = serialization.load_pem_private_key(data, password=self._passphrase)
        except (TypeError, ValueError) as error:
            raise KeyUnavailable(f"cannot open key file for {kid}: {error}") from None
        if not isinstance(key, Ed25519PrivateKey) or key_id(key.public_key()) != kid:
            raise KeyUnavailable(f"key file for {kid} holds another key")
        self._cache[kid] = key
        return key

    def add(self, private_key: Ed25519PrivateKey) -> str:
        kid = key_id(private_key.public_key())
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(self._passphrase)
            if self._passphrase
            else serialization.NoEncryption()
        )
        pem = private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self._path(kid)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
        self._cache[kid] = private_key
        return kid

    def secret(self, name: str, *, create: bool = False) -> bytes:
        """``<name>.secret`` in the key directory: 32 raw bytes, readable by the owner only.

        Not encrypted under the passphrase: like the key directory as a whole it must be
        kept apart from the database (and backed up with the keys); see docs/decisions.md.
        """
        _check_secret_name(name)
        cached = self._secrets.get(name)
        if cached is not None:
            return cached
        path = self.directory / f"{name}.secret"
        try:
            value = path.read_bytes()
        except FileNotFoundError:
            if not create:
                raise KeyUnavailable(f"no {path.name} in {self.directory}") from None
            value = self._create_secret(path)
        if len(value) != SECRET_BYTES:
            raise KeyUnavailable(f"{path} does not hold a {SECRET_BYTES}-byte secret")
        self._secrets[name] = value
        return value

    def _create_secret(self, path: Path) -> bytes:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        value = os.urandom(SECRET_BYTES)
        partial = path.with_name(f"{path.name}.{os.getpid()}.new")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(value)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            # A hard link appears whole or not at all; a racer that linked first wins.
            os.link(partial, path)
        except FileExistsError:
            value = path.read_bytes()
        finally:
            partial.unlink()
        return value


def load_pem_keys(pem_text: str, *, passphrase: bytes | None = None) -> MemoryKeyStore:
    """Private keys given as concatenated PEM blocks (say, in an environment variable)."""
    store = MemoryKeyStore()
    for block in _PEM_BLOCK.findall(pem_text):
        key = serialization.load_pem_private_key(block.encode(), password=passphrase)
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigurationError("only Ed25519 private keys can sign ledger events")
        store.add(key)
    return store


_PEM_BLOCK = re.compile(r"-----BEGIN [A-Z ]+-----.+?-----END [A-Z ]+-----", re.DOTALL)
