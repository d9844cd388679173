"""The import rule: dependencies point one way, as each subpackage's docstring states.

One table says what each part of the ledger may import of the ledger (and which
outside libraries it must not touch); the test reads every module's imports from its
syntax tree (nothing is imported or run) and fails naming the module and the import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Where each installed package's files live (pyproject's [tool.setuptools] package-dir).
TREES = {
    "ledger": ROOT / "src" / "ledger",
    "ledger.projections": ROOT / "projections",
    "ledger.api": ROOT / "api",
}

_BASE = {"ledger.errors", "ledger.base64url"}
#: Part of the ledger -> the parts of the ledger it may import (besides itself).
ALLOWED: dict[str, set[str]] = {
    "ledger": set(),
    "ledger.errors": set(),
    "ledger.base64url": set(),
    "ledger.domain": {"ledger.errors"},
    "ledger.eventlog": _BASE | {"ledger.domain"},
    "ledger.settings": _BASE | {"ledger.eventlog"},
    "ledger.standards": _BASE | {"ledger.domain", "ledger.eventlog"},
    "ledger.transparency": _BASE | {"ledger.domain", "ledger.eventlog"},
    "ledger.application": _BASE
    | {"ledger.settings", "ledger.domain", "ledger.eventlog", "ledger.standards"},
    "ledger.audit": _BASE
    | {"ledger.domain", "ledger.eventlog", "ledger.standards", "ledger.transparency"}
    | {"ledger.application"},  # time travel reconstructs records through the Ledger
    "ledger.projections": _BASE
    | {"ledger.domain", "ledger.eventlog", "ledger.standards", "ledger.transparency"}
    | {"ledger.application", "ledger.audit"},
    "ledger.api": _BASE
    | {"ledger.settings", "ledger.domain", "ledger.eventlog", "ledger.standards"}
    | {"ledger.transparency", "ledger.application", "ledger.audit", "ledger.projections"},
    "ledger.cli": {"ledger"},  # the top of the graph: anything
}
#: Single modules allowed more than their package, and why.
EXCEPTIONS: dict[str, set[str]] = {
    # A writer that reads the Merkle projection's committed tree to decide what to
    # sign: it records LogCheckpoints events through the Ledger. It lives with the
    # transparency code it completes; the import points up on purpose, in this one file.
    "ledger.transparency.checkpoint_publisher": {
        "ledger.application",
        "ledger.projections",
        "ledger.settings",
    },
    # Verifying and exporting a live store, shared by `ledger verify`/`ledger export` and
    # the audit pages so both count checkpoints the same way: it opens the store from the
    # settings and compares the log with the read side (the Merkle projection's
    # checkpoints, the agreement check). It imports the projections inside its functions
    # only (they import the audit package), in this one file.
    "ledger.audit.live_store": {"ledger.projections", "ledger.settings"},
}
#: Outside libraries a part must never import.
FORBIDDEN_LIBRARIES: dict[str, set[str]] = {
    "ledger.domain": {
        "cryptography",
        "psycopg",
        "orjson",
        "fastapi",
        "starlette",
        "pydantic",
        "jwt",
        "sqlite3",
    },
    "ledger.eventlog": {"fastapi", "starlette", "pydantic", "jwt"},
    "ledger.standards": {"fastapi", "starlette", "pydantic", "jwt", "psycopg"},
    "ledger.transparency": {"fastapi", "starlette", "pydantic", "jwt"},
    "ledger.application": {"fastapi", "starlette", "pydantic", "jwt", "uvicorn"},
    "ledger.audit": {"fastapi", "starlette", "pydantic", "jwt", "uvicorn"},
    "ledger.projections": {"fastapi", "starlette", "pydantic", "jwt", "uvicorn"},
}


def part_of(module: str) -> str:
    """The row of the table a module falls under (``ledger.domain.base`` -> ``ledger.domain``)."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def imported(source: str, module: str) -> list[str]:
    """Every module a source text imports (relative imports resolved against ``module``)."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")[: -node.level]
                base = ".".join([*anchor, base] if base else anchor)
            found += [f"{base}.{alias.name}" if base == "ledger" else base for alias in node.names]
    return found


def violations(module: str, source: str) -> list[str]:
    """The imports of ``module`` (given as source text) that the table forbids."""
    part = part_of(module)
    if part not in ALLOWED:
        return [f"{module}: part {part} is not in the import table"]
    allowed = ALLOWED[part] | EXCEPTIONS.get(module, set()) | {part}
    wrong = []
    for name in imported(source, module):
        top = name.split(".")[0]
        if top == "ledger":
            target = part_of(name)
            if not ({target, "ledger"} & allowed) and name != "ledger":
                wrong.append(f"{module} imports {name}")
        elif top in FORBIDDEN_LIBRARIES.get(part, set()):
            wrong.append(f"{module} imports {name}")
    return wrong


def modules() -> list[tuple[str, Path]]:
    """Every module of the three trees, by the name the package imports it by."""
    found = []
    for package, folder in TREES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = [*package.split("."), *path.relative_to(folder).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            found.append((".".join(parts), path))
    return found


def test_every_module_imports_only_what_its_part_may() -> None:
    found = modules()
    assert len(found) > 80
    wrong = [v for module, path in found for v in violations(module, path.read_text())]
    assert wrong == []


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("ledger.domain.credential", "from ledger.eventlog.envelope import GENESIS\n"),
        ("ledger.domain.base", "import cryptography.hazmat\n"),
        ("ledger.domain.base", "from ledger import settings\n"),
        ("ledger.eventlog.chain", "from ledger.application.ledger import Ledger\n"),
        ("ledger.application.ledger", "from fastapi import Request\n"),
        ("ledger.application.ledger", "from ledger.projections.runner import ProjectionRunner\n"),
        ("ledger.projections.status", "from ledger.api.deps import Services\n"),
        ("ledger.projections.backpack", "def f():\n    from starlette.requests import Request\n"),
        ("ledger.standards.open_badges", "from ..application import authorization\n"),
        ("ledger.transparency.merkle_tree", "from ledger.projections import runner\n"),
    ],
)
def test_a_forbidden_import_is_named(module: str, source: str) -> None:
    [violation] = violations(module, source)
    assert violation.startswith(f"{module} imports ")


def test_allowed_imports_pass() -> None:
    assert violations("ledger.domain.credential", "from ledger.errors import InvalidInput\n") == []
    assert violations("ledger.cli.main", "from ledger.api.app import create_app\n") == []
    assert (
        violations(
            "ledger.transparency.checkpoint_publisher", "from ledger.projections.runner import X\n"
        )
        == []
    )


def test_every_package_docstring_states_its_rule() -> None:
    """Each subpackage says in its docstring what it may import (the table's source)."""
    for part in ALLOWED:
        if part == "ledger":
            continue
        name = part.removeprefix("ledger.")
        folder = TREES.get(part, TREES["ledger"] / name)
        init = folder / "__init__.py"
        if not init.exists():
            continue  # a module (errors, settings, base64url), not a package
        doc = ast.get_docstring(ast.parse(init.read_text())) or ""
        assert "may import" in doc.lower(), f"{init} states no import rule"
