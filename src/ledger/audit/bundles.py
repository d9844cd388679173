"""Audit bundles: the whole log in one file an auditor can carry away and verify.

JSON lines, in this order:

1. a header: ``{"bundle": "ledger-audit-bundle/1", "canonical_bytes": "ledger-event/1",
   "source": ..., "exported_at": ..., "operator_kid": ...}``;
2. one ``{"type": "key", ...}`` line per public key with its validity period
   (informative: ``ledger verify`` derives the keys from the key registry's own
   events in the bundle and reports any difference);
3. one ``{"type": "event", ...}`` line per event in log order: its position,
   record, version, topic, the signed canonical bytes as a string, the signature
   (base64url), the key id, the hash of the previous event and its own hash;
4. one ``{"type": "checkpoint", ...}`` line per published checkpoint (the signed
   C2SP note, its size, root and time).

Keys are sorted within each line, so the same log always exports to the same
lines (apart from the header's export time).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import IO, Any

import orjson

from ledger.audit.log_sources import StoreSource
from ledger.domain.base import utcnow
from ledger.domain.keyregistry import KeyEntry
from ledger.eventlog.canonical_json import format_datetime
from ledger.eventlog.envelope import SPEC, open_stored

BUNDLE_FORMAT = "ledger-audit-bundle/1"


def _line(item: dict[str, Any]) -> bytes:
    return orjson.dumps(item) + b"\n"


def key_line(entry: KeyEntry) -> dict[str, Any]:
    """A key and its validity period, as a bundle line."""
    return {
        "type": "key",
        "kid": entry.kid,
        "owner": entry.owner,
        "public_key": entry.public_key,
        "valid_from": format_datetime(entry.valid_from),
        "retired_at": format_datetime(entry.retired_at) if entry.retired_at else None,
        "compromised_since": (
            format_datetime(entry.compromised_since) if entry.compromised_since else None
        ),
    }


def event_lines(source: StoreSource) -> Iterator[bytes]:
    """Every event of a store as a bundle line, in log order."""
    for chunk in source.chunks():
        for position, originator_id, version, topic, state in source.load(chunk):
            sealed = open_stored(
                topic=topic, originator_id=originator_id, originator_version=version, state=state
            )
            # "type" first: readers find event lines by their prefix.
            yield (
                orjson.dumps(
                    {
                        "type": "event",
                        "position": position,
                        "originator_id": str(originator_id),
                        "originator_version": version,
                        "topic": topic,
                        "signed": sealed.signed_bytes.decode("utf-8"),
                        "signature": sealed.seal.signature_text,
                        "kid": sealed.seal.kid,
                        "prev": sealed.seal.prev,
                        "hash": sealed.seal.digest,
                    }
                )
                + b"\n"
            )


def write_bundle(
    out: IO[bytes],
    *,
    source: StoreSource,
    keys: Iterable[KeyEntry],
    operator_kid: str | None,
    checkpoints: Iterable[dict[str, Any]],
) -> int:
    """Write a bundle of a store's log; returns the number of events written."""
    key_entries = sorted(keys, key=lambda entry: (entry.valid_from, entry.kid))
    out.write(
        _line(
            {
                "bundle": BUNDLE_FORMAT,
                "canonical_bytes": SPEC,
                "source": source.description.split("?", 1)[0].rsplit("@", 1)[-1],
                "exported_at": format_datetime(utcnow()),
                "operator_kid": operator_kid,
            }
        )
    )
    for entry in key_entries:
        out.write(_line(key_line(entry)))
    count = 0
    for line in event_lines(source):
        out.write(line)
        count += 1
    for checkpoint in checkpoints:
        out.write(_line({"type": "checkpoint", **checkpoint}))
    return count
