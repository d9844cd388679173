"""The Ed25519 check (libsodium) agrees with what ``cryptography`` signs, and fails closed."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import SignatureInvalid
from ledger.eventlog.signing_keys import signer_for, verify_signature

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


@given(data=st.binary(max_size=2048))
def test_events_are_signed_with_the_bytes_cryptography_would_sign(data: bytes) -> None:
    """Signing goes through libsodium; the signatures are the same 64 bytes (Ed25519 is
    deterministic), so logs written before and after verify alike."""
    assert signer_for(KEY)(data) == KEY.sign(data)
    assert signer_for(OTHER)(data) == OTHER.sign(data)


def test_a_key_gets_its_own_signer_each_time_it_is_asked() -> None:
    assert signer_for(KEY) is signer_for(KEY)
    assert signer_for(KEY)(b"event") != signer_for(OTHER)(b"event")
