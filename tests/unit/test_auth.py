"""Bearer tokens: the provider's tokens are checked fully; dev tokens only in development."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from uuid import uuid4

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from ledger.api.auth import TokenVerifier, mint_dev_token

from ledger.errors import ConfigurationError, Unauthenticated
from ledger.settings import Settings

PROVIDER = "https://connect.test.surfconext.nl"


@pytest.fixture
def provider_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def settings(tmp_path: Path, key: rsa.RSAPrivateKey, environment: str) -> Settings:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": "k1", "use": "sig", "alg": "RS256"})
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [jwk]}))
    return Settings.from_env(
        {
            "LEDGER_STORE": f"sqlite:///{tmp_path / 'l.db'}",
            "LEDGER_ENV": environment,
            "LEDGER_KEY_PASSPHRASE": "secret passphrase",
            "LEDGER_KEY_DIR": str(tmp_path / "keys"),
            "LEDGER_OIDC_ISSUER": PROVIDER,
            "LEDGER_OIDC_JWKS": str(jwks),
            "LEDGER_OIDC_AUDIENCE": "ledger-api",
        }
    )


def provider_token(key: rsa.RSAPrivateKey, **overrides: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": PROVIDER,
        "aud": "ledger-api",
        "sub": "urn:collab:person:uni.example:alice",
        "iat": now,
        "exp": now + 300,
        "ledger_role": "learner",
        **overrides,
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})


def test_provider_tokens_are_accepted(tmp_path: Path, provider_key: rsa.RSAPrivateKey) -> None:
    verifier = TokenVerifier(settings(tmp_path, provider_key, "production"))
    actor = verifier.actor(provider_token(provider_key))
    assert (actor.role, actor.authenticated_by) == ("learner", "oidc")
    issuer = uuid4()
    admin = verifier.actor(
        provider_token(provider_key, ledger_role="administrator", ledger_issuer=str(issuer))
    )
    assert admin.issuer_id == issuer


@pytest.mark.parametrize(
    "overrides",
    [
        {"aud": "someone-else"},
        {"iss": "https://evil.example"},
        {"exp": int(time.time()) - 60},
        {"ledger_role": "operator"},
        {"ledger_role": "emperor"},
        {"ledger_role": "administrator"},
        {"ledger_role": "administrator", "ledger_issuer": "not-a-uuid"},
    ],
)
def test_bad_provider_tokens_are_refused(
    tmp_path: Path, provider_key: rsa.RSAPrivateKey, overrides: dict[str, Any]
) -> None:
    verifier = TokenVerifier(settings(tmp_path, provider_key, "production"))
    with pytest.raises(Unauthenticated):
        verifier.actor(provider_token(provider_key, **overrides))


def test_a_token_signed_by_another_key_is_refused(
    tmp_path: Path, provider_key: rsa.RSAPrivateKey
) -> None:
    verifier = TokenVerifier(settings(tmp_path, provider_key, "production"))
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(Unauthenticated):
        verifier.actor(provider_token(impostor))


def test_production_refuses_dev_tokens(tmp_path: Path, provider_key: rsa.RSAPrivateKey) -> None:
    development = settings(tmp_path, provider_key, "development")
    token = mint_dev_token(development, role="learner", subject="x")
    assert TokenVerifier(development).actor(token).authenticated_by == "dev-token"
    production = settings(tmp_path, provider_key, "production")
    with pytest.raises(ConfigurationError):
        mint_dev_token(production, role="learner", subject="x")
    with pytest.raises(Unauthenticated):
        TokenVerifier(production).actor(token)


def test_production_needs_a_provider(tmp_path: Path) -> None:
    bare = Settings.from_env(
        {
            "LEDGER_STORE": f"sqlite:///{tmp_path / 'l.db'}",
            "LEDGER_ENV": "production",
            "LEDGER_KEY_PASSPHRASE": "p",
        }
    )
    with pytest.raises(ConfigurationError):
        TokenVerifier(bare)
