"""Configuration: the one entry point, read from ``LEDGER_*`` environment variables.

Defaults are safe for a developer's machine and refused elsewhere: outside
development mode private key files must be encrypted with ``LEDGER_KEY_PASSPHRASE``
and only the OpenID Connect provider's tokens are accepted. An unset ``LEDGER_ENV``
means development only for a local SQLite file; any other store (PostgreSQL) is
production unless ``LEDGER_ENV=development`` says otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.errors import ConfigurationError, KeyUnavailable
from ledger.eventlog.persistence import DEFAULT_STORE, StoreConfig, parse_store_url
from ledger.eventlog.signing_keys import FileKeyStore, KeyStore, MemoryKeyStore, load_pem_keys

ENVIRONMENTS = ("development", "production")


@dataclass(frozen=True)
class Settings:
    """Everything the ledger needs to know about where it runs."""

    store: StoreConfig
    environment: str
    key_dir: Path
    key_passphrase: bytes | None
    signing_keys_pem: str | None
    operator_anchor: str | None
    public_url: str = "http://127.0.0.1:8000"
    project_in_process: bool = True
    oidc_issuer: str | None = None
    oidc_audience: str = "ledger"
    oidc_jwks: str | None = None
    role_claim: str = "ledger_role"
    issuer_claim: str = "ledger_issuer"
    log_origin: str = "127.0.0.1:8000/ledger"
    checkpoint_every: int = 1000
    checkpoint_seconds: float = 60.0
    #: Origins whose did:web documents and status lists the checker may fetch (none by default).
    trusted_origins: tuple[str, ...] = ()
    #: Why the environment is what it is (set explicitly, or the default for the store).
    environment_source: str = "LEDGER_ENV"
    #: Requests per second each client may make to the public routes (0: no limit).
    public_rate: float = 20.0
    #: ``/readyz`` says unready once the read side is behind and has not moved for this long.
    ready_stuck_seconds: float = 30.0
    #: How long a write through the API waits for ``ledger project`` to show it
    #: (read-after-write); written and signed either way.
    read_wait_seconds: float = 5.0
    #: eduID subjects whose provider tokens may carry the operator role (none by default:
    #: only development tokens, in development mode, can act as operator otherwise).
    operator_subjects: tuple[str, ...] = ()

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, store_url: str | None = None
    ) -> Settings:
        """Read the settings; ``store_url`` (a ``--store`` option) wins over ``LEDGER_STORE``."""
        values = os.environ if env is None else env
        store = parse_store_url(store_url or values.get("LEDGER_STORE") or DEFAULT_STORE)
        environment = values.get("LEDGER_ENV") or None
        source = "LEDGER_ENV"
        if environment is None:
            # Development only where nothing can leak: a file on this machine.
            environment = "development" if store.kind == "sqlite" else "production"
            source = f"LEDGER_ENV unset: the default for a {store.kind} store"
        if environment not in ENVIRONMENTS:
            raise ConfigurationError(f"LEDGER_ENV must be one of {', '.join(ENVIRONMENTS)}")
        passphrase = values.get("LEDGER_KEY_PASSPHRASE")
        key_dir = values.get("LEDGER_KEY_DIR")
        in_process = values.get("LEDGER_PROJECT_IN_PROCESS", "auto")
        if in_process not in ("auto", "yes", "no"):
            raise ConfigurationError("LEDGER_PROJECT_IN_PROCESS must be auto, yes or no")
        # Each default is written once, on its field above (``cls.<field>``).
        public_url = values.get("LEDGER_PUBLIC_URL", cls.public_url).rstrip("/")
        return cls(
            store=store,
            environment=environment,
            key_dir=Path(key_dir) if key_dir else _default_key_dir(store),
            key_passphrase=passphrase.encode("utf-8") if passphrase else None,
            signing_keys_pem=values.get("LEDGER_SIGNING_KEYS"),
            operator_anchor=values.get("LEDGER_OPERATOR_KEY_ID") or None,
            public_url=public_url,
            project_in_process=(store.kind == "sqlite")
            if in_process == "auto"
            else in_process == "yes",
            oidc_issuer=values.get("LEDGER_OIDC_ISSUER") or None,
            oidc_audience=values.get("LEDGER_OIDC_AUDIENCE", cls.oidc_audience),
            oidc_jwks=values.get("LEDGER_OIDC_JWKS") or None,
            role_claim=values.get("LEDGER_OIDC_ROLE_CLAIM", cls.role_claim),
            issuer_claim=values.get("LEDGER_OIDC_ISSUER_CLAIM", cls.issuer_claim),
            log_origin=values.get("LEDGER_LOG_ORIGIN") or _default_origin(public_url),
            checkpoint_every=_positive(values, "LEDGER_CHECKPOINT_EVERY", cls.checkpoint_every),
            checkpoint_seconds=_positive(
                values, "LEDGER_CHECKPOINT_SECONDS", int(cls.checkpoint_seconds)
            ),
            trusted_origins=tuple(
                o.strip() for o in values.get("LEDGER_TRUSTED_ORIGINS", "").split(",") if o.strip()
            ),
            environment_source=source,
            public_rate=_rate(values, "LEDGER_PUBLIC_RATE", 20.0),
            ready_stuck_seconds=_rate(values, "LEDGER_READY_STUCK_SECONDS", 30.0) or 30.0,
            read_wait_seconds=_rate(values, "LEDGER_READ_WAIT_SECONDS", 5.0) or 5.0,
            operator_subjects=tuple(
                s.strip()
                for s in values.get("LEDGER_OPERATOR_SUBJECTS", "").split(",")
                if s.strip()
            ),
        )

    @property
    def development(self) -> bool:
        """Development mode: local development tokens are accepted."""
        return self.environment == "development"

    def key_store(self) -> KeyStore:
        """The key store these settings name (production refuses unencrypted key files).

        Checked here rather than when the settings are read: commands that need no
        private key (``ledger verify``, ``ledger check``) run anywhere.
        """
        if self.environment == "production" and not (self.key_passphrase or self.signing_keys_pem):
            raise ConfigurationError(
                "production refuses unencrypted key files: set LEDGER_KEY_PASSPHRASE "
                "or give the keys in LEDGER_SIGNING_KEYS"
            )
        if self.signing_keys_pem:
            return _LayeredKeyStore(
                load_pem_keys(self.signing_keys_pem, passphrase=self.key_passphrase),
                FileKeyStore(self.key_dir, passphrase=self.key_passphrase),
            )
        return FileKeyStore(self.key_dir, passphrase=self.key_passphrase)


def _default_origin(public_url: str) -> str:
    """The checkpoint origin line: the public URL without its scheme, plus ``/ledger``.

    C2SP tlog-checkpoint origins are schema-less URLs that name the log uniquely.
    """
    return public_url.split("://", 1)[-1].rstrip("/") + "/ledger"


def _positive(values: Mapping[str, str], name: str, default: int) -> int:
    text = values.get(name)
    if not text:
        return default
    try:
        number = int(text)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, not {text!r}") from None
    if number < 1:
        raise ConfigurationError(f"{name} must be at least 1")
    return number


def _rate(values: Mapping[str, str], name: str, default: float) -> float:
    text = values.get(name)
    if not text:
        return default
    try:
        number = float(text)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number, not {text!r}") from None
    if not 0 <= number < 1e9:
        raise ConfigurationError(f"{name} must be 0 (no limit) or a positive rate")
    return number


def _default_key_dir(store: StoreConfig) -> Path:
    path = store.sqlite_path
    if path is not None:
        return path.with_name(path.name + ".keys")
    return Path("ledger-keys")


class _LayeredKeyStore:
    """Keys from the environment first, new keys kept in files."""

    def __init__(self, given: MemoryKeyStore, files: FileKeyStore) -> None:
        self._given = given
        self._files = files

    def private_key(self, kid: str) -> Ed25519PrivateKey:
        try:
            return self._given.private_key(kid)
        except KeyUnavailable:
            return self._files.private_key(kid)

    def add(self, private_key: Ed25519PrivateKey) -> str:
        return self._files.add(private_key)

    def secret(self, name: str, *, create: bool = False) -> bytes:
        return self._files.secret(name, create=create)
