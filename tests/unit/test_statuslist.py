"""Tests for ledger.standards.bitstring_status_list against the W3C Bitstring Status List v1.0 text."""

from __future__ import annotations

import base64
import gzip
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.standards.bitstring_status_list import (
    LENIENT,
    MIN_LIST_LENGTH,
    STRICT,
    Base64PaddingError,
    Bitstring,
    DecodeDeviation,
    DecodePolicy,
    InvalidBase64Error,
    InvalidGzipError,
    MissingMultibasePrefixError,
    StandardBase64AlphabetError,
    StatusListDecodeError,
    StatusListDeviationError,
    StatusListIndexError,
    StatusListTooLargeError,
    StatusListTooShortError,
)

# Spec section 2.2, Example 3 ("Example BitstringStatusListCredential"): the
# encodedList of an unrevoked 16 KB list.
SPEC_EXAMPLE_3 = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"


def b64url_nopad(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def stdlib_encode(raw: bytes) -> str:
    """An encodedList built only from the stdlib, independent of the module under test."""
    return "u" + b64url_nopad(gzip.compress(raw, mtime=0))


def stdlib_decode(encoded: str) -> bytes:
    assert encoded.startswith("u")
    payload = encoded[1:]
    return gzip.decompress(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


# --------------------------------------------------------------------------- spec example


def test_spec_example_3_decodes_to_16kb_of_zero_bits() -> None:
    bits = Bitstring.decode(SPEC_EXAMPLE_3)
    assert len(bits) == MIN_LIST_LENGTH == 16 * 1024 * 8
    assert bits.count() == 0
    assert not bits.get(0)
    assert not bits.get(94567)  # the statusListIndex used in spec Examples 1 and 4
    assert not bits.get(MIN_LIST_LENGTH - 1)
    assert bits.deviations == ()


def test_all_zero_list_encodes_to_spec_example_3_byte_for_byte() -> None:
    assert Bitstring().encode() == SPEC_EXAMPLE_3


def test_spec_index_range_is_0_to_131071() -> None:
    # Spec 7.1: "if a bitstring is 131,072 bits in size (16KB), the first index will
    # be 0, and the last index will be 131,071."
    bits = Bitstring()
    bits.set(0, True)
    bits.set(131_071, True)
    with pytest.raises(StatusListIndexError):
        bits.get(131_072)


# --------------------------------------------------------------------------- bit order


@pytest.mark.parametrize(
    ("index", "expected_first_bytes"),
    [
        (0, b"\x80\x00"),  # left-most bit = MSB of byte 0
        (1, b"\x40\x00"),
        (7, b"\x01\x00"),  # LSB of byte 0
        (8, b"\x00\x80"),  # MSB of byte 1
        (15, b"\x00\x01"),
    ],
)
def test_bit_order_matches_hand_computed_bytes(index: int, expected_first_bytes: bytes) -> None:
    bits = Bitstring()
    bits.set(index, True)
    raw = bits.to_bytes()
    assert raw[:2] == expected_first_bytes
    assert raw[2:] == bytes(len(raw) - 2)
    # The published form carries the same bytes: check with an independent decoder...
    assert stdlib_decode(bits.encode()) == raw
    # ...and an independently built encoding reads back with the same bit set.
    expected = bytearray(MIN_LIST_LENGTH // 8)
    expected[:2] = expected_first_bytes
    decoded = Bitstring.decode(stdlib_encode(bytes(expected)))
    assert list(decoded.iter_set()) == [index]


def test_last_index_is_lsb_of_last_byte() -> None:
    bits = Bitstring()
    bits.set(MIN_LIST_LENGTH - 1, True)
    assert bits.to_bytes()[-1] == 0x01


def test_index_0_hand_computed_encoding() -> None:
    # GZIP member assembled by hand: fixed 10-byte header, raw deflate of the bytes,
    # CRC-32 and ISIZE little-endian (RFC 1952 section 2.3).
    raw = b"\x80" + bytes(MIN_LIST_LENGTH // 8 - 1)
    deflater = zlib.compressobj(6, zlib.DEFLATED, -15)
    member = (
        b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"
        + deflater.compress(raw)
        + deflater.flush()
        + zlib.crc32(raw).to_bytes(4, "little")
        + len(raw).to_bytes(4, "little")
    )
    bits = Bitstring()
    bits.set(0, True)
    assert bits.encode() == "u" + b64url_nopad(member)


def test_encoding_header_has_no_mtime_or_filename() -> None:
    bits = Bitstring()
    bits.set(12345, True)
    member = base64.urlsafe_b64decode(bits.encode()[1:] + "==")
    assert member[:4] == b"\x1f\x8b\x08\x00"  # magic, deflate, FLG=0 (no FNAME)
    assert member[4:8] == b"\x00\x00\x00\x00"  # MTIME = 0
    assert "=" not in bits.encode()


# --------------------------------------------------------------------------- properties

indices = st.sets(st.integers(min_value=0, max_value=MIN_LIST_LENGTH - 1), max_size=200)


@settings(max_examples=60, deadline=None)
@given(indices)
def test_roundtrip_is_identity(chosen: set[int]) -> None:
    bits = Bitstring()
    for i in chosen:
        bits.set(i, True)
    decoded = Bitstring.decode(bits.encode())
    assert decoded == bits
    assert set(decoded.iter_set()) == chosen
    assert decoded.count() == len(chosen)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=MIN_LIST_LENGTH - 1), max_size=100))
def test_encoding_is_deterministic_regardless_of_set_order(order: list[int]) -> None:
    a, b = Bitstring(), Bitstring()
    for i in order:
        a.set(i, True)
    for i in sorted(set(order), reverse=True):
        b.set(i, True)
    assert a.encode() == b.encode() == a.encode()


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=MIN_LIST_LENGTH - 1), st.booleans()),
        max_size=100,
    )
)
def test_get_after_set(ops: list[tuple[int, bool]]) -> None:
    bits = Bitstring()
    model: dict[int, bool] = {}
    for i, v in ops:
        bits.set(i, v)
        model[i] = v
        assert bits.get(i) is v
    for i, v in model.items():
        assert bits.get(i) is v
    assert bits.count() == sum(model.values())


# --------------------------------------------------------------------------- bounds


def test_out_of_range_indices_are_typed_errors() -> None:
    bits = Bitstring()
    for bad in (-1, -MIN_LIST_LENGTH, MIN_LIST_LENGTH, 10**12):
        with pytest.raises(StatusListIndexError):
            bits.get(bad)
        with pytest.raises(StatusListIndexError):
            bits.set(bad, True)
    assert issubclass(StatusListIndexError, IndexError)


def test_small_lists_need_explicit_opt_in() -> None:
    with pytest.raises(ValueError, match="herd privacy"):
        Bitstring(1024)
    assert len(Bitstring(1024, allow_small=True)) == 1024
    with pytest.raises(ValueError, match="multiple of 8"):
        Bitstring(MIN_LIST_LENGTH + 3)
    with pytest.raises(ValueError):
        Bitstring(0, allow_small=True)


# --------------------------------------------------------------------------- statusSize


def test_status_size_2_layout_and_roundtrip() -> None:
    bits = Bitstring.for_entries(MIN_LIST_LENGTH, status_size=2)
    assert len(bits) == 2 * MIN_LIST_LENGTH
    bits.set_status(1, 2, 0b10)  # entry 1 = bits 2,3 = "10"
    assert bits.to_bytes()[0] == 0b0010_0000
    bits.set_status(3, 2, 0b11)  # entry 3 = bits 6,7
    assert bits.to_bytes()[0] == 0b0010_0011
    assert [bits.get_status(i, 2) for i in range(5)] == [0, 2, 0, 3, 0]
    decoded = Bitstring.decode(bits.encode(), status_size=2)
    assert decoded.get_status(1, 2) == 2
    assert decoded.get_status(3, 2) == 3
    assert decoded.entry_count(2) == MIN_LIST_LENGTH


@settings(max_examples=60, deadline=None)
@given(
    st.integers(min_value=1, max_value=8).flatmap(
        lambda size: st.tuples(
            st.just(size),
            st.integers(min_value=0, max_value=MIN_LIST_LENGTH - 1),
            st.integers(min_value=0, max_value=(1 << size) - 1),
        )
    )
)
def test_get_status_after_set_status(case: tuple[int, int, int]) -> None:
    size, index, value = case
    bits = Bitstring.for_entries(MIN_LIST_LENGTH, status_size=size)
    bits.set_status(index, size, value)
    assert bits.get_status(index, size) == value
    if size == 1:
        assert bits.get(index) is bool(value)


def test_status_size_validation_and_range() -> None:
    bits = Bitstring()
    with pytest.raises(ValueError):
        bits.get_status(0, 0)
    with pytest.raises(ValueError):
        bits.set_status(0, 2, 4)  # does not fit in 2 bits
    with pytest.raises(StatusListIndexError):
        bits.get_status(MIN_LIST_LENGTH // 2, 2)  # entry would end past the last bit
    assert bits.get_status(MIN_LIST_LENGTH // 2 - 1, 2) == 0


def test_min_entries_counts_entries_not_bits() -> None:
    # Spec 3.2 step 9: bits / statusSize must reach minimumNumberOfEntries, so a
    # 16 KB list is long enough for statusSize 1 but too short for statusSize 2.
    encoded = Bitstring().encode()
    Bitstring.decode(encoded, status_size=1)
    with pytest.raises(StatusListTooShortError):
        Bitstring.decode(encoded, status_size=2)
    ok = Bitstring.decode(encoded, status_size=2, policy=DecodePolicy(min_entries=65_536))
    assert ok.deviations == ()


# --------------------------------------------------------------------------- decode policy


def _padded_variant() -> tuple[Bitstring, str]:
    """A list whose base64 form needs padding, and that form with '=' added."""
    for i in range(64):
        bits = Bitstring()
        bits.set(i * 997, True)
        encoded = bits.encode()
        if len(encoded[1:]) % 4:
            return bits, encoded + "=" * (-len(encoded[1:]) % 4)
    raise AssertionError("no padded variant found")  # pragma: no cover


def _standard_alphabet_variant() -> tuple[Bitstring, str]:
    for i in range(256):
        bits = Bitstring()
        bits.set(i * 331, True)
        encoded = bits.encode()
        if "-" in encoded or "_" in encoded:
            return bits, encoded.replace("-", "+").replace("_", "/")
    raise AssertionError("no variant with url-specific characters found")  # pragma: no cover


def _short_list() -> tuple[Bitstring, str]:
    bits = Bitstring(8 * 1024, allow_small=True)
    bits.set(3, True)
    return bits, bits.encode()


def test_strict_refuses_missing_prefix() -> None:
    with pytest.raises(MissingMultibasePrefixError) as info:
        Bitstring.decode(SPEC_EXAMPLE_3[1:])
    assert info.value.deviation is DecodeDeviation.MISSING_MULTIBASE_PREFIX


def test_strict_refuses_padding() -> None:
    _, padded = _padded_variant()
    with pytest.raises(Base64PaddingError):
        Bitstring.decode(padded, policy=STRICT)


def test_strict_refuses_standard_alphabet() -> None:
    _, std = _standard_alphabet_variant()
    with pytest.raises(StandardBase64AlphabetError):
        Bitstring.decode(std)


def test_strict_refuses_short_list() -> None:
    _, encoded = _short_list()
    with pytest.raises(StatusListTooShortError) as info:
        Bitstring.decode(encoded)
    assert info.value.deviation is DecodeDeviation.SHORT_LIST


@pytest.mark.parametrize(
    ("encoded", "error"),
    [
        ("u" + b64url_nopad(zlib.compress(bytes(16384))), InvalidGzipError),  # zlib, not gzip
        ("u" + b64url_nopad(bytes(16384)), InvalidGzipError),  # raw, uncompressed
        ("u" + b64url_nopad(gzip.compress(bytes(16384), mtime=0)[:-6]), InvalidGzipError),
        ("u" + b64url_nopad(gzip.compress(bytes(16384), mtime=0) + b"junk"), InvalidGzipError),
        ("u", InvalidGzipError),
        ("u!!not base64!!", InvalidBase64Error),
        ("uH4sI AAAA", InvalidBase64Error),
        ("uA", InvalidBase64Error),  # impossible base64 length
        ("uAB", InvalidBase64Error),  # non-zero trailing bits
        ("uH4s-I+AAA", InvalidBase64Error),  # mixed alphabets
        ("uAA===", InvalidBase64Error),
    ],
)
def test_damage_is_refused_under_every_policy(
    encoded: str, error: type[StatusListDecodeError]
) -> None:
    for policy in (STRICT, LENIENT):
        with pytest.raises(error):
            Bitstring.decode(encoded, policy=policy)


def test_corrupt_crc_is_refused() -> None:
    member = bytearray(gzip.compress(bytes(16384), mtime=0))
    member[-8] ^= 0xFF
    with pytest.raises(InvalidGzipError):
        Bitstring.decode("u" + b64url_nopad(bytes(member)), policy=LENIENT)


def test_decompression_bomb_is_bounded() -> None:
    encoded = Bitstring(MIN_LIST_LENGTH * 8).encode()  # 128 KiB uncompressed
    with pytest.raises(StatusListTooLargeError):
        Bitstring.decode(encoded, policy=DecodePolicy(max_decoded_bytes=64 * 1024))
    assert len(Bitstring.decode(encoded)) == MIN_LIST_LENGTH * 8


def test_multi_member_gzip_is_concatenated() -> None:
    # RFC 1952 allows several members; they decompress to the concatenation.
    half = MIN_LIST_LENGTH // 16
    member = gzip.compress(b"\x80" + bytes(half - 1), mtime=0) + gzip.compress(bytes(half), mtime=0)
    bits = Bitstring.decode("u" + b64url_nopad(member))
    assert len(bits) == MIN_LIST_LENGTH
    assert list(bits.iter_set()) == [0]


@pytest.mark.parametrize(
    ("make", "deviation"),
    [
        (lambda: (Bitstring(), SPEC_EXAMPLE_3[1:]), DecodeDeviation.MISSING_MULTIBASE_PREFIX),
        (_padded_variant, DecodeDeviation.BASE64_PADDING),
        (_standard_alphabet_variant, DecodeDeviation.STANDARD_BASE64_ALPHABET),
        (_short_list, DecodeDeviation.SHORT_LIST),
    ],
)
def test_lenient_accepts_and_reports_each_deviation(make, deviation) -> None:  # type: ignore[no-untyped-def]
    expected, encoded = make()
    decoded = Bitstring.decode(encoded, policy=LENIENT)
    assert decoded == expected
    assert decoded.deviations == (deviation,)
    # Tolerating exactly that one deviation is enough; tolerating all others is not.
    only = DecodePolicy(**{f"allow_{_flag(deviation)}": True})
    assert Bitstring.decode(encoded, policy=only).deviations == (deviation,)
    others = DecodePolicy(**{f"allow_{_flag(d)}": d is not deviation for d in DecodeDeviation})
    with pytest.raises(StatusListDeviationError) as info:
        Bitstring.decode(encoded, policy=others)
    assert info.value.deviation is deviation


def _flag(deviation: DecodeDeviation) -> str:
    return {
        DecodeDeviation.MISSING_MULTIBASE_PREFIX: "missing_prefix",
        DecodeDeviation.BASE64_PADDING: "padding",
        DecodeDeviation.STANDARD_BASE64_ALPHABET: "standard_alphabet",
        DecodeDeviation.SHORT_LIST: "short_list",
    }[deviation]


def test_lenient_reports_all_deviations_together() -> None:
    for i in range(512):
        bits = Bitstring(8 * 1024, allow_small=True)
        bits.set(i * 13, True)
        raw_member = base64.b64encode(base64.urlsafe_b64decode(bits.encode()[1:] + "=="))
        text = raw_member.decode()
        if "=" in text and ("+" in text or "/" in text):
            break
    else:  # pragma: no cover
        pytest.fail("no suitable variant")
    decoded = Bitstring.decode(text, policy=LENIENT)
    assert decoded == bits
    assert decoded.deviations == (
        DecodeDeviation.MISSING_MULTIBASE_PREFIX,
        DecodeDeviation.BASE64_PADDING,
        DecodeDeviation.STANDARD_BASE64_ALPHABET,
        DecodeDeviation.SHORT_LIST,
    )
    with pytest.raises(MissingMultibasePrefixError):
        Bitstring.decode(text)
