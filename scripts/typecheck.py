"""mypy --strict over every tree: src/, projections/, api/ and tests/, as the package sees them.

``projections/`` and ``api/`` are installed as ``ledger.projections`` and ``ledger.api``
(``[tool.setuptools] package-dir`` in pyproject.toml), a mapping mypy's file finder
cannot express: given ``api/deps.py`` it would call the module ``api.deps``, and an
import of ``ledger.api.deps`` would not find it. This script reads the mapping from
pyproject.toml and hands mypy every file under its package name (``tests/`` as
``tests``), with the options of ``[tool.mypy]``, so each file is checked once, under
the name the code imports it by, and errors name the real paths.

    .venv/bin/python scripts/typecheck.py       # exit status 1 on any error
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

from mypy import build
from mypy.main import process_options
from mypy.modulefinder import BuildSource

ROOT = Path(__file__).resolve().parent.parent


def package_trees() -> dict[str, Path]:
    """Package name -> folder, from the setuptools mapping, plus the tests."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    mapping = config["tool"]["setuptools"]["package-dir"]
    trees = {package: ROOT / folder for package, folder in mapping.items()}
    trees["tests"] = ROOT / "tests"
    return trees


def sources() -> list[BuildSource]:
    """Every Python file of every tree, named as its package imports it."""
    trees = package_trees()
    claimed = set(trees.values())
    found: list[BuildSource] = []
    for package, folder in trees.items():
        for path in sorted(folder.rglob("*.py")):
            relative = path.relative_to(folder)
            # A folder mapped to a package of its own is that package's, not this one's.
            if any(
                parent in claimed
                for parent in path.parents
                if parent != folder and folder in parent.parents
            ):
                continue
            parts = [*package.split("."), *relative.with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            found.append(BuildSource(str(path.relative_to(ROOT)), ".".join(parts), None))
    return found


def main() -> int:
    """Run mypy; print its messages; 0 when there are none."""
    _, options = process_options(
        ["--config-file", str(ROOT / "pyproject.toml")], require_targets=False
    )
    result = build.build(sources(), options)
    for line in result.errors:
        print(line)
    sys.stdout.flush()
    if result.errors:
        print(f"mypy: {len(result.errors)} messages", file=sys.stderr)
        return 1
    print(f"mypy --strict: no issues in {len(sources())} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
