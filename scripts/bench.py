"""Every benchmark, briefly, in one table of ratios against their targets.

    python scripts/bench.py            # small sizes, a few minutes on a shared 2-core machine
    python scripts/bench.py --full     # the sizes of the parts' own defaults (long)
    python scripts/bench.py --only writers,write --verbose

Each part (``bench_<name>.py``, also runnable alone with its own options) returns
``Figure`` rows: a value, the baseline measured in the same run (or an absolute
target), the target, whether it is met, and the 1-minute load average when the part
started (the machine is shared: figures taken at load 6 are not figures taken at
load 1). Parts run one after another so that they do not load each other; a part
that fails is reported in the table and the others still run. Exit status 1 when a
target is missed or a part failed.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable

from benchkit import Figure, load_average, print_figures

#: name -> module; each module has ``measure(full: bool) -> list[Figure]``.
PARTS = (
    "writers",
    "write",
    "projections",
    "ed25519",
    "verify",
    "status_lookup",
    "status_view",
    "http",
    "scale",
)


def _part(name: str) -> Callable[[bool], list[Figure]]:
    module = __import__(f"bench_{name}")
    measure: Callable[[bool], list[Figure]] = module.measure
    return measure


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--full", action="store_true", help="the long sizes")
    parser.add_argument("--only", default=",".join(PARTS), help="comma-separated parts")
    parser.add_argument("--verbose", action="store_true", help="show each part's own output")
    args = parser.parse_args()
    print(
        f"python {platform.python_version()}, {os.cpu_count()} cores, load average "
        f"{load_average():.2f} at start, {'full' if args.full else 'brief'} sizes"
    )
    figures: list[Figure] = []
    failed = False
    for name in args.only.split(","):
        started = time.perf_counter()
        output = io.StringIO()
        try:
            with contextlib.redirect_stdout(sys.stdout if args.verbose else output):
                figures += _part(name)(args.full)
        except Exception as error:
            failed = True
            figures.append(Figure(f"{name}: FAILED ({type(error).__name__}: {error})"[:90], 0.0))
            traceback.print_exc()
        print(f"  {name}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    print()
    print_figures(figures)
    missed = [figure.name for figure in figures if figure.met is False]
    print(f"\n{len(figures)} figures, {len(missed)} targets missed")
    return 1 if failed or missed else 0


if __name__ == "__main__":
    sys.exit(main())
