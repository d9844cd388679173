"""Random, replayable status list indexes for herd privacy.

Each status list gets a random seed when it is opened (recorded in the log); the
seed defines a pseudo-random permutation of the list's indexes; the n-th entry
reserved in the list gets the n-th index of that permutation. Reservations are
events (made in blocks that a writer process then hands out), and each issued
credential records the index it got, so replaying the log reproduces every
assignment, two writers can never get the same index (the reservation counter
lives in one aggregate and is guarded by optimistic concurrency), and an index
reveals nothing about issuance order.

The permutation is a Fisher-Yates shuffle driven by BLAKE2b in counter mode over
the seed, fully specified here so that it does not depend on Python's ``random``.
"""

from __future__ import annotations

import hashlib
from array import array
from functools import lru_cache
from typing import Literal, get_args

#: Entries per status list: the W3C minimum (herd privacy), the one length the ledger uses.
LIST_LENGTH = 131_072

#: What an issuer's status lists say: one list of each purpose per list number.
StatusPurpose = Literal["revocation", "suspension"]
STATUS_PURPOSES: tuple[StatusPurpose, ...] = get_args(StatusPurpose)
#: What is published per list number: the two stored one-bit lists, and the two-bit
#: ``message`` list computed from them (revoked << 1 | suspended) that exports name.
PublishedPurpose = Literal["revocation", "suspension", "message"]
LIST_PURPOSES: tuple[PublishedPurpose, ...] = get_args(PublishedPurpose)


@lru_cache(maxsize=8)
def permutation(seed: bytes, length: int = LIST_LENGTH) -> array[int]:
    """The index permutation of a list seed (cached: a cache, recomputable at will)."""
    indexes = array("I", range(length))
    block = b""
    offset = 0
    counter = 0
    for i in range(length - 1, 0, -1):
        if offset + 8 > len(block):
            block = hashlib.blake2b(counter.to_bytes(8, "big"), key=seed, digest_size=64).digest()
            counter += 1
            offset = 0
        # 64 random bits reduced modulo i+1: the bias (< 2**-46) is irrelevant here.
        j = int.from_bytes(block[offset : offset + 8], "big") % (i + 1)
        offset += 8
        indexes[i], indexes[j] = indexes[j], indexes[i]
    return indexes


def index_at(seed: bytes, position: int, length: int = LIST_LENGTH) -> int:
    """The status index of the ``position``-th reservation in a list."""
    return permutation(seed, length)[position]
