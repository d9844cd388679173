"""Does the read side agree with the log? Each credential's state and status bits.

``ledger verify`` proves the log; a projection table edited behind the runner's
back (a revoked credential set back to active, a status bit cleared) would still
serve a wrong answer. This recomputes what matters most from the log's topics, up
to the position the projections have reached, and names every credential whose
projected state or status bits differ.
"""

from __future__ import annotations

from typing import Any

from ledger.projections.backpack import STATE_BY_TOPIC
from ledger.projections.runner import ProjectionRunner

from ledger.standards.bitstring_status_list import Bitstring

ISSUED = "ledger/Credential/Issued"
PAGE = 5000
TOPICS = (ISSUED, *STATE_BY_TOPIC)


def read_side_disagreements(runner: ProjectionRunner, *, limit: int = 20) -> list[str]:
    """Up to ``limit`` descriptions of credentials whose read side differs from the log."""
    reached = {name: position for name, position in runner.positions().items()}
    upto = min(reached.get("backpack", 0), reached.get("status", 0))
    states = _states_from_log(runner, upto)
    found: list[str] = []
    projected = dict(runner.query("SELECT credential_id, state FROM backpack_credentials"))
    bits = _status_bits(runner)
    for credential_id, state in states.items():
        if projected.get(credential_id) != state:
            found.append(
                f"credential {credential_id}: the log says {state}, the backpack "
                f"says {projected.get(credential_id)}"
            )
        expected = (state == "revoked", state == "suspended")
        if credential_id in bits and bits[credential_id] != expected:
            found.append(
                f"credential {credential_id}: the log says {state}, the status lists say "
                f"revoked={bits[credential_id][0]} suspended={bits[credential_id][1]}"
            )
        if len(found) >= limit:
            break
    for credential_id in sorted(set(projected) - set(states))[: max(0, limit - len(found))]:
        found.append(f"credential {credential_id}: on the read side but not in the log")
    return found


def _states_from_log(runner: ProjectionRunner, upto: int) -> dict[str, str]:
    """Each credential's state from the topics of its events (no clock: expiry is a read)."""
    states: dict[str, str] = {}
    after = 0
    recorder = runner.ledger.recorder
    while after < upto:
        page = recorder.select_notifications(
            start=after, limit=PAGE, stop=upto, topics=TOPICS, inclusive_of_start=False
        )
        if not page:
            break
        for notification in page:
            topic = notification.topic
            if topic == ISSUED:
                states[str(notification.originator_id)] = "active"
            elif topic in STATE_BY_TOPIC:
                states[str(notification.originator_id)] = STATE_BY_TOPIC[topic]
        after = page[-1].id
    return states


def _status_bits(runner: ProjectionRunner) -> dict[str, tuple[bool, bool]]:
    """Each credential's (revoked, suspended) bits as the status lists hold them."""
    lists: dict[tuple[Any, Any, str], Bitstring] = {
        (issuer, number, purpose): Bitstring.from_bytes(bytes(raw))
        for issuer, number, purpose, raw in runner.query(
            "SELECT issuer_id, list_number, purpose, bits FROM status_lists"
        )
    }
    found: dict[str, tuple[bool, bool]] = {}
    for credential_id, issuer, number, index in runner.query(
        "SELECT credential_id, issuer_id, list_number, status_index FROM status_entries"
    ):
        revocation = lists.get((issuer, number, "revocation"))
        suspension = lists.get((issuer, number, "suspension"))
        if revocation is None or suspension is None:
            continue
        found[str(credential_id)] = (revocation.get(int(index)), suspension.get(int(index)))
    return found
