"""Where the public conformance fixtures live: ``<repo>/../shared/vectors/external``.

CI checks the repository out with ``shared/vectors`` beside the clone; a
developer's worktree may sit one level deeper (``wt/<name>``), so each parent
of the repository is tried in turn. ``LEDGER_SHARED_VECTORS`` overrides the
search. A missing folder fails the test that needs it, naming where it looked,
rather than skipping: a silent skip would hide that no fixture was checked.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]


def _candidates() -> list[Path]:
    override = os.environ.get("LEDGER_SHARED_VECTORS")
    if override:
        return [Path(override) / "external"]
    return [parent / "shared" / "vectors" / "external" for parent in REPO.parents]


def external_root() -> Path:
    """The ``external`` fixtures folder, or a test failure naming where it was sought."""
    for candidate in _candidates():
        if (candidate / "README.md").is_file():
            return candidate
    looked = ", ".join(str(c) for c in _candidates()[:3])
    pytest.fail(f"public fixtures not found (looked in {looked}); set LEDGER_SHARED_VECTORS")


def external(*parts: str) -> Path:
    """A path inside the external fixtures."""
    return external_root().joinpath(*parts)


def load_json(*parts: str) -> Any:
    """A fixture parsed as JSON."""
    return json.loads(external(*parts).read_text(encoding="utf-8"))
