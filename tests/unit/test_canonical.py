"""Canonical bytes: deterministic, JCS-compatible on our value space, refusing ambiguity."""

from __future__ import annotations

import enum
import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.eventlog.canonical_json import (
    CanonicalError,
    canonical_bytes,
    dump_lowered,
    format_datetime,
    from_json_value,
    parse_datetime,
    to_json_value,
)

json_scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text()
ascii_keys = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=127), max_size=8)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(ascii_keys, children, max_size=4)
    ),
    max_leaves=20,
)


def reference_jcs(value: object) -> bytes:
    """RFC 8785 for values without floats: sorted keys, no whitespace, minimal escapes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@given(json_values)
def test_canonical_bytes_match_the_jcs_reference(value: object) -> None:
    assert canonical_bytes(value) == reference_jcs(value)


@given(st.dictionaries(ascii_keys, json_scalars, max_size=6))
def test_key_order_of_the_input_does_not_matter(value: dict[str, object]) -> None:
    reordered = dict(reversed(list(value.items())))
    assert canonical_bytes(value) == canonical_bytes(reordered)


def test_floats_are_refused() -> None:
    with pytest.raises(CanonicalError):
        canonical_bytes({"ects": 1.5})


def test_integers_outside_64_bits_are_refused() -> None:
    with pytest.raises(CanonicalError):
        canonical_bytes(2**64)


def test_non_ascii_keys_are_refused() -> None:
    with pytest.raises(CanonicalError):
        canonical_bytes({"é": 1})


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(CanonicalError):
        canonical_bytes(datetime(2026, 1, 1))


def test_datetimes_have_one_fixed_utc_form() -> None:
    amsterdam = timezone(timedelta(hours=1))
    moment = datetime(2026, 3, 1, 13, 0, 0, tzinfo=amsterdam)
    assert format_datetime(moment) == "2026-03-01T12:00:00.000000Z"
    assert parse_datetime("2026-03-01T12:00:00.000000Z") == moment
    with pytest.raises(CanonicalError):
        parse_datetime("2026-03-01T12:00:00Z")


def test_domain_values_lower_to_plain_json() -> None:
    value = {
        "id": UUID("12345678-1234-5678-1234-567812345678"),
        "day": date(2026, 5, 1),
        "ects": Decimal("3.0"),
        "half": Decimal("1.50"),
        "tags": ("a", "b"),
    }
    assert canonical_bytes(value) == (
        b'{"day":"2026-05-01","ects":"3","half":"1.5",'
        b'"id":"12345678-1234-5678-1234-567812345678","tags":["a","b"]}'
    )


@given(st.datetimes(timezones=st.just(UTC)))
def test_datetimes_round_trip(moment: datetime) -> None:
    assert from_json_value(format_datetime(moment), datetime) == moment


def test_values_are_raised_back_by_annotation() -> None:
    uid = "12345678-1234-5678-1234-567812345678"
    assert from_json_value([uid], list[UUID]) == [UUID(uid)]
    assert from_json_value(None, datetime | None) is None
    assert from_json_value("1.5", Decimal) == Decimal("1.5")
    assert from_json_value({"a": uid}, dict[str, UUID]) == {"a": UUID(uid)}


class Colour(enum.StrEnum):
    RED = "red"


class Size(enum.IntEnum):
    LARGE = 3


moments = st.datetimes(
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5))])
) | st.datetimes().map(lambda moment: moment.replace(microsecond=0, tzinfo=UTC))
domain_scalars = (
    json_scalars
    | st.integers(-(2**65), 2**65)
    | st.uuids()
    | moments
    | st.datetimes()  # naive: refused
    | st.dates()
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.floats(allow_nan=False)
    | st.sampled_from([Colour.RED, Size.LARGE])
)
any_keys = ascii_keys | st.text(max_size=3) | st.integers(0, 3)
domain_values = st.recursive(
    domain_scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.lists(children, max_size=3).map(tuple)
        | st.dictionaries(any_keys, children, max_size=4)
    ),
    max_leaves=20,
)


def lowering_walk(value: object) -> bytes | str:
    """What the canonical bytes were before the one-pass encoding: lower, then dump."""
    try:
        return dump_lowered(to_json_value(value))
    except CanonicalError:
        return "refused"


@given(domain_values)
def test_the_one_pass_encoding_gives_the_bytes_of_the_lowering_walk(value: object) -> None:
    """Stored events stay byte for byte what they were: same bytes, same refusals."""
    try:
        encoded: bytes | str = canonical_bytes(value)
    except CanonicalError:
        encoded = "refused"
    assert encoded == lowering_walk(value)


@pytest.mark.parametrize(
    "value",
    [
        {"a": [1, {"b": 1.5}]},
        {"a": (2**63,)},
        {"a": {"b": -(2**63) - 1}},
        {"a": [datetime(2026, 1, 1)]},
        {"a": {"é": 1}},
        {"a": {1: "one"}},
    ],
)
def test_what_is_refused_at_the_top_is_refused_when_nested(value: object) -> None:
    with pytest.raises(CanonicalError):
        canonical_bytes(value)


def test_utc_times_with_and_without_a_fraction_keep_six_digits() -> None:
    assert format_datetime(datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)) == (
        "2026-01-02T03:04:05.000006Z"
    )
    assert format_datetime(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == (
        "2026-01-02T03:04:05.000000Z"
    )
