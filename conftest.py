"""How long each notebook takes under nbval: the slowest are reported, and a limit can be enforced.

``pytest --nbval solutions --notebook-time-limit 60`` (as ``make test`` runs it) sums the time of
every cell of each notebook (the kernel's start included: nbval starts it in the first cell's
set-up), prints the slowest notebooks at the end, and fails the run when one took longer than
the limit. Each notebook of the course is meant to run in under 60 s on a 2-core laptop.
"""
from __future__ import annotations

from collections import defaultdict

import pytest

_seconds: dict[str, float] = defaultdict(float)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--notebook-time-limit", type=float, default=None, metavar="SECONDS",
        help="fail when a notebook's cells take longer than this in all (nbval runs)",
    )


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    path = report.nodeid.split("::", 1)[0]
    if path.endswith(".ipynb"):
        _seconds[path] += report.duration


def slow_notebooks(limit: float) -> list[tuple[str, float]]:
    """Return (notebook, seconds) of every notebook that took longer than ``limit``."""
    return [(path, s) for path, s in _seconds.items() if s > limit]


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    if not _seconds:
        return
    terminalreporter.section("notebook run times")
    for path, seconds in sorted(_seconds.items(), key=lambda item: -item[1])[:5]:
        terminalreporter.write_line(f"{seconds:6.1f} s  {path}")
    limit = config.getoption("--notebook-time-limit")
    for path, seconds in slow_notebooks(limit) if limit else []:
        terminalreporter.write_line(f"TOO SLOW: {path} took {seconds:.1f} s, over the limit of {limit:g} s", red=True)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    limit = session.config.getoption("--notebook-time-limit")
    if limit and slow_notebooks(limit) and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
