"""W3C Bitstring Status List v1.0 data structure (stdlib only).

Reference: https://www.w3.org/TR/vc-bitstring-status-list/ (Recommendation, 2025-05-15).

What the specification fixes, and where this module honours it:

* Bit order (section 2.2, 7.1): index 0 is the left-most bit of the bitstring,
  i.e. the most significant bit of the first byte; index ``length - 1`` is the
  least significant bit of the last byte.  Getting this wrong silently reads the
  wrong credential's status, so it is pinned by hand-computed tests.
* ``encodedList`` (section 2.2): a Multibase-encoded base64url string *with no
  padding* (multibase prefix ``u``) of the GZIP-compressed (RFC 1952) bitstring.
* Size (sections 2.2, 3.2, 6.1): the uncompressed bitstring MUST be at least
  16 KB, and the Validate Algorithm raises STATUS_LIST_LENGTH_ERROR when
  ``len(bits) / statusSize`` is below ``minimumNumberOfEntries`` (131,072 unless
  an ecosystem specification sets a different bound).  The bound exists for herd
  privacy: a small list lets an observer correlate holders.
* ``statusSize`` (section 2.1): entry ``i`` of a list with ``statusSize`` *s*
  occupies bits ``i*s .. i*s + s - 1``.  The spec does not spell out the
  numeric value of a multi-bit entry; we read the bits left to right, most
  significant first, which is the only reading consistent with the left-to-right
  bit order above and with the reference implementations.
* Index assignment (sections 2.1, 6.5): issuers SHOULD assign indexes randomly so
  that the position reveals neither issuance order nor group size.

Ledger-specific requirements layered on top:

* Encoding is deterministic: the GZIP header is written by hand with mtime 0,
  no file name, ``XFL=0`` and ``OS=3``, and the deflate level is fixed, so the
  same bits always give byte-identical ``encodedList`` values.  Projections are
  rebuilt from the event log and must reproduce what was signed and published.
  (These header bytes are the ones the reference JavaScript stack emits, so the
  all-zeros 16 KB list encodes to exactly the spec's Example 3.)  Byte identity
  holds for a given zlib build; a different deflate implementation (zlib-ng, say)
  may legitimately produce a different, equally valid stream.
* Decoding lists published by others is governed by an explicit
  :class:`DecodePolicy`, strict by default; every tolerated deviation is
  reported so a verifier's report can state it rather than hide it.
"""

from __future__ import annotations

import enum
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from ledger import base64url

__all__ = [
    "DEFAULT_STATUS_SIZE",
    "LENIENT",
    "MIN_LIST_LENGTH",
    "MULTIBASE_BASE64URL_PREFIX",
    "STRICT",
    "Base64PaddingError",
    "Bitstring",
    "DecodeDeviation",
    "DecodePolicy",
    "InvalidBase64Error",
    "InvalidGzipError",
    "MissingMultibasePrefixError",
    "StandardBase64AlphabetError",
    "StatusListDecodeError",
    "StatusListDeviationError",
    "StatusListError",
    "StatusListIndexError",
    "StatusListTooLargeError",
    "StatusListTooShortError",
]

#: Minimum number of entries (131,072 = 16 KiB of 1-bit entries), spec section 3.2
#: step 2 ``minimumNumberOfEntries``.  Smaller lists weaken herd privacy.
MIN_LIST_LENGTH: Final = 131_072

#: ``statusSize`` when absent (spec section 2.1): one bit, as for revocation or
#: suspension.
DEFAULT_STATUS_SIZE: Final = 1

#: Multibase code for base64url without padding.
MULTIBASE_BASE64URL_PREFIX: Final = "u"

# The GZIP member header we emit (RFC 1952 section 2.3): ID1 ID2, CM=8 (deflate),
# FLG=0 (no FNAME/FEXTRA/FCOMMENT/FHCRC), MTIME=0, XFL=0, OS=3.  Fixed bytes so the
# output never depends on the clock, the host OS, or a file name.
_GZIP_HEADER: Final = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"
_GZIP_MAGIC: Final = b"\x1f\x8b\x08"
# zlib's default level; together with the header above it reproduces the spec's
# Example 3 byte for byte.  Changing it changes every published encoding.
_DEFLATE_LEVEL: Final = 6
# A compressed 16 KB list is ~50 bytes, so GZIP could expand a small input into a
# huge buffer ("zip bomb").  16 MiB = 134 million 1-bit entries is far beyond any
# real list and bounds the memory a hostile publisher can make us allocate.
_DEFAULT_MAX_DECODED_BYTES: Final = 16 * 1024 * 1024

_BASE64URL_RE: Final = re.compile(r"[A-Za-z0-9_-]*")
_BASE64STD_RE: Final = re.compile(r"[A-Za-z0-9+/]*")


# --------------------------------------------------------------------------- errors


class StatusListError(Exception):
    """Base class for every error raised by this module."""


class StatusListIndexError(StatusListError, IndexError):
    """Index outside the list (the spec's RANGE_ERROR).

    Also an ``IndexError`` so generic code that guards sequence access still works;
    kept distinct so callers can tell a bad credential index from a bug.
    """


class StatusListDecodeError(StatusListError, ValueError):
    """An ``encodedList`` could not be accepted (the spec's MALFORMED_VALUE_ERROR)."""


class InvalidBase64Error(StatusListDecodeError):
    """The payload is not base64 in any accepted form (garbage, bad length, stray chars)."""


class InvalidGzipError(StatusListDecodeError):
    """The base64 payload is not a complete, valid GZIP stream."""


class StatusListTooLargeError(StatusListDecodeError):
    """The decompressed list exceeds the policy's size limit (decompression-bomb guard)."""


class DecodeDeviation(enum.StrEnum):
    """Deviations from the spec seen in lists published elsewhere that a policy may tolerate.

    The values are stable strings meant for verification reports.
    """

    MISSING_MULTIBASE_PREFIX = "missing-multibase-prefix"
    BASE64_PADDING = "base64-padding"
    STANDARD_BASE64_ALPHABET = "standard-base64-alphabet"
    SHORT_LIST = "short-list"


class StatusListDeviationError(StatusListDecodeError):
    """A deviation the policy does not tolerate; ``deviation`` names which one."""

    deviation: DecodeDeviation


class MissingMultibasePrefixError(StatusListDeviationError):
    """The value lacks the multibase ``u`` (base64url, no padding) prefix."""

    deviation = DecodeDeviation.MISSING_MULTIBASE_PREFIX


class Base64PaddingError(StatusListDeviationError):
    """The base64url payload carries ``=`` padding, which the spec forbids."""

    deviation = DecodeDeviation.BASE64_PADDING


class StandardBase64AlphabetError(StatusListDeviationError):
    """The payload uses the standard alphabet (``+`` ``/``) instead of base64url."""

    deviation = DecodeDeviation.STANDARD_BASE64_ALPHABET


class StatusListTooShortError(StatusListDeviationError):
    """Fewer entries than the minimum (the spec's STATUS_LIST_LENGTH_ERROR)."""

    deviation = DecodeDeviation.SHORT_LIST


_DEVIATION_ERRORS: Final[dict[DecodeDeviation, type[StatusListDeviationError]]] = {
    DecodeDeviation.MISSING_MULTIBASE_PREFIX: MissingMultibasePrefixError,
    DecodeDeviation.BASE64_PADDING: Base64PaddingError,
    DecodeDeviation.STANDARD_BASE64_ALPHABET: StandardBase64AlphabetError,
    DecodeDeviation.SHORT_LIST: StatusListTooShortError,
}


# --------------------------------------------------------------------------- policy


@dataclass(frozen=True, slots=True)
class DecodePolicy:
    """How much deviation from the spec a decoder tolerates in someone else's list.

    Strict by default because the spec requires conforming processors to produce
    errors on non-conforming documents (section 1.3).  A verifier that must still
    check real-world lists opts in to each tolerance explicitly, and gets back the
    deviations it accepted (:attr:`Bitstring.deviations`) so its report can name
    them.  Structural damage (garbage base64, non-GZIP data, corrupt streams,
    oversized output) is never tolerated: there is no honest reading of such data.
    """

    allow_missing_prefix: bool = False
    allow_padding: bool = False
    allow_standard_alphabet: bool = False
    allow_short_list: bool = False
    #: ``minimumNumberOfEntries`` (spec 3.2 step 2); an ecosystem may lower it.
    min_entries: int = MIN_LIST_LENGTH
    max_decoded_bytes: int = _DEFAULT_MAX_DECODED_BYTES

    def __post_init__(self) -> None:
        if self.min_entries < 1:
            raise ValueError("min_entries must be positive")
        if self.max_decoded_bytes < 1:
            raise ValueError("max_decoded_bytes must be positive")

    @classmethod
    def lenient(cls) -> DecodePolicy:
        """Accept every known, interpretable deviation (and report it)."""
        return cls(
            allow_missing_prefix=True,
            allow_padding=True,
            allow_standard_alphabet=True,
            allow_short_list=True,
        )

    def allows(self, deviation: DecodeDeviation) -> bool:
        """Whether ``deviation`` is tolerated by this policy."""
        match deviation:
            case DecodeDeviation.MISSING_MULTIBASE_PREFIX:
                return self.allow_missing_prefix
            case DecodeDeviation.BASE64_PADDING:
                return self.allow_padding
            case DecodeDeviation.STANDARD_BASE64_ALPHABET:
                return self.allow_standard_alphabet
            case DecodeDeviation.SHORT_LIST:
                return self.allow_short_list


#: The default: exactly what the spec allows, nothing more.
STRICT: Final = DecodePolicy()
#: Tolerates every deviation in :class:`DecodeDeviation` and reports it.
LENIENT: Final = DecodePolicy.lenient()


class _DeviationLog:
    """Collects tolerated deviations, raising the typed error for untolerated ones."""

    __slots__ = ("accepted", "policy")

    def __init__(self, policy: DecodePolicy) -> None:
        self.policy = policy
        self.accepted: list[DecodeDeviation] = []

    def note(self, deviation: DecodeDeviation, detail: str) -> None:
        if not self.policy.allows(deviation):
            raise _DEVIATION_ERRORS[deviation](f"{deviation.value}: {detail}")
        self.accepted.append(deviation)


# --------------------------------------------------------------------------- bitstring


def _check_status_size(status_size: int) -> None:
    # Spec 2.1: "If present, statusSize MUST be an integer greater than zero."
    if isinstance(status_size, bool) or not isinstance(status_size, int) or status_size < 1:
        raise ValueError(f"statusSize must be an integer > 0, got {status_size!r}")


class Bitstring:
    """A fixed-length status bitstring backed by a ``bytearray``.

    Length is in bits and always a multiple of 8, because the published form is
    bytes: a length that is not a whole number of bytes could not survive an
    encode/decode round trip.  Lists we create are at least
    :data:`MIN_LIST_LENGTH` bits; ``allow_small=True`` exists only for reading
    lists published elsewhere (under a lenient policy) and for tests.

    ``get``/``set`` are O(1) and bounds-checked: a negative index must not wrap
    around as Python sequence indexing would, since that would read another
    credential's status.
    """

    __slots__ = ("_buf", "_length", "deviations")

    def __init__(self, length: int = MIN_LIST_LENGTH, *, allow_small: bool = False) -> None:
        if isinstance(length, bool) or not isinstance(length, int):
            raise TypeError(f"length must be an int, got {type(length).__name__}")
        if length <= 0 or length % 8:
            raise ValueError(f"length must be a positive multiple of 8 bits, got {length}")
        if length < MIN_LIST_LENGTH and not allow_small:
            raise ValueError(
                f"length {length} is below the {MIN_LIST_LENGTH}-entry minimum required for "
                "herd privacy; pass allow_small=True only to read others' lists"
            )
        self._length = length
        self._buf = bytearray(length >> 3)
        #: Spec deviations tolerated when this list was decoded; empty for lists we built.
        self.deviations: tuple[DecodeDeviation, ...] = ()

    # -- construction ---------------------------------------------------------------

    @classmethod
    def from_bytes(cls, data: bytes | bytearray, *, allow_small: bool = False) -> Bitstring:
        """Wrap a copy of an uncompressed bitstring (byte 0 holds indices 0..7)."""
        bits = cls(len(data) * 8, allow_small=allow_small)
        bits._buf[:] = data
        return bits

    @classmethod
    def for_entries(
        cls, entries: int = MIN_LIST_LENGTH, status_size: int = DEFAULT_STATUS_SIZE
    ) -> Bitstring:
        """A list of ``entries`` entries of ``status_size`` bits each (spec 3.3 step 2).

        The herd-privacy minimum counts entries, not bits (spec 3.2 step 9), so a
        2-bit list needs twice the bits of a 1-bit one.
        """
        _check_status_size(status_size)
        if entries < MIN_LIST_LENGTH:
            raise ValueError(f"{entries} entries is below the {MIN_LIST_LENGTH} minimum")
        bits = entries * status_size
        return cls(bits + (-bits % 8))

    def to_bytes(self) -> bytes:
        """The uncompressed bitstring."""
        return bytes(self._buf)

    # -- bit access -----------------------------------------------------------------

    def __len__(self) -> int:
        return self._length

    def get(self, index: int) -> bool:
        """Bit ``index``: the ``7 - index % 8``-th bit (MSB first) of byte ``index // 8``."""
        if index < 0 or index >= self._length:
            raise StatusListIndexError(f"index {index} outside list of length {self._length}")
        return bool((self._buf[index >> 3] >> (7 - (index & 7))) & 1)

    def set(self, index: int, value: bool) -> None:
        """Set bit ``index`` to ``value`` (see :meth:`get` for the bit order)."""
        if index < 0 or index >= self._length:
            raise StatusListIndexError(f"index {index} outside list of length {self._length}")
        mask = 0x80 >> (index & 7)
        if value:
            self._buf[index >> 3] |= mask
        else:
            self._buf[index >> 3] &= ~mask & 0xFF

    def entry_count(self, status_size: int = DEFAULT_STATUS_SIZE) -> int:
        """Number of whole ``status_size``-bit entries in the list."""
        _check_status_size(status_size)
        return self._length // status_size

    def get_status(self, index: int, status_size: int = DEFAULT_STATUS_SIZE) -> int:
        """Entry ``index`` of a list whose entries are ``status_size`` bits wide.

        The entry starts at bit ``index * status_size`` (spec 3.2 step 10, 3.3
        step 2); its bits are read left to right as a big-endian unsigned integer.
        """
        _check_status_size(status_size)
        start = index * status_size
        if index < 0 or start + status_size > self._length:
            raise StatusListIndexError(
                f"entry {index} (statusSize {status_size}) outside list of {self._length} bits"
            )
        value = 0
        for bit in range(start, start + status_size):
            value = (value << 1) | ((self._buf[bit >> 3] >> (7 - (bit & 7))) & 1)
        return value

    def set_status(self, index: int, status_size: int, value: int) -> None:
        """Write ``value`` into entry ``index`` (inverse of :meth:`get_status`)."""
        _check_status_size(status_size)
        if not 0 <= value < (1 << status_size):
            raise ValueError(f"status {value} does not fit in {status_size} bits")
        start = index * status_size
        if index < 0 or start + status_size > self._length:
            raise StatusListIndexError(
                f"entry {index} (statusSize {status_size}) outside list of {self._length} bits"
            )
        for offset in range(status_size):
            self.set(start + offset, bool((value >> (status_size - 1 - offset)) & 1))

    def iter_set(self) -> Iterator[int]:
        """Indices of all set bits, ascending; skips zero bytes so sparse lists are cheap."""
        buf = self._buf
        for byte_index, byte in enumerate(buf):
            if byte:
                base = byte_index << 3
                for bit in range(8):
                    if byte & (0x80 >> bit):
                        yield base + bit

    def count(self) -> int:
        """Number of set bits."""
        return int.from_bytes(self._buf, "big").bit_count()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Bitstring):
            return NotImplemented
        return self._length == other._length and self._buf == other._buf

    __hash__ = None  # type: ignore[assignment]  # mutable, like bytearray

    def __repr__(self) -> str:
        return f"Bitstring(length={self._length}, set={self.count()})"

    # -- encoding -------------------------------------------------------------------

    def encode(self) -> str:
        """The spec's ``encodedList``: ``"u"`` + base64url-no-pad(GZIP(bits)).

        Deterministic: fixed header bytes and deflate level, so equal bitstrings
        always yield identical strings (see module docstring).
        """
        deflater = zlib.compressobj(_DEFLATE_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
        body = deflater.compress(self._buf) + deflater.flush()
        trailer = zlib.crc32(self._buf).to_bytes(4, "little") + (
            len(self._buf) & 0xFFFFFFFF
        ).to_bytes(4, "little")
        return MULTIBASE_BASE64URL_PREFIX + base64url.encode(_GZIP_HEADER + body + trailer)

    @classmethod
    def decode(
        cls,
        encoded: str,
        *,
        policy: DecodePolicy = STRICT,
        status_size: int = DEFAULT_STATUS_SIZE,
    ) -> Bitstring:
        """Parse an ``encodedList`` under ``policy`` (spec 3.4, plus the 3.2 length check).

        ``status_size`` is needed only for the minimum-length check, which counts
        entries (``bits // statusSize``), not bits.  Deviations the policy tolerated
        are listed on the result's :attr:`deviations`, in the order found.

        Raises a :class:`StatusListDeviationError` subclass for a deviation the
        policy refuses, and another :class:`StatusListDecodeError` subclass for
        damage no policy tolerates.
        """
        _check_status_size(status_size)
        if not isinstance(encoded, str):
            raise InvalidBase64Error(f"encodedList must be a string, got {type(encoded).__name__}")
        log = _DeviationLog(policy)
        compressed = _multibase_base64url_decode(encoded, log)
        raw = _gunzip(compressed, policy.max_decoded_bytes)
        if not raw:
            raise StatusListDecodeError("decoded bitstring is empty")
        entries = len(raw) * 8 // status_size
        if entries < policy.min_entries:
            log.note(
                DecodeDeviation.SHORT_LIST,
                f"{entries} entries of statusSize {status_size} "
                f"({len(raw)} bytes); the minimum is {policy.min_entries}",
            )
        bits = cls.from_bytes(raw, allow_small=True)
        bits.deviations = tuple(log.accepted)
        return bits


def _multibase_base64url_decode(encoded: str, log: _DeviationLog) -> bytes:
    """Multibase-decode (base64url, no padding), noting tolerated deviations."""
    if encoded.startswith(MULTIBASE_BASE64URL_PREFIX):
        payload = encoded[1:]
    else:
        found = repr(encoded[:1]) if encoded else "empty string"
        log.note(
            DecodeDeviation.MISSING_MULTIBASE_PREFIX,
            f"expected multibase prefix 'u', found {found}",
        )
        payload = encoded

    stripped = payload.rstrip("=")
    pad = len(payload) - len(stripped)
    if pad:
        # Padding is only meaningful as the 1-2 characters completing a 4-char group.
        if pad > 2 or (len(stripped) + pad) % 4:
            raise InvalidBase64Error(f"malformed base64 padding ({pad} '=' characters)")
        log.note(DecodeDeviation.BASE64_PADDING, f"{pad} '=' padding character(s)")
        payload = stripped

    if _BASE64URL_RE.fullmatch(payload):
        translated = payload
    elif _BASE64STD_RE.fullmatch(payload):
        log.note(
            DecodeDeviation.STANDARD_BASE64_ALPHABET,
            "uses '+' or '/' (standard base64) instead of base64url '-' '_'",
        )
        translated = payload.replace("+", "-").replace("/", "_")
    else:
        raise InvalidBase64Error("payload contains characters outside the base64url alphabet")

    try:
        # Strict from here: an impossible length or non-zero trailing bits (two texts
        # for one list) are refused.
        return base64url.decode(translated)
    except ValueError as error:
        raise InvalidBase64Error(str(error)) from None


def _gunzip(data: bytes, max_bytes: int) -> bytes:
    """Decompress one or more RFC 1952 members, bounded by ``max_bytes`` of output."""
    if not data.startswith(_GZIP_MAGIC):
        raise InvalidGzipError("not GZIP data (missing 1f 8b 08 header)")
    out = bytearray()
    remaining = data
    while remaining:
        if not remaining.startswith(_GZIP_MAGIC):
            raise InvalidGzipError("trailing bytes after the GZIP stream")
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # GZIP container only
        try:
            chunk = inflater.decompress(remaining, max_bytes - len(out) + 1)
        except zlib.error as exc:
            raise InvalidGzipError(f"corrupt GZIP stream: {exc}") from exc
        out += chunk
        if len(out) > max_bytes:
            raise StatusListTooLargeError(f"decompressed list exceeds {max_bytes} bytes")
        if not inflater.eof:
            raise InvalidGzipError("truncated GZIP stream")
        remaining = inflater.unused_data
    return bytes(out)


# --------------------------------------------------------------------------- two-bit lists


def _spread(byte: int) -> int:
    """The 8 bits of ``byte`` at the even positions of 16 (bit k goes to bit 2k)."""
    out = 0
    for k in range(8):
        out |= ((byte >> k) & 1) << (2 * k)
    return out


_SPREAD = tuple(_spread(b) for b in range(256))


def interleave(high: Bitstring, low: Bitstring) -> Bitstring:
    """A two-bit list whose entry ``i`` is ``high[i] << 1 | low[i]``.

    How one ``statusSize`` 2 list carries two one-bit lists of the same length
    (e.g. revocation and suspension): a pure function of both, so it is
    recomputed, never stored.
    """
    if len(high) != len(low):
        raise ValueError("both lists must have the same length")
    high_bytes, low_bytes = high.to_bytes(), low.to_bytes()
    out = bytearray(2 * len(high_bytes))
    for i, (h, lo) in enumerate(zip(high_bytes, low_bytes, strict=True)):
        word = (_SPREAD[h] << 1) | _SPREAD[lo]
        out[2 * i] = word >> 8
        out[2 * i + 1] = word & 0xFF
    return Bitstring.from_bytes(out)
