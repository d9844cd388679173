"""Bearer tokens: JWTs from the configured OpenID Connect provider, or dev tokens.

Production accepts only tokens of ``LEDGER_OIDC_ISSUER`` signed by a key of its JWKS
(``LEDGER_OIDC_JWKS``: a URL or a file), for audience ``LEDGER_OIDC_AUDIENCE``, not
expired; the role and the issuer scope come from configured claims. Development mode
also accepts tokens minted by ``ledger token`` with a local Ed25519 key, and only
there: production never loads that key.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import Any, cast
from uuid import UUID

import jwt
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.application.actor import ROLES, Actor, Role
from ledger.application.authorization import PRIVILEGED
from ledger.errors import ConfigurationError, Unauthenticated
from ledger.settings import Settings

DEV_ISSUER = "ledger-dev"
#: How long a verified token is taken on trust (never past its own ``exp``): a key
#: withdrawn from the provider's JWKS stops working within this time.
VERIFIED_TTL_SECONDS = 60.0
VERIFIED_MAX_ENTRIES = 10_000
DEV_KEY_FILE = "dev-token-key.pem"
ALGORITHMS = ["RS256", "ES256", "EdDSA"]
#: A subject becomes the actor of signed events: printable, bounded.
PRINTABLE_SUBJECT = re.compile(r"[^\x00-\x1f\x7f]{1,500}")


def _dev_key(settings: Settings) -> Ed25519PrivateKey:
    path = settings.key_dir / DEV_KEY_FILE
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigurationError(f"{path} is not an Ed25519 key")
        return key
    key = Ed25519PrivateKey.generate()
    settings.key_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)
    return key


def mint_dev_token(
    settings: Settings, *, role: str, subject: str, issuer_id: UUID | None = None, ttl: int = 3600
) -> str:
    """A development token (refused outside development mode)."""
    if not settings.development:
        raise ConfigurationError("development tokens exist only with LEDGER_ENV=development")
    if role not in ROLES:
        raise ConfigurationError(f"role must be one of {', '.join(ROLES)}")
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": DEV_ISSUER,
        "aud": settings.oidc_audience,
        "sub": subject,
        "iat": now,
        "exp": now + ttl,
        settings.role_claim: role,
    }
    if issuer_id is not None:
        claims[settings.issuer_claim] = str(issuer_id)
    return jwt.encode(claims, _dev_key(settings), algorithm="EdDSA")


class TokenVerifier:
    """Turns a bearer token into an ``Actor``, or raises ``Unauthenticated``.

    A token that passed every check is remembered, keyed by the whole token (its
    signature included), until its ``exp`` or for ``VERIFIED_TTL_SECONDS``, whichever
    comes first: a caller sends the same token many times, and the signature check
    was most of an authenticated status check's CPU. A token that failed is never
    remembered, so it is checked in full each time.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._verified: dict[str, tuple[Actor, float]] = {}
        self._verified_lock = threading.Lock()  # tokens may be checked in the thread pool
        self._dev_public: Ed25519PublicKey | None = (
            _dev_key(settings).public_key() if settings.development else None
        )
        self._jwks: jwt.PyJWKSet | None = None
        self._jwks_client: jwt.PyJWKClient | None = None
        source = settings.oidc_jwks
        if source and settings.oidc_issuer:
            if source.startswith(("https://", "http://")):
                self._jwks_client = jwt.PyJWKClient(source, cache_keys=True, lifespan=300)
            else:
                self._jwks = jwt.PyJWKSet.from_dict(orjson.loads(Path(source).read_bytes()))
        elif not settings.development:
            raise ConfigurationError("production needs LEDGER_OIDC_ISSUER and LEDGER_OIDC_JWKS")

    @property
    def may_block(self) -> bool:
        """Whether verifying a token may wait on the network (keys fetched from a URL)."""
        return self._jwks_client is not None

    def remembered(self, token: str) -> Actor | None:
        """The actor of a token that passed every check and is still trusted, without
        checking it again (None: ``actor`` must check it; it may block, ``may_block``)."""
        known = self._verified.get(token)
        if known is not None and time.time() < known[1]:
            return known[0]
        return None

    def actor(self, token: str) -> Actor:
        """Validate signature, issuer, audience and expiry; read role and issuer scope."""
        now = time.time()
        known = self._verified.get(token)
        if known is not None:
            if now < known[1]:
                return known[0]
            self._verified.pop(token, None)
        actor, expires = self._verify(token)
        with self._verified_lock:
            if len(self._verified) >= VERIFIED_MAX_ENTRIES:
                self._verified.pop(next(iter(self._verified)), None)  # the oldest entry
            self._verified[token] = (actor, min(expires, now + VERIFIED_TTL_SECONDS))
        return actor

    def _verify(self, token: str) -> tuple[Actor, float]:
        """Every check of ``actor``, and the token's expiry."""
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise Unauthenticated(f"malformed token: {error}") from None
        issuer = unverified.get("iss")
        if not isinstance(issuer, str):
            raise Unauthenticated("the token's issuer is not a string")
        key: Any
        if issuer == DEV_ISSUER and self._dev_public is not None:
            key, algorithm, authenticated_by = self._dev_public, "EdDSA", "dev-token"
        elif self.settings.oidc_issuer and issuer == self.settings.oidc_issuer:
            key, algorithm = self._oidc_key(token, header)
            authenticated_by = "oidc"
        else:
            raise Unauthenticated("token from an issuer this ledger does not trust")
        if header.get("alg") != algorithm:
            # The algorithm follows from the key, never from the token: a header naming
            # another algorithm than the key's type is refused before the key is used.
            raise Unauthenticated(f"the token's algorithm does not match its key ({algorithm})")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.settings.oidc_audience,
                issuer=issuer,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as error:
            raise Unauthenticated(f"invalid token: {error}") from None
        role = claims.get(self.settings.role_claim)
        if (
            not isinstance(role, str)
            or role not in ROLES
            or (role in PRIVILEGED and role != "operator")
        ):
            raise Unauthenticated("the token carries no usable role")
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject or not PRINTABLE_SUBJECT.fullmatch(subject):
            raise Unauthenticated("the token's subject is not a printable string")
        if role == "operator" and not self._may_operate(subject, authenticated_by):
            raise Unauthenticated("the token's subject is not one of this ledger's operators")
        scope = claims.get(self.settings.issuer_claim)
        if scope is not None and not isinstance(scope, str):
            raise Unauthenticated("the token's issuer scope is not an issuer id")
        try:
            issuer_id = UUID(scope) if scope else None
        except ValueError:
            raise Unauthenticated("the token's issuer scope is not an issuer id") from None
        if role == "administrator" and issuer_id is None:
            raise Unauthenticated("an administrator token must name its issuer")
        actor = Actor(
            subject=subject,
            role=cast(Role, role),  # one of ROLES, checked above
            authenticated_by=authenticated_by,
            issuer_id=issuer_id,
        )
        return actor, float(claims["exp"])

    def _may_operate(self, subject: str, authenticated_by: str) -> bool:
        """The operator role needs a subject listed in ``LEDGER_OPERATOR_SUBJECTS``;
        a development token (development mode only) may also carry it."""
        return subject in self.settings.operator_subjects or authenticated_by == "dev-token"

    def _oidc_key(self, token: str, header: dict[str, Any]) -> tuple[Any, str]:
        """The provider's key the token names, and the one algorithm that key may verify."""
        jwk: jwt.PyJWK
        try:
            if self._jwks_client is not None:
                jwk = self._jwks_client.get_signing_key_from_jwt(token)
            elif self._jwks is not None:
                kid = header.get("kid")
                if not isinstance(kid, str):
                    raise Unauthenticated("the token names no provider key")
                jwk = self._jwks[kid]
            else:
                raise Unauthenticated("no OpenID Connect provider is configured")
        except (jwt.PyJWTError, KeyError) as error:
            raise Unauthenticated(f"no provider key for this token: {error}") from None
        algorithm = jwk.algorithm_name
        if algorithm not in ALGORITHMS:
            raise Unauthenticated(f"the provider key's algorithm {algorithm} is not accepted")
        return jwk.key, algorithm
