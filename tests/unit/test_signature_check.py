"""The Ed25519 check (libsodium) agrees with what ``cryptography`` signs, and fails closed."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import SignatureInvalid
from ledger.eventlog.signing_keys import verify_signature

KEY = Ed25519PrivateKey.generate()
OTHER = Ed25519PrivateKey.generate()


@given(data=st.binary(max_size=2048), flip=st.integers(min_value=0))
def test_a_signature_checks_and_any_flipped_bit_fails(data: bytes, flip: int) -> None:
    signature = KEY.sign(data)
    verify_signature(KEY.public_key(), signature=signature, data=data)
    signed = bytearray(signature + data)
    bit = flip % (len(signed) * 8)
    signed[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(SignatureInvalid):
        verify_signature(KEY.public_key(), signature=bytes(signed[:64]), data=bytes(signed[64:]))


def test_another_key_fails() -> None:
    with pytest.raises(SignatureInvalid):
        verify_signature(OTHER.public_key(), signature=KEY.sign(b"event"), data=b"event")


@pytest.mark.parametrize("cut", [1, 8, 63])
def test_a_short_signature_fails_even_when_its_bytes_line_up_with_the_data(cut: int) -> None:
    signature = KEY.sign(b"event")
    # signature + data is the same byte string a valid signature gives.
    short, moved = signature[: 64 - cut], signature[64 - cut :] + b"event"
    with pytest.raises(SignatureInvalid):
        verify_signature(KEY.public_key(), signature=short, data=moved)


def test_a_long_signature_fails() -> None:
    signature = KEY.sign(b"event")
    with pytest.raises(SignatureInvalid):
        verify_signature(KEY.public_key(), signature=signature + b"e", data=b"vent")
