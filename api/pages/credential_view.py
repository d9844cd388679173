"""What a credential page shows: the live state, the EU elements, and our checker's verdict.

The state is read from the projections on every view. The verdict comes from
``ledger.standards.credential_checker`` run on the signed Open Badges export; the
export and its report are kept for a minute under a key that holds the state and
the version, so a revocation, suspension or amendment shows on the next view,
while a popular page does not sign and check the same bytes on every request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from uuid import UUID

import orjson

from ledger.application.actor import SYSTEM, acting_as
from ledger.standards.credential_checker import CheckPolicy, CredentialChecker

K = TypeVar("K")
V = TypeVar("V")
VERDICT_SECONDS = 60.0
VERDICT_ENTRIES = 2048
#: The EU Council Recommendation's elements, in its order, as the achievement spec names them.
EU_ELEMENTS = (
    "learning_outcomes",
    "study_load_hours",
    "ects",
    "eqf_level",
    "nlqf_level",
    "assessment_type",
    "participation_form",
    "supervision_type",
    "identity_checked",
    "quality_assurance",
    "language",
    "field_of_study",
    "criteria",
)


@dataclass(frozen=True)
class Verdict:
    """The signed export and what our checker said about it."""

    document: dict[str, Any]
    report: dict[str, Any]
    json_ld: str

    @property
    def signature_valid(self) -> bool:
        return any(
            c["check"] == "proof" and c["outcome"] == "passed" for c in self.report["checks"]
        )


def version_key(credential: dict[str, Any]) -> tuple[str, int, str]:
    """What a credential's export and verdict depend on: its version and its live state."""
    return str(credential["credential_id"]), len(credential["history"]), credential["state"]


class TimedCache(Generic[K, V]):
    """At most ``VERDICT_ENTRIES`` values, each kept for ``VERDICT_SECONDS``."""

    def __init__(self) -> None:
        self._entries: dict[K, tuple[V, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: K, make: Callable[[], V]) -> V:
        now = time.monotonic()
        found = self._entries.get(key)
        if found is not None and found[1] > now:
            return found[0]
        value = make()
        with self._lock:
            if len(self._entries) >= VERDICT_ENTRIES:
                self._entries.pop(next(iter(self._entries)), None)  # the oldest
            self._entries[key] = (value, now + VERDICT_SECONDS)
        return value


class VerdictCache:
    """Exports and reports by (credential, version, state), for at most a minute."""

    def __init__(self) -> None:
        self._cache: TimedCache[tuple[str, int, str], Verdict] = TimedCache()

    def verdict(self, services: Any, credential: dict[str, Any]) -> Verdict:
        credential_id = UUID(str(credential["credential_id"]))
        return self._cache.get(version_key(credential), lambda: _check(services, credential_id))


def _check(services: Any, credential_id: UUID) -> Verdict:
    # The page is public: the ledger itself exports what the learner chose to share.
    with acting_as(SYSTEM):
        document: dict[str, Any] = services.publisher.export_credential(credential_id)
    checker = CredentialChecker(
        resolver=services.publisher.resolver,
        status_lists=services.publisher.fetch_status_list,
        policy=CheckPolicy(),
    )
    return Verdict(
        document=document, report=checker.check(document).to_json(), json_ld=json_ld(document)
    )


def state_reason(credential: dict[str, Any]) -> str | None:
    """The reason given for the latest revocation or suspension, if that is the state."""
    if credential["state"] not in ("revoked", "suspended"):
        return None
    for step in reversed(credential["history"]):
        if step.get("reason"):
            return str(step["reason"])
    return None


def elements(spec: dict[str, Any]) -> list[tuple[str, Any]]:
    """The EU micro-credential elements present in an achievement, in their order
    (a yes or no is present either way; an empty text, list or zero is not)."""
    return [
        (name, spec[name])
        for name in EU_ELEMENTS
        if isinstance(spec.get(name), bool) or spec.get(name) not in (None, "", [], 0, "0")
    ]


def json_ld(document: dict[str, Any]) -> str:
    """The signed credential for a ``<script type="application/ld+json">`` block.

    ``<``, ``>`` and ``&`` are escaped so that no text inside can end the block.
    """
    text = orjson.dumps(document).decode("utf-8")
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
