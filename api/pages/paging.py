"""The pages of the console's long lists (claims inbox, issued list): the cursor and
the links of the pager.

A list is paged by the last id shown (``after``), not by a page number, so that a
page stays right while new rows arrive. The filters stay in the URL, so each page
can be bookmarked; the pager (``components.html``) links to the first page and to
the next.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode
from uuid import UUID


def cursor(after: str) -> str | None:
    """The id a page starts after (None: the first page; a malformed one is ignored)."""
    try:
        return str(UUID(after)) if after else None
    except ValueError:
        return None


def pager(path: str, given: dict[str, str], after: str, last: Any | None) -> dict[str, Any]:
    """The pager's links: ``next_url`` (when a full page ended at ``last``) and
    ``first_url`` (when this is not the first page), each with the filters ``given``."""
    kept = {k: v for k, v in given.items() if v}
    return {
        "next_url": f"{path}?{urlencode({**kept, 'after': last})}" if last else None,
        "first_url": f"{path}?{urlencode(kept)}" if after else None,
    }
