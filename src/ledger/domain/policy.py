"""Study-load policies for microcredentials: versioned data, not a constant.

The national pilot's framework sets the minimum at 84 hours (3 EC); it also allows
experiments from 1 EC (28 hours) between 2025-05-01 and 2027-04-30. An issuer
adopts policies for periods; the policy in force at an instant is the most
recently adopted one whose period covers it, and the policy applied is recorded
with every issuance, so the log says under which rule a credential was issued.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ledger.domain.base import as_datetime
from ledger.errors import InvalidInput, StudyLoadTooLow

HOURS_PER_EC = 28


@dataclass(frozen=True)
class StudyLoadPolicy:
    """A minimum study load for microcredentials, in force for a period."""

    policy_id: str
    version: int
    min_hours: int
    min_ects: Decimal
    in_force_from: datetime
    in_force_until: datetime | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if not self.policy_id.strip() or self.version < 1:
            raise InvalidInput("a policy needs an id and a version of at least 1")
        if self.min_hours < 0 or self.min_ects < 0:
            raise InvalidInput("a policy's minimum study load cannot be negative")
        if self.in_force_until is not None and self.in_force_until <= self.in_force_from:
            raise InvalidInput("a policy's period must end after it starts")

    def covers(self, at: datetime) -> bool:
        """Whether the policy is in force at ``at``."""
        return self.in_force_from <= at and (
            self.in_force_until is None or at < self.in_force_until
        )

    def check(self, *, hours: int, ects: Decimal) -> None:
        """Refuse a study load below this policy's minimum."""
        if hours < self.min_hours or ects < self.min_ects:
            raise StudyLoadTooLow(
                f"study load {hours} h / {ects} EC is below the minimum of {self.min_hours} h / "
                f"{self.min_ects} EC under policy {self.reference}"
            )

    @property
    def reference(self) -> str:
        """The policy's name and version, as recorded with each issuance."""
        return f"{self.policy_id}@v{self.version}"

    def to_record(self) -> dict[str, Any]:
        """The policy as recorded in events."""
        return {
            "policy_id": self.policy_id,
            "version": self.version,
            "min_hours": self.min_hours,
            "min_ects": self.min_ects,
            "in_force_from": self.in_force_from,
            "in_force_until": self.in_force_until,
            "description": self.description,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> StudyLoadPolicy:
        """Inverse of ``to_record`` (values may be in canonical JSON form)."""

        start = as_datetime(record["in_force_from"])
        if start is None:
            raise InvalidInput("a policy needs a start")
        return cls(
            policy_id=record["policy_id"],
            version=int(record["version"]),
            min_hours=int(record["min_hours"]),
            min_ects=Decimal(str(record["min_ects"])),
            in_force_from=start,
            in_force_until=as_datetime(record.get("in_force_until")),
            description=record.get("description", ""),
        )


NATIONAL_PILOT = StudyLoadPolicy(
    policy_id="nl-microcredentials-pilot",
    version=1,
    min_hours=84,
    min_ects=Decimal(3),
    in_force_from=datetime(2022, 1, 1, tzinfo=UTC),
    description="Dutch national microcredentials pilot: at least 84 hours (3 EC)",
)

NATIONAL_EXPERIMENT_1EC = StudyLoadPolicy(
    policy_id="nl-microcredentials-experiment-1ec",
    version=1,
    min_hours=28,
    min_ects=Decimal(1),
    in_force_from=datetime(2025, 5, 1, tzinfo=UTC),
    in_force_until=datetime(2027, 4, 30, tzinfo=UTC),
    description="Experiment under the national framework: from 1 EC, 2025-05-01 to 2027-04-30",
)


def policy_in_force(adopted: list[StudyLoadPolicy], at: datetime) -> StudyLoadPolicy:
    """The most recently adopted policy covering ``at``; the national pilot otherwise."""
    for policy in reversed(adopted):
        if policy.covers(at):
            return policy
    return NATIONAL_PILOT


#: The policies an institution may adopt, by id.
CATALOGUE: dict[str, StudyLoadPolicy] = {
    policy.policy_id: policy for policy in (NATIONAL_PILOT, NATIONAL_EXPERIMENT_1EC)
}


def policy_for_period(
    policy_id: str, *, start: datetime | None = None, until: datetime | None = None
) -> StudyLoadPolicy:
    """A catalogue policy narrowed to an institution's period, which must lie inside its own.

    The 1 EC experiment exists only from 2025-05-01 to 2027-04-30: a period reaching
    outside that window is refused, never silently cut.
    """
    base = CATALOGUE.get(policy_id)
    if base is None:
        raise InvalidInput(f"policy: one of {', '.join(CATALOGUE)}, not {policy_id!r}")
    start = base.in_force_from if start is None else start
    until = base.in_force_until if until is None else until
    if start.tzinfo is None or (until is not None and until.tzinfo is None):
        raise InvalidInput("period: give times with a time zone (UTC)")
    end = base.in_force_until.date() if base.in_force_until else "open end"
    window = f"{base.in_force_from.date()} to {end}"
    if start < base.in_force_from or (
        base.in_force_until is not None and (until is None or until > base.in_force_until)
    ):
        raise InvalidInput(f"period: {base.reference} may only be adopted within {window}")
    return StudyLoadPolicy(
        policy_id=base.policy_id,
        version=base.version,
        min_hours=base.min_hours,
        min_ects=base.min_ects,
        in_force_from=start,
        in_force_until=until,
        description=base.description,
    )


def alternatives(in_force: StudyLoadPolicy, at: datetime) -> list[StudyLoadPolicy]:
    """Catalogue policies in force at ``at`` with a lower minimum than ``in_force``."""
    return [
        p
        for p in CATALOGUE.values()
        if p.covers(at) and p.min_hours < in_force.min_hours and p.policy_id != in_force.policy_id
    ]
