"""Institution profiles and study-load policy adoption: rules that hold for all inputs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.domain.issuer import Issuer, check_identifiers, check_public_url
from ledger.domain.policy import (
    NATIONAL_EXPERIMENT_1EC,
    NATIONAL_PILOT,
    alternatives,
    policy_for_period,
)
from ledger.errors import InvalidInput, RuleViolation

WINDOW_START = datetime(2025, 5, 1, tzinfo=UTC)
WINDOW_END = datetime(2027, 4, 30, tzinfo=UTC)
instants = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2032, 1, 1), timezones=st.just(UTC)
)


@given(start=instants, length=st.integers(min_value=1, max_value=3000))
def test_the_experiment_is_adopted_only_inside_its_window(start: datetime, length: int) -> None:
    until = start + timedelta(days=length)
    inside = start >= WINDOW_START and until <= WINDOW_END
    if inside:
        policy = policy_for_period(NATIONAL_EXPERIMENT_1EC.policy_id, start=start, until=until)
        assert (policy.in_force_from, policy.in_force_until) == (start, until)
        assert policy.min_hours == 28
    else:
        with pytest.raises(InvalidInput, match="2025-05-01 to 2027-04-30"):
            policy_for_period(NATIONAL_EXPERIMENT_1EC.policy_id, start=start, until=until)


def test_the_experiment_ends_with_its_window_and_unknown_policies_are_refused() -> None:
    assert policy_for_period(NATIONAL_EXPERIMENT_1EC.policy_id).in_force_until == WINDOW_END
    with pytest.raises(InvalidInput, match="one of"):
        policy_for_period("anything-goes")
    with pytest.raises(InvalidInput, match="time zone"):
        policy_for_period(NATIONAL_PILOT.policy_id, start=datetime(2026, 1, 1))


def test_alternatives_are_lower_minimums_in_force_then() -> None:
    inside = datetime(2026, 1, 1, tzinfo=UTC)
    assert alternatives(NATIONAL_PILOT, inside) == [NATIONAL_EXPERIMENT_1EC]
    assert alternatives(NATIONAL_PILOT, datetime(2028, 1, 1, tzinfo=UTC)) == []
    assert alternatives(NATIONAL_EXPERIMENT_1EC, inside) == []


@pytest.mark.parametrize(
    ("identifiers", "ok"),
    [
        ({"BRIN": "21PB"}, True),
        ({"OIN": "00000001003214345000"}, True),
        ({"KvK": "12345678"}, True),
        ({"BRIN": "21pb"}, False),
        ({"BRIN": "21PBX"}, False),
        ({"OIN": "1234"}, False),
        ({"": "x"}, False),
        ({"bad scheme": "x"}, False),
        ({"KvK": " "}, False),
    ],
)
def test_identifiers(identifiers: dict[str, str], ok: bool) -> None:
    if ok:
        assert check_identifiers(identifiers) == identifiers
    else:
        with pytest.raises(InvalidInput):
            check_identifiers(identifiers)


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://www.uu.nl", True),
        ("", True),
        ("http://127.0.0.1:8000/logo.png", True),
        ("http://www.uu.nl", False),
        ("javascript:alert(1)", False),
        ("https://", False),
        ("https://www.uu.nl/a b", False),
    ],
)
def test_public_urls(url: str, ok: bool) -> None:
    if ok:
        assert check_public_url("homepage", url) == url
    else:
        with pytest.raises(InvalidInput):
            check_public_url("homepage", url)


def test_a_profile_edit_records_only_what_changes() -> None:
    issuer = Issuer.register(name="Uni", country="NL", identifiers={}, homepage="https://u.nl")
    assert issuer.profile()["homepage"] == "https://u.nl"
    with pytest.raises(RuleViolation, match="nothing to change"):
        issuer.edit_profile(name="Uni", homepage="https://u.nl")
    issuer.edit_profile(name="Universiteit", homepage="https://u.nl")
    events = issuer.collect_events()
    assert events[-1].changes == {"name": "Universiteit"}  # type: ignore[attr-defined]
    with pytest.raises(InvalidInput):
        issuer.edit_profile(name=" ")
