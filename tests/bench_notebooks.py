"""Where the test time goes: each notebook top to bottom, its slowest cells, and the slowest unit tests.

``make bench-notebooks`` runs this. Every solution notebook is executed once in a fresh kernel
(nbclient, as nbval does; the kernel's start included), never written back. The goal is at most
``GOAL_S`` seconds per notebook on a 2-core laptop; the test suite's hard limit is 60 s
(``--notebook-time-limit``). This is a measurement, not a test: it prints, it does not fail.

    python tests/bench_notebooks.py                 # notebooks, then the unit tests
    python tests/bench_notebooks.py --no-unit       # notebooks only
    python tests/bench_notebooks.py solutions/02_bottleneck.ipynb
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parent.parent
GOAL_S = 20.0


def _seconds(cell) -> float:
    """Return how long a cell ran, from the timing nbclient records in its metadata."""
    timing = cell.get("metadata", {}).get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return 0.0
    parse = lambda stamp: datetime.fromisoformat(stamp.replace("Z", "+00:00"))  # noqa: E731
    return (parse(end) - parse(start)).total_seconds()


def time_notebook(path: Path) -> tuple[float, list[tuple[float, str]]]:
    """Return (seconds from kernel start to the last cell, [(seconds, cell id)] slowest first) for one run."""
    nb = nbformat.read(str(path), as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", record_timing=True,
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    total = time.perf_counter() - start
    cells = sorted(((_seconds(c), c.get("id", "?")) for c in nb.cells if c.cell_type == "code"), reverse=True)
    return total, cells


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every solution notebook")
    parser.add_argument("--no-unit", action="store_true", help="skip timing the unit tests")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((REPO / "solutions").glob("[0-9][0-9]_*.ipynb"))

    print(f"{len(paths)} notebooks, each top to bottom in a fresh kernel ({os.cpu_count()} CPUs here; goal <= {GOAL_S:g} s on 2 cores)")
    results = []
    for path in paths:
        total, cells = time_notebook(path)
        results.append((total, path.name, cells))
        slowest = ", ".join(f"{cid} {s:.1f} s" for s, cid in cells[:3])
        flag = "  OVER THE GOAL" if total > GOAL_S else ""
        print(f"{total:6.1f} s  {path.name:<32} slowest cells: {slowest}{flag}", flush=True)
    print(f"{sum(r[0] for r in results):6.1f} s  all notebooks together")

    if not args.no_unit:
        print("\nunit tests (pytest tests --ignore=tests/browser), the 15 slowest:", flush=True)
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "tests", "--ignore=tests/browser", "-q", "-rf", "--durations=15", "-p", "no:randomly"],
            cwd=REPO, capture_output=True, text=True,
        )
        lines = done.stdout.splitlines()
        keep = [l for l in lines if l.startswith("FAILED") or "s call" in l or "s setup" in l or "s teardown" in l or " passed" in l or " failed" in l]
        print("\n".join(keep[-17:]))
        print(f"{time.perf_counter() - start:6.1f} s  the unit tests in all")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
