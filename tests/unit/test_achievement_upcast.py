"""Achievements recorded before SURF's value lists (class version 1) still read.

The events come from the log of ``tests/fixtures/log-2026-12-01`` (written by
an earlier commit): their spec is upcast on reading to version 2, mapping the
old participation forms onto SURF's list and keeping a free-text assessment
as ``assessment_description``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eventsourcing.utils import resolve_topic

from ledger.domain.achievement import (
    ASSESSMENT_TYPES,
    PARTICIPATION_FORMS,
    Achievement,
    AchievementSpec,
    _spec,
    upcast_spec_v1,
)
from ledger.standards.bitstring_status_list import Bitstring, interleave

BUNDLE = Path(__file__).resolve().parents[1] / "fixtures" / "log-2026-12-01" / "bundle.jsonl"


def _old_achievement_states() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for line in BUNDLE.read_text().splitlines():
        item = json.loads(line)
        if item.get("type") == "event" and item["topic"].startswith("ledger/Achievement/"):
            found.append((item["topic"], json.loads(item["signed"])["state"]))
    return found


def test_old_achievement_events_read_in_surf_terms() -> None:
    states = _old_achievement_states()
    assert len(states) == 3
    for topic, state in states:
        assert state["class_version"] == 1
        cls = resolve_topic(topic)
        assert cls is Achievement.Registered  # type: ignore[attr-defined]
        assert cls.class_version == 2
        upcast = {k: v for k, v in state.items() if k != "class_version"}
        cls.upcast_v1_v2(upcast)
        spec = _spec(upcast["spec"])
        assert isinstance(spec, AchievementSpec)
        assert spec.participation_form in ("", *PARTICIPATION_FORMS)
        assert spec.assessment_type in ("", *ASSESSMENT_TYPES)
        if state["spec"]["assessment_type"]:
            assert spec.assessment_description == state["spec"]["assessment_type"]
    data_science = next(s for _, s in states if s["spec"]["title"] == "Data Science Foundations")
    assert data_science["spec"]["participation_form"] == "blended"
    assert upcast_spec_v1(data_science["spec"])["participation_form"] == "onsite or blended"


def test_upcast_keeps_values_already_in_surf_lists() -> None:
    record = {"participation_form": "online", "assessment_type": "portfolio"}
    assert upcast_spec_v1(record) == record


def test_interleave_puts_revocation_in_the_high_bit() -> None:
    revoked, suspended = Bitstring(), Bitstring()
    revoked.set(3, True)
    suspended.set(3, True)
    suspended.set(8, True)
    revoked.set(131_071, True)
    both = interleave(revoked, suspended)
    assert len(both) == 2 * 131_072
    assert both.get_status(3, 2) == 3
    assert both.get_status(8, 2) == 1
    assert both.get_status(131_071, 2) == 2
    assert both.get_status(0, 2) == 0
    assert both.count() == 4
