"""The browser session: an encrypted, authenticated cookie, and CSRF tokens for forms.

The cookie holds the signed-in party (subject, role, issuer scope) and the
sign-in flow's state while it runs. It is sealed with AES-256-GCM under a key
derived from ``LEDGER_SESSION_SECRET`` (or, without it, a key file beside the
signing keys), so a visitor can neither read nor change it. It is ``HttpOnly``,
``SameSite=Lax``, ``Secure`` in production, and it stops working after
``LEDGER_SESSION_HOURS`` (8 by default) whatever the browser does with it.

A pure ASGI middleware puts the session in ``scope["session"]`` (where Starlette
and Authlib look for it) and writes the cookie back only when it changed.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger.errors import ConfigurationError, Forbidden
from ledger.settings import Settings

COOKIE = "ledger_session"
SECRET_FILE = "session-secret"  # noqa: S105 (a file name, not a secret)
ISSUED = "_iat"
CSRF = "csrf"
#: Browsers refuse cookies over 4096 bytes; a session is far smaller, but never trust that.
MAX_COOKIE = 4000


@dataclass(frozen=True)
class PageSettings:
    """The settings of the pages that the core ``Settings`` do not hold."""

    client_id: str | None
    client_secret: str | None
    session_secret: bytes
    session_seconds: int
    secure_cookie: bool

    @classmethod
    def from_env(cls, settings: Settings, env: Mapping[str, str] | None = None) -> PageSettings:
        """Read ``LEDGER_OIDC_CLIENT_ID``/``_SECRET`` and the session's secret and lifetime."""
        values = os.environ if env is None else env
        hours = values.get("LEDGER_SESSION_HOURS", "8")
        try:
            seconds = int(float(hours) * 3600)
        except ValueError:
            raise ConfigurationError(
                f"LEDGER_SESSION_HOURS must be a number, not {hours!r}"
            ) from None
        if not 0 < seconds <= 24 * 3600:
            raise ConfigurationError("LEDGER_SESSION_HOURS must be more than 0 and at most 24")
        secret = values.get("LEDGER_SESSION_SECRET")
        return cls(
            client_id=values.get("LEDGER_OIDC_CLIENT_ID") or None,
            client_secret=values.get("LEDGER_OIDC_CLIENT_SECRET") or None,
            session_secret=secret.encode("utf-8") if secret else _secret_file(settings.key_dir),
            session_seconds=seconds,
            secure_cookie=not settings.development,
        )


def _secret_file(key_dir: Path) -> bytes:
    """A random secret kept beside the signing keys (made on first use, mode 600)."""
    path = key_dir / SECRET_FILE
    if not path.exists():
        key_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            with path.open("xb") as out:  # another worker may make it at the same moment
                out.write(secrets.token_bytes(32))
            path.chmod(0o600)
        except FileExistsError:
            pass
    return path.read_bytes()


def derive_key(secret: bytes, purpose: bytes) -> bytes:
    """A 256-bit key for one purpose (the session, consent codes) from the one secret."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret)


class Sealer:
    """AES-256-GCM over JSON, in URL-safe base64: what the cookie and consent codes carry."""

    def __init__(self, key: bytes, purpose: bytes) -> None:
        self._aead = AESGCM(key)
        self._purpose = purpose

    def seal(self, data: dict[str, Any]) -> str:
        nonce = secrets.token_bytes(12)
        sealed = self._aead.encrypt(nonce, orjson.dumps(data), self._purpose)
        return base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")

    def open(self, text: str) -> dict[str, Any] | None:
        """The sealed data, or None if the text was not sealed by this key for this purpose."""
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            data = orjson.loads(self._aead.decrypt(raw[:12], raw[12:], self._purpose))
        except (binascii.Error, ValueError, InvalidTag, orjson.JSONDecodeError):
            return None
        return data if isinstance(data, dict) else None


class SessionMiddleware:
    """Opens the session cookie into ``scope["session"]`` and seals it back when changed."""

    def __init__(self, app: ASGIApp, *, sealer: Sealer, max_age: int, secure: bool) -> None:
        self.app = app
        self.sealer = sealer
        self.max_age = max_age
        self.flags = "; Path=/; HttpOnly; SameSite=Lax" + ("; Secure" if secure else "")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        session = self._load(HTTPConnection(scope).cookies.get(COOKIE))
        had_cookie = COOKIE in HTTPConnection(scope).cookies
        scope["session"] = session
        before = dict(session)

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                current: dict[str, Any] = scope["session"]
                headers = MutableHeaders(scope=message)
                if current and current != before:
                    current.setdefault(ISSUED, int(time.time()))
                    value = self.sealer.seal(current)
                    if len(value) <= MAX_COOKIE:
                        headers.append(
                            "Set-Cookie", f"{COOKIE}={value}; Max-Age={self.max_age}{self.flags}"
                        )
                elif not current and had_cookie:
                    headers.append("Set-Cookie", f"{COOKIE}=; Max-Age=0{self.flags}")
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _load(self, cookie: str | None) -> dict[str, Any]:
        if not cookie:
            return {}
        data = self.sealer.open(cookie)
        if data is None:
            return {}
        issued = data.get(ISSUED)
        # The lifetime counts from sign-in: a copied cookie stops working on time.
        if not isinstance(issued, int) or time.time() - issued > self.max_age:
            return {}
        return data


def csrf_token(session: dict[str, Any]) -> str:
    """The session's CSRF token, made when a form first needs one."""
    token = session.get(CSRF)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[CSRF] = token
    return token


def check_csrf(session: dict[str, Any], given: str | None) -> None:
    """Refuse a form post whose token is not this session's (a cross-site request)."""
    expected = session.get(CSRF)
    if not isinstance(expected, str) or not given or not hmac.compare_digest(expected, given):
        raise Forbidden("this form has expired or did not come from this site; please try again")
