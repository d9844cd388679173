"""What the read side remembers of each record's history, held against the store.

The projections were built from verified events. If a record's newest events were
later deleted from the log (raw SQL, a restored backup), the record loads as it was
before them, and a new event would fill the gap with a valid chain; the audit trail
still knows the record's last version and hash. A write is refused when the record
it builds on is behind what the read side saw, or differs from it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from ledger.errors import TamperDetected

if TYPE_CHECKING:
    from ledger.projections.runner import ProjectionRunner


class RecordedHistory:
    """Checks a record about to be written on against the audit trail's copy."""

    def __init__(self, runner: ProjectionRunner) -> None:
        self.runner = runner

    def check(self, record_id: UUID, version: int, head: str) -> None:
        """Raise ``TamperDetected`` if the stored history of ``record_id`` was cut or altered.

        ``version`` and ``head`` describe the record as it was loaded from the store
        (its last stored version and the hash of that event).
        """
        rows = self.runner.query(
            "SELECT originator_version, event_hash FROM audit_events WHERE originator_id = ? "
            "AND originator_version >= ? ORDER BY originator_version",
            (str(record_id), version),
        )
        if not rows:
            return  # the read side has not seen this far yet: nothing to hold it to
        seen = {int(v): str(h) for v, h in rows}
        if version in seen and seen[version] != head:
            raise TamperDetected(
                f"record {record_id} v{version} in the store differs from the event the "
                "read side verified; writes on it are refused until the log is restored"
            )
        later = max(seen)
        if later > version and not self.runner.ledger.recorder.select_events(
            record_id, gt=version, limit=1
        ):
            raise TamperDetected(
                f"record {record_id} has lost its events after v{version} (the read side "
                f"verified up to v{later}); writes on it are refused until the log is restored"
            )
