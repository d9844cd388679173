"""Hostile tokens: whatever an anonymous caller sends, the answer is Unauthenticated.

Each of these once escaped as another exception (a 500): an algorithm in the header
that does not fit the key, a key id naming a key of another type, claims of the
wrong JSON type.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from ledger.api.auth import DEV_ISSUER, TokenVerifier

from ledger.errors import Unauthenticated
from ledger.settings import Settings

PROVIDER = "https://connect.test.surfconext.nl"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def verifier(tmp_path: Path) -> TokenVerifier:
    rsa_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(RSA_KEY.public_key()))
    rsa_jwk.update({"kid": "rsa", "alg": "RS256"})
    ec_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(EC_KEY.public_key()))
    ec_jwk.update({"kid": "ec", "alg": "ES256"})
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [rsa_jwk, ec_jwk]}))
    settings = Settings.from_env(
        {
            "LEDGER_STORE": f"sqlite:///{tmp_path / 'l.db'}",
            "LEDGER_ENV": "development",
            "LEDGER_KEY_DIR": str(tmp_path / "keys"),
            "LEDGER_OIDC_ISSUER": PROVIDER,
            "LEDGER_OIDC_JWKS": str(jwks),
            "LEDGER_OIDC_AUDIENCE": "ledger-api",
        }
    )
    return TokenVerifier(settings)


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": PROVIDER,
        "aud": "ledger-api",
        "sub": "alice",
        "iat": now,
        "exp": now + 300,
        "ledger_role": "learner",
        **overrides,
    }


HOSTILE: dict[str, tuple[Any, str, dict[str, Any], dict[str, Any]]] = {
    # The dev issuer's key is Ed25519: ES256 and RS256 headers must not reach it.
    "es256-header-for-the-ed25519-dev-key": (EC_KEY, "ES256", {}, {"iss": DEV_ISSUER}),
    "rs256-header-for-the-ed25519-dev-key": (RSA_KEY, "RS256", {}, {"iss": DEV_ISSUER}),
    # The kid names the EC key, the token is RS256 (and the other way round).
    "kid-of-an-ec-key-with-rs256": (RSA_KEY, "RS256", {"kid": "ec"}, {}),
    "kid-of-an-rsa-key-with-es256": (EC_KEY, "ES256", {"kid": "rsa"}, {}),
    "hs256-with-the-public-key-as-secret": (b"x" * 32, "HS256", {"kid": "rsa"}, {}),
    "issuer-a-number": (RSA_KEY, "RS256", {"kid": "rsa"}, {"iss": 5}),
    "issuer-a-list": (RSA_KEY, "RS256", {"kid": "rsa"}, {"iss": [PROVIDER]}),
    "issuer-scope-a-number": (RSA_KEY, "RS256", {"kid": "rsa"}, {"ledger_issuer": 5}),
    "issuer-scope-a-list": (RSA_KEY, "RS256", {"kid": "rsa"}, {"ledger_issuer": ["x"]}),
    "issuer-scope-an-object": (RSA_KEY, "RS256", {"kid": "rsa"}, {"ledger_issuer": {"a": 1}}),
    "role-a-list": (RSA_KEY, "RS256", {"kid": "rsa"}, {"ledger_role": ["learner"]}),
    "subject-with-nul": (RSA_KEY, "RS256", {"kid": "rsa"}, {"sub": "al\x00ice"}),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_token_is_unauthenticated_not_an_error(tmp_path: Path, name: str) -> None:
    key, algorithm, headers, overrides = HOSTILE[name]
    # Signed as JWS over hand-made JSON: PyJWT's own encoder refuses some of these claims.
    payload = json.dumps(claims(**overrides)).encode()
    token = jwt.PyJWS().encode(payload, key, algorithm=algorithm, headers=headers)
    with pytest.raises(Unauthenticated):
        verifier(tmp_path).actor(token)


def test_both_provider_key_types_still_verify(tmp_path: Path) -> None:
    check = verifier(tmp_path)
    for key, algorithm, kid in ((RSA_KEY, "RS256", "rsa"), (EC_KEY, "ES256", "ec")):
        token = jwt.encode(claims(), key, algorithm=algorithm, headers={"kid": kid})
        assert check.actor(token).subject == "alice"


def test_an_ed25519_dev_token_still_verifies(tmp_path: Path) -> None:
    from ledger.api.auth import mint_dev_token

    check = verifier(tmp_path)
    token = mint_dev_token(check.settings, role="learner", subject="bob")
    assert check.actor(token).subject == "bob"
    assert isinstance(ed25519.Ed25519PrivateKey.generate(), ed25519.Ed25519PrivateKey)
