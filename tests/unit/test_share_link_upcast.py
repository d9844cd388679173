"""Share links recorded before learners chose their name (class version 1) still read.

The event comes from the log of ``tests/fixtures/log-2026-12-01`` (written by an
earlier commit): it is upcast on reading to version 2 with ``sealed_name`` None,
"made without the choice", which the page says in those words; never "the learner
chose not to show their name", which that learner never did.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eventsourcing.utils import resolve_topic

from ledger.domain.learner import Learner

BUNDLE = Path(__file__).resolve().parents[1] / "fixtures" / "log-2026-12-01" / "bundle.jsonl"
TOPIC = "ledger/Learner/ShareLinkCreated"


def _old_share_link_states() -> list[dict[str, Any]]:
    found = []
    for line in BUNDLE.read_text().splitlines():
        item = json.loads(line)
        if item.get("type") == "event" and item["topic"] == TOPIC:
            found.append(json.loads(item["signed"])["state"])
    return found


def test_an_old_share_link_event_reads_as_made_without_the_choice() -> None:
    states = _old_share_link_states()
    assert len(states) == 1
    state = states[0]
    assert state["class_version"] == 1
    assert "sealed_name" not in state
    cls = resolve_topic(TOPIC)
    assert cls is Learner.ShareLinkCreated
    assert cls.class_version == 2
    upcast = {k: v for k, v in state.items() if k != "class_version"}
    cls.upcast_v1_v2(upcast)
    assert upcast["sealed_name"] is None
    assert {k: v for k, v in upcast.items() if k != "sealed_name"} == {
        k: v for k, v in state.items() if k != "class_version"
    }
