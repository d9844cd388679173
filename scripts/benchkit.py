"""What every benchmark shares: a measured figure, the machine's load, a scratch schema.

Benchmarks measure ratios against a baseline taken in the same run (the machine is
shared, so absolute rates drift with other people's work); each part returns
``Figure`` rows that ``scripts/bench.py`` prints as one table.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg

POSTGRES = os.environ.get("LEDGER_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


@dataclass(frozen=True)
class Figure:
    """One measured figure: ``value`` against ``baseline`` (or an absolute target)."""

    name: str
    value: float
    baseline: float | None = None
    target: float | None = None
    unit: str = ""
    note: str = ""
    load: float | None = None
    #: The target is a ceiling (errors, bytes, growth) rather than a floor.
    at_most: bool = False

    @property
    def ratio(self) -> float | None:
        """value / baseline, when there is a baseline."""
        if self.baseline is None or self.baseline == 0:
            return None
        return self.value / self.baseline

    @property
    def measured(self) -> float:
        """What is held against the target: the ratio, or the value itself."""
        ratio = self.ratio
        return self.value if ratio is None else ratio

    @property
    def met(self) -> bool | None:
        """Whether the target is reached (None: no target, informational)."""
        if self.target is None:
            return None
        if self.at_most:
            return self.measured <= self.target
        return self.measured >= self.target


def load_average() -> float:
    """The 1-minute load average (the machine is shared: report it with every figure)."""
    return os.getloadavg()[0]


@contextmanager
def postgres_schema(prefix: str = "bench") -> Iterator[str]:
    """A fresh PostgreSQL schema on 127.0.0.1, dropped afterwards."""
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield schema
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def postgres_url(schema: str) -> str:
    """The store URL of a schema."""
    return f"{POSTGRES}?schema={schema}"


def _target(figure: Figure) -> str:
    if figure.target is None:
        return ""
    shown = format(figure.target, ",.0f") if figure.target >= 100 else format(figure.target, "g")
    return ("<=" if figure.at_most else "") + shown


def print_figures(figures: list[Figure]) -> None:
    """One table: name, value, baseline, ratio, target, met."""
    header = f"{'figure':<58} {'value':>12} {'baseline':>12} {'ratio':>7} {'target':>8} {'met':>4} {'load':>5}"
    print(header)
    print("-" * len(header))
    for figure in figures:
        ratio = figure.ratio
        met = {None: "", True: "yes", False: "NO"}[figure.met]
        print(
            f"{figure.name:<58} {figure.value:>12,.1f} "
            f"{'' if figure.baseline is None else format(figure.baseline, '>12,.1f'):>12} "
            f"{'' if ratio is None else format(ratio, '.2f'):>7} "
            f"{_target(figure):>8} {met:>4} "
            f"{'' if figure.load is None else format(figure.load, '.1f'):>5}"
        )
        if figure.note:
            print(f"    {figure.note}")
