"""Decentralized identifiers of this ledger's issuers and operator, and their resolution.

Each issuer is ``did:web:<host>:issuers:<issuer id>`` and the operator is
``did:web:<host>``, the host (with ``%3A`` before a port) taken from
``LEDGER_PUBLIC_URL``. Their DID documents list one ``Multikey`` verification
method per key the owner ever had in the key registry, retired keys included, so
that credentials signed before a rotation keep verifying with any standard
verifier. Compromised keys are left out: a standard verifier cannot know from
when a key was compromised, and a proof's ``created`` is written by whoever holds
the key, so every proof by such a key is suspect (re-export signs anew with the
current key).

Resolution (``DidResolver``): ``did:key`` always, offline; this ledger's own
``did:web`` DIDs from the key registry, never over the network; any other
``did:web`` only through a fetcher the caller supplies (see ``ledger.standards.remote_documents``).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.domain.keyregistry import OPERATOR, KeyEntry
from ledger.eventlog.keyring import KeyRing
from ledger.eventlog.signing_keys import KEY_ID_PREFIX, decode_public_key
from ledger.standards.dataintegrity import (
    KeyResolutionError,
    MultibaseError,
    decode_public_key_multibase,
    encode_public_key_multibase,
    resolve_did_key,
)
from ledger.standards.remote_documents import JsonFetcher

DID_WEB_PREFIX = "did:web:"
DID_CONTEXTS = ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"]


def did_web_base(public_url: str) -> str:
    """The operator DID of a base URL: ``https://host:8443/x`` is ``did:web:host%3A8443:x``."""
    parts = urlsplit(public_url)
    if not parts.hostname:
        raise ValueError(f"LEDGER_PUBLIC_URL has no host: {public_url!r}")
    host = quote(parts.netloc, safe="")
    path = [quote(segment, safe="") for segment in parts.path.split("/") if segment]
    return ":".join([DID_WEB_PREFIX + host, *path])


def issuer_did(public_url: str, issuer_id: UUID) -> str:
    """An issuer's DID: path-based did:web under the ledger's host."""
    return f"{did_web_base(public_url)}:issuers:{issuer_id}"


def did_web_document_url(did: str) -> str:
    """Where the did:web method says a DID's document lives (HTTPS, ``/.well-known`` for hosts)."""
    if not did.startswith(DID_WEB_PREFIX):
        raise KeyResolutionError(f"not a did:web: {did!r}")
    segments = [unquote(s) for s in did[len(DID_WEB_PREFIX) :].split(":")]
    if not segments[0] or any(not s or "/" in s for s in segments):
        raise KeyResolutionError(f"malformed did:web {did!r}")
    path = "/".join(segments[1:]) or ".well-known"
    return f"https://{segments[0]}/{path}/did.json"


def method_id(did: str, kid: str) -> str:
    """The verification method id of a registry key in a DID document."""
    return f"{did}#{kid.removeprefix(KEY_ID_PREFIX)}"


def multikey(entry: KeyEntry) -> str:
    """``publicKeyMultibase`` of a registry key."""
    return encode_public_key_multibase(decode_public_key(entry.public_key))


def did_document(did: str, keys: list[KeyEntry]) -> dict[str, Any]:
    """A DID document with a Multikey method per key, compromised keys left out."""
    usable = [k for k in keys if k.compromised_since is None]
    methods = [
        {
            "id": method_id(did, k.kid),
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": multikey(k),
        }
        for k in usable
    ]
    ids = [m["id"] for m in methods]
    return {
        "@context": DID_CONTEXTS,
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": ids,
        "authentication": ids,
    }


@dataclass(frozen=True)
class ResolvedKey:
    """A verification method resolved to a key; ``entry`` is set for this ledger's keys."""

    did: str
    method: str
    public_key: Ed25519PublicKey
    entry: KeyEntry | None = None
    source: str = "did:key"


class DidResolver:
    """Resolves verification methods: did:key, this ledger's did:web, trusted others."""

    def __init__(
        self, *, public_url: str, keyring: KeyRing | None, fetch: JsonFetcher | None = None
    ) -> None:
        """``keyring`` None: a resolver for outsiders, with no DIDs of its own (no store)."""
        self.operator_did = did_web_base(public_url)
        self._keyring = keyring
        self._fetch = fetch

    def owner_of(self, did: str) -> str | None:
        """The key registry owner a DID of this ledger stands for (None if not ours)."""
        if self._keyring is None:
            return None
        if did == self.operator_did:
            return OPERATOR
        prefix = f"{self.operator_did}:issuers:"
        if did.startswith(prefix):
            try:
                return str(UUID(did[len(prefix) :]))
            except ValueError:
                return None
        return None

    def document(self, did: str, *, refresh: bool = True) -> dict[str, Any] | None:
        """This ledger's DID document for ``did`` (None if it names nobody here).

        ``refresh=False``: from the key ring as it is (the caller refreshed it)."""
        owner = self.owner_of(did)
        if owner is None:
            return None
        if self._keyring is None:
            return None
        if refresh:
            self._keyring.refresh()
        registry = self._keyring.registry
        keys = registry.keys_of(owner) if registry is not None else []
        if not keys:
            return None
        return did_document(did, keys)

    def resolve(self, method: str) -> ResolvedKey:
        """The key of a verification method id, or raise ``KeyResolutionError``."""
        did, _, fragment = method.partition("#")
        if did.startswith("did:key:"):
            resolved = resolve_did_key(method)
            return ResolvedKey(did=resolved.did, method=method, public_key=resolved.public_key)
        if not did.startswith(DID_WEB_PREFIX):
            name = did.split(":")[1] if did.startswith("did:") and did.count(":") >= 2 else did
            raise KeyResolutionError(
                f"unsupported DID method {name!r} in {method!r}; supported: did:key, did:web"
            )
        owner = self.owner_of(did)
        if owner is not None:
            return self._resolve_own(did, owner, fragment, method)
        if self._fetch is None:
            raise KeyResolutionError(f"no resolver for other ledgers' did:web ({did})")
        url = did_web_document_url(did)
        try:
            document = self._fetch(url)
        except Exception as error:  # any failure to obtain the document fails resolution
            raise KeyResolutionError(f"cannot resolve {did} ({url}): {error}") from None
        return _method_in(document, did, method)

    def _resolve_own(self, did: str, owner: str, fragment: str, method: str) -> ResolvedKey:
        kid = KEY_ID_PREFIX + fragment
        try:
            entry = self._keyring.entry(kid) if self._keyring is not None else None
            if entry is None:
                raise LookupError(kid)
        except Exception:
            raise KeyResolutionError(f"{method} names no key of this ledger") from None
        if entry.owner != owner:
            raise KeyResolutionError(f"{method}: the key belongs to another owner")
        return ResolvedKey(
            did=did,
            method=method,
            public_key=decode_public_key(entry.public_key),
            entry=entry,
            source="this ledger's key registry",
        )


#: Verification method types whose Ed25519 key we read, and how they carry it.
MULTIBASE_TYPES = ("Multikey", "Ed25519VerificationKey2020")
JWK_TYPES = ("JsonWebKey", "JsonWebKey2020")


def _method_in(document: dict[str, Any], did: str, method: str) -> ResolvedKey:
    """Find an assertion method in a fetched DID document (its id must be the DID).

    DID Core 5.3: a verification relationship lists a method either by reference
    (its id, resolved against ``verificationMethod``) or embedded (the method
    object itself); both are accepted. Keys: ``Multikey`` and
    ``Ed25519VerificationKey2020`` (``publicKeyMultibase``), ``JsonWebKey`` /
    ``JsonWebKey2020`` (an OKP Ed25519 ``publicKeyJwk``); any other type is
    refused by name.
    """
    if document.get("id") != did:
        raise KeyResolutionError(f"the DID document at {did_web_document_url(did)} is not {did}")
    fragment = "#" + method.partition("#")[2]
    wanted = (method, fragment, did + fragment)

    def absolute(value: Any) -> Any:
        return did + value if isinstance(value, str) and value.startswith("#") else value

    assertion = document.get("assertionMethod", [])
    assertion = assertion if isinstance(assertion, list) else [assertion]
    embedded = [m for m in assertion if isinstance(m, dict)]
    referenced = {absolute(m) for m in assertion if isinstance(m, str)}
    for candidate in embedded:
        if absolute(candidate.get("id")) in wanted:
            return _key_of(candidate, did, method)
    for candidate in document.get("verificationMethod", []):
        if not isinstance(candidate, dict) or absolute(candidate.get("id")) not in wanted:
            continue
        if absolute(candidate.get("id")) not in referenced:
            raise KeyResolutionError(f"{method} is not an assertion method of {did}")
        return _key_of(candidate, did, method)
    raise KeyResolutionError(f"{did}'s DID document has no method {method}")


def _key_of(candidate: dict[str, Any], did: str, method: str) -> ResolvedKey:
    kind = candidate.get("type")
    controller = candidate.get("controller")
    if controller is not None and controller != did:
        raise KeyResolutionError(f"{method} is controlled by {controller!r}, not by {did}")
    try:
        if kind in MULTIBASE_TYPES:
            key = decode_public_key_multibase(str(candidate.get("publicKeyMultibase")))
        elif kind in JWK_TYPES:
            key = _jwk_key(candidate.get("publicKeyJwk"), method)
        else:
            supported = ", ".join(MULTIBASE_TYPES + JWK_TYPES)
            raise KeyResolutionError(f"{method} is a {kind!r} method; supported: {supported}")
    except MultibaseError as error:
        raise KeyResolutionError(f"{method}: {error}") from None
    return ResolvedKey(did=did, method=method, public_key=key, source="did:web (fetched)")


def _jwk_key(jwk: Any, method: str) -> Ed25519PublicKey:
    """The Ed25519 key of an OKP JWK (RFC 8037): ``x`` is the base64url public key."""
    if not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise KeyResolutionError(f"{method}: publicKeyJwk is not an OKP Ed25519 key")
    x = jwk.get("x")
    try:
        raw = base64.urlsafe_b64decode(str(x) + "=" * (-len(str(x)) % 4))
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise KeyResolutionError(f"{method}: publicKeyJwk x is not a 32-byte key") from None
