"""Days chosen in the console's forms and filters, as instants in UTC.

A day field (``<input type="date">``) sends ``2026-09-01``; the read model and the
policies compare instants. One function turns the one into the other, so that every
page reads a day the same way: blank means no bound, and a last day is included
(its bound is the start of the next day).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta


def day_start(text: str, *, end: bool = False) -> datetime | None:
    """The instant a chosen day starts in UTC (for ``end``: the next day starts, so the
    day itself is included); None when no day was chosen. A text that is no date raises
    ``ValueError``, for the page to show as a field error."""
    text = text.strip()
    if not text:
        return None
    start = datetime.combine(date.fromisoformat(text), time(0), tzinfo=UTC)
    return start + timedelta(days=1) if end else start
