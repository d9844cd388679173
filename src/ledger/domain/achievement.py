"""Achievement: what a credential certifies, a microcredential or an edubadge.

A microcredential carries the mandatory elements of the EU Council Recommendation
on micro-credentials (2022); an edubadge (non-formal learning) needs fewer. An
achievement is revised rather than edited: each revision is kept, and a
credential names the revision it was issued under.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from uuid import UUID

from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate
from ledger.domain.policy import HOURS_PER_EC, StudyLoadPolicy
from ledger.errors import InvalidInput

Kind = Literal["microcredential", "edubadge"]
KINDS = ("microcredential", "edubadge")
PARTICIPATION_FORMS = ("online", "on-site", "blended")

#: EU mandatory elements a microcredential must state (beyond learner and issue date).
MICROCREDENTIAL_FIELDS = (
    "title",
    "description",
    "awarding_body",
    "country",
    "learning_outcomes",
    "study_load_hours",
    "ects",
    "eqf_level",
    "assessment_type",
    "participation_form",
    "quality_assurance",
    "language",
)
EDUBADGE_FIELDS = ("title", "description", "criteria")


@dataclass(frozen=True)
class AchievementSpec:
    """The validated content of one achievement revision."""

    kind: Kind
    title: str
    description: str
    criteria: str = ""
    awarding_body: str = ""
    country: str = ""
    learning_outcomes: tuple[str, ...] = ()
    study_load_hours: int = 0
    ects: Decimal = Decimal(0)
    eqf_level: int | None = None
    nlqf_level: str | None = None
    assessment_type: str = ""
    participation_form: str = ""
    quality_assurance: str = ""
    language: str = ""
    field_of_study: str = ""
    extensions: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: dict[str, Any]) -> AchievementSpec:
        """Validate raw input; name the first missing or malformed field."""
        kind = data.get("kind")
        if kind not in KINDS:
            raise InvalidInput(f"kind: must be one of {', '.join(KINDS)}")
        required = MICROCREDENTIAL_FIELDS if kind == "microcredential" else EDUBADGE_FIELDS
        for name in required:
            value = data.get(name)
            if value is None or (isinstance(value, str | list | tuple) and not value):
                raise InvalidInput(f"{name}: required for a {kind}")
        unknown = set(data) - {f for f in cls.__dataclass_fields__}
        if unknown:
            raise InvalidInput(f"{sorted(unknown)[0]}: not an achievement field")
        try:
            spec = cls(
                kind=kind,
                title=_text(data, "title"),
                description=_text(data, "description"),
                criteria=_text(data, "criteria"),
                awarding_body=_text(data, "awarding_body"),
                country=_text(data, "country"),
                learning_outcomes=tuple(_text_list(data, "learning_outcomes")),
                study_load_hours=_integer(data, "study_load_hours"),
                ects=Decimal(str(data.get("ects", 0))),
                eqf_level=_optional_integer(data, "eqf_level"),
                nlqf_level=data.get("nlqf_level"),
                assessment_type=_text(data, "assessment_type"),
                participation_form=_text(data, "participation_form"),
                quality_assurance=_text(data, "quality_assurance"),
                language=_text(data, "language"),
                field_of_study=_text(data, "field_of_study"),
                extensions={str(k): str(v) for k, v in dict(data.get("extensions", {})).items()},
            )
        except (InvalidOperation, TypeError, ValueError) as error:
            raise InvalidInput(f"achievement: {error}") from None
        spec.validate()
        return spec

    def validate(self) -> None:
        """Rules that hold for every revision, whatever policy is in force."""
        if self.kind != "microcredential":
            return
        if self.eqf_level is None or not 1 <= self.eqf_level <= 8:
            raise InvalidInput("eqf_level: must be an EQF level from 1 to 8")
        if self.participation_form not in PARTICIPATION_FORMS:
            raise InvalidInput(f"participation_form: one of {', '.join(PARTICIPATION_FORMS)}")
        if len(self.country) != 2 or not self.country.isupper():
            raise InvalidInput("country: an ISO 3166-1 alpha-2 code")
        if self.study_load_hours <= 0 or self.ects <= 0:
            raise InvalidInput("study_load_hours: a microcredential needs a positive study load")
        if abs(self.ects * HOURS_PER_EC - self.study_load_hours) > HOURS_PER_EC:
            raise InvalidInput(
                f"ects: {self.ects} EC does not match {self.study_load_hours} h "
                f"({HOURS_PER_EC} h per EC)"
            )

    def check_study_load(self, policy: StudyLoadPolicy) -> None:
        """Refuse a microcredential below the policy's minimum (edubadges have none)."""
        if self.kind == "microcredential":
            policy.check(hours=self.study_load_hours, ects=self.ects)

    def to_record(self) -> dict[str, Any]:
        """The revision's content as recorded in events."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def _text(data: dict[str, Any], name: str) -> str:
    value = data.get(name, "")
    if not isinstance(value, str):
        raise InvalidInput(f"{name}: must be text")
    return value.strip()


def _text_list(data: dict[str, Any], name: str) -> list[str]:
    value = data.get(name, [])
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v for v in value):
        raise InvalidInput(f"{name}: must be a list of non-empty texts")
    return list(value)


def _integer(data: dict[str, Any], name: str) -> int:
    value = data.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{name}: must be a whole number")
    return value


def _optional_integer(data: dict[str, Any], name: str) -> int | None:
    return None if data.get(name) is None else _integer(data, name)


class Achievement(LedgerAggregate):
    """An achievement definition of one issuer, with all its revisions."""

    TOPIC = "ledger/Achievement"

    def signing_authorities(self) -> set[str]:
        return {str(self.issuer_id)}

    @event("Registered")
    def __init__(self, issuer_id: UUID, spec: dict[str, Any], policy: str) -> None:
        self.issuer_id = issuer_id
        self.revisions: dict[int, AchievementSpec] = {1: _spec(spec)}

    @classmethod
    def define(
        cls, *, issuer_id: UUID, spec: AchievementSpec, policy: StudyLoadPolicy
    ) -> Achievement:
        """Register an achievement, refused below the study-load policy in force."""
        spec.check_study_load(policy)
        return cls(issuer_id=issuer_id, spec=spec.to_record(), policy=policy.reference)

    @property
    def revision(self) -> int:
        """The number of the current revision."""
        return max(self.revisions)

    @property
    def current(self) -> AchievementSpec:
        """The content of the current revision."""
        return self.revisions[self.revision]

    def revise(self, spec: AchievementSpec, *, reason: str, policy: StudyLoadPolicy) -> int:
        """Add a revision; returns its number. Earlier revisions stay as they were."""
        if spec.kind != self.current.kind:
            raise InvalidInput("kind: a revision cannot change the kind of achievement")
        if not reason.strip():
            raise InvalidInput("reason: a revision needs a reason")
        spec.check_study_load(policy)
        self._revised(spec=spec.to_record(), reason=reason, policy=policy.reference)
        return self.revision

    @event("Revised")
    def _revised(self, spec: dict[str, Any], reason: str, policy: str) -> None:
        self.revisions[self.revision + 1] = _spec(spec)


def _spec(record: dict[str, Any]) -> AchievementSpec:
    values = dict(record)
    values["learning_outcomes"] = tuple(values.get("learning_outcomes", ()))
    values["ects"] = Decimal(str(values.get("ects", 0)))
    return AchievementSpec(**values)
