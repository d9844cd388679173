"""Canonical bytes: the one deterministic JSON encoding that is hashed and signed.

The format is written down in ``docs/canonical-bytes.md``; in short it is RFC 8785
(JSON Canonicalization Scheme) restricted to values that never need JCS's number
rules: objects with ASCII keys sorted by code point, arrays, strings, integers in
the signed 64-bit range, ``true``, ``false`` and ``null``; no floats, no whitespace,
UTF-8. Domain values are lowered to those first: a UUID is its lowercase hyphenated
form, a datetime is UTC ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (always six fraction digits),
a date is ``YYYY-MM-DD``, a Decimal is its plain string (``"3"``, ``"1.5"``).

Decoding goes the other way, guided by the event class's type annotations, so the
stored JSON carries no type tags and another implementation can read it plainly.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from typing import Any, Union
from uuid import UUID

import orjson

JSON = dict[str, Any] | list[Any] | str | int | bool | None

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_CANONICAL_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")


class CanonicalError(ValueError):
    """A value cannot be put into canonical form (a float, a naive datetime, ...)."""


def format_datetime(value: datetime) -> str:
    """Render an aware datetime in the one fixed UTC form that is signed."""
    if value.tzinfo is UTC and value.microsecond:
        # The common case (``utcnow()``), without the conversion: ISO form minus "+00:00".
        return value.isoformat()[:26] + "Z"
    if value.tzinfo is None:
        raise CanonicalError(f"naive datetime {value!r} has no time zone")
    utc = value.astimezone(UTC)
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T"
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}.{utc.microsecond:06d}Z"
    )


def parse_datetime(text: str) -> datetime:
    """Read a datetime written by ``format_datetime`` (and only that form)."""
    try:
        if len(text) != 27 or not _CANONICAL_TIME.match(text):
            raise ValueError("wrong form")
        return datetime.fromisoformat(text)  # "Z" reads as UTC (Python 3.11+)
    except ValueError as error:
        raise CanonicalError(f"not a canonical timestamp: {text!r}") from error


def to_json_value(value: Any) -> JSON:
    """Lower a domain value to plain JSON values, refusing anything ambiguous."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value  # type: ignore[no-any-return]
    if kind is dict:
        return {_key(key): to_json_value(item) for key, item in value.items()}
    if kind is list or kind is tuple:
        return [to_json_value(item) for item in value]
    if kind is int:
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise CanonicalError(f"integer {value} is outside the signed 64-bit range")
        return value  # type: ignore[no-any-return]
    if kind is UUID:
        return str(value)
    if kind is datetime:
        return format_datetime(value)
    return _lower_other(value)


def _key(key: object) -> str:
    if type(key) is not str or not key.isascii():
        raise CanonicalError(f"object key {key!r} is not an ASCII string")
    return key


def _lower_other(value: Any) -> JSON:
    """The rarer types, and subclasses of the common ones."""
    if isinstance(value, float):
        raise CanonicalError("floats are not allowed in signed data; use Decimal")
    if isinstance(value, bool | str):
        return bool(value) if isinstance(value, bool) else str(value)
    if isinstance(value, int):
        return to_json_value(int(value))
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise CanonicalError(f"decimal {value} is not finite")
        return _plain_decimal(value)
    if isinstance(value, Mapping):
        return {_key(key): to_json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_value(item) for item in value]
    if isinstance(value, frozenset | set):
        return sorted((to_json_value(item) for item in value), key=canonical_bytes)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_json_value({f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    raise CanonicalError(f"cannot put {type(value).__name__} into canonical form")


def _plain_decimal(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def canonical_bytes(value: Any) -> bytes:
    """The canonical UTF-8 bytes of a JSON-able value (see the module docstring).

    Most values (every event the ledger writes) hold only the types orjson writes
    exactly as the canonical form wants them: those are encoded in one pass, with
    only datetimes handed back to ``format_datetime``. Anything else (a float, a
    Decimal, a subclass, a non-ASCII key, an integer beyond 64 bits) takes the
    lowering walk, which raises ``CanonicalError`` or lowers it; so both paths give
    the same bytes, and the one pass saves building a lowered copy of every event
    (profiled: a third of preparing an event for signing).
    """
    if _plain(value):
        try:
            encoded = orjson.dumps(value, default=_datetime_default, option=_ONE_PASS)
        except orjson.JSONEncodeError:
            pass  # a naive datetime: the walk names the problem
        else:
            return _compact(encoded)
    return _compact(dump_lowered(to_json_value(value)))


def _compact(encoded: bytes) -> bytes:
    """A tight copy of orjson's output, which is dropped.

    Measured here: keeping thousands of orjson results alive (the events of a bulk
    save, waiting for their signatures) costs 5-8 µs per result in the allocator;
    copying each and dropping orjson's buffer costs 0.1 µs.
    """
    return bytes(memoryview(encoded))


_ONE_PASS = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
_PLAIN_LEAVES = frozenset({str, bool, type(None), UUID, datetime})


def _datetime_default(value: Any) -> str:
    if type(value) is datetime:
        return format_datetime(value)
    raise CanonicalError(f"cannot put {type(value).__name__} into canonical form")


def _plain(value: Any) -> bool:
    """Whether orjson writes ``value`` canonically by itself (datetimes aside).

    Exact types only: orjson's UUIDs, strings, integers, booleans, null, lists,
    tuples and dicts are the canonical ones, but floats, integers beyond the signed
    64-bit range and non-ASCII keys are not, and subclasses (enums, say) lower
    differently. Leaves are checked inline: this walk runs over every event saved.
    """
    kind = type(value)
    if kind is dict:
        return _plain_dict(value)
    if kind is list or kind is tuple:
        return _plain_items(value)
    if kind in _PLAIN_LEAVES:
        return True
    return kind is int and _INT64_MIN <= value <= _INT64_MAX


def _plain_dict(value: dict[Any, Any]) -> bool:
    for key, item in value.items():
        if type(key) is not str or not key.isascii():
            return False
        kind = type(item)
        if kind in _PLAIN_LEAVES:
            continue
        if kind is int:
            if not _INT64_MIN <= item <= _INT64_MAX:
                return False
        elif kind is dict:
            if not _plain_dict(item):
                return False
        elif kind is list or kind is tuple:
            if not _plain_items(item):
                return False
        else:
            return False
    return True


def _plain_items(value: list[Any] | tuple[Any, ...]) -> bool:
    return all(type(item) in _PLAIN_LEAVES or _plain(item) for item in value)


def dump_lowered(value: JSON) -> bytes:
    """Canonical bytes of a value already lowered by ``to_json_value`` (no second walk)."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def loads(data: bytes) -> Any:
    """Parse JSON bytes (the inverse of ``canonical_bytes`` on plain JSON values)."""
    return orjson.loads(data)


def from_json_value(value: Any, annotation: Any) -> Any:
    """Raise a plain JSON value back to the type an annotation names."""
    if value is None:
        return None
    return decoder_for(annotation)(value)


Decoder = Callable[[Any], Any]


def _identity(value: Any) -> Any:
    return value


def _nullable(decoder: Decoder) -> Decoder:
    return lambda value: None if value is None else decoder(value)


def _scalar(annotation: type, parse: Decoder) -> Decoder:
    return lambda value: value if isinstance(value, annotation) else parse(value)


_UUIDS: dict[str, UUID] = {}
_UUID_CACHE_SIZE = 4096


def _uuid(text: str) -> UUID:
    """A UUID from its text, remembering recent ones: the same issuer, achievement
    and learner ids recur across thousands of events (UUIDs are immutable)."""
    found = _UUIDS.get(text)
    if found is None:
        if len(_UUIDS) >= _UUID_CACHE_SIZE:
            _UUIDS.clear()
        found = _UUIDS[text] = UUID(text)
    return found


def decoder_for(annotation: Any) -> Decoder:
    """The function that raises JSON values to ``annotation`` (built once per annotation).

    Decoding stored events is hot (every read, every projection, every
    verification), so the annotation is inspected once and the result cached.
    """
    try:
        return _cached_decoder(annotation)
    except TypeError:  # an unhashable annotation: build it each time
        return _build_decoder(annotation)


@cache
def _cached_decoder(annotation: Any) -> Decoder:
    return _build_decoder(annotation)


def _build_decoder(annotation: Any) -> Decoder:
    if annotation is UUID:
        return _scalar(UUID, _uuid)
    if annotation is datetime:
        return _scalar(datetime, parse_datetime)
    if annotation is date:
        return _scalar(date, date.fromisoformat)
    if annotation is Decimal:
        return _scalar(Decimal, Decimal)
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _nullable(decoder_for(options[0])) if len(options) == 1 else _identity
    if origin in (list, tuple, frozenset, set):
        args = typing.get_args(annotation)
        item = _nullable(decoder_for(args[0] if args else Any))
        if origin is list:
            return lambda value: [item(v) for v in value]
        return lambda value: origin(item(v) for v in value)
    if origin is dict or origin is Mapping:
        args = typing.get_args(annotation)
        item = _nullable(decoder_for(args[1] if len(args) == 2 else Any))
        return lambda value: {key: item(v) for key, v in value.items()}
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        fields = field_decoders(annotation)
        return lambda value: annotation(
            **{k: None if v is None else fields.get(k, _identity)(v) for k, v in value.items()}
        )
    return _identity


@cache
def field_decoders(cls: type) -> dict[str, Decoder]:
    """One decoder per annotated field of a class (events, dataclasses)."""
    return {name: decoder_for(hint) for name, hint in field_types(cls).items()}


@cache
def field_types(cls: type) -> dict[str, Any]:
    """The resolved type annotations of a class, cached because decoding is hot."""
    return typing.get_type_hints(cls)
