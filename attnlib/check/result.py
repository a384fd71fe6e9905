"""The result of one exercise check, shown as one coloured line in Jupyter and plain text elsewhere.

In IPython (Jupyter, the terminal) a check shows its verdict as soon as it has one, wherever the
call stands in the cell: the last line, followed by a ``print``, ended by ``;``, or inside a loop.
When the call is also the cell's last expression, IPython asks the result to show itself again;
it then does nothing, because it has already been shown in this cell. So a verdict shows exactly
once per cell. (A result kept in a variable and shown in a later cell shows again there.)
"""
from __future__ import annotations

import html
import json
import os
from dataclasses import dataclass, field

#: when this environment variable names a file, every CheckResult made is appended to it as one
#: JSON line: how ``python -m attnlib progress`` collects results from a notebook's kernel
RECORD_ENV = "ATTNLIB_PROGRESS_LOG"

PASSED = "passed"
FAILED = "failed"
NOT_ATTEMPTED = "not attempted"

_STYLE = {
    PASSED: ("✔", "#1a7f37", "#e6f4ea"),
    FAILED: ("✘", "#b3261e", "#fdecea"),
    NOT_ATTEMPTED: ("○", "#5f6368", "#f1f3f4"),
}

#: the latest result of each exercise in this process, by name: what ``check.graded`` reads
LATEST: dict[str, "CheckResult"] = {}

# Which cell IPython is running: a counter moved on by a pre_run_cell hook. (IPython's own
# execution_count does not move when cells run with store_history=False, as nbval runs them.)
_cell = {"number": 0, "hooked": None}


def _shell():
    """Return the running IPython shell, with the cell counter hooked into it, or None outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    if shell is not None and _cell["hooked"] is not shell:
        def next_cell(*_args) -> None:
            _cell["number"] += 1

        shell.events.register("pre_run_cell", next_cell)
        _cell["hooked"] = shell
    return shell


@dataclass(frozen=True)
class CheckResult:
    """Return value of every ``attnlib.check.<exercise>``: status plus a message that explains it.

    exercise: the exercise's name; status: "passed", "failed" or "not attempted";
    message: what was checked, or what went wrong and a hint at the fix.
    """

    exercise: str
    status: str
    message: str
    _shown_in: list = field(default_factory=list, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        LATEST[self.exercise] = self
        record = os.environ.get(RECORD_ENV)
        if record:
            line = json.dumps({"exercise": self.exercise, "status": self.status, "message": self.message})
            with open(record, "a", encoding="utf-8") as log:
                log.write(line + "\n")

    @property
    def passed(self) -> bool:
        """Return True when the learner's answer passed every case."""
        return self.status == PASSED

    def __str__(self) -> str:
        message = " ".join(self.message.split())  # one line, even when an array or a traceback spans several
        return f"{_STYLE[self.status][0]} {self.exercise}: {self.status} — {message}"

    def __repr__(self) -> str:
        return str(self)

    def __bool__(self) -> bool:
        return self.passed

    def _repr_html_(self) -> str:
        symbol, colour, background = _STYLE[self.status]
        return (
            f'<div style="border-left:4px solid {colour};background:{background};color:{colour};'
            f'padding:4px 8px;font-family:sans-serif">'
            f"<b>{symbol} {html.escape(self.exercise)}: {self.status}</b> — "
            f'<span style="color:#202124">{html.escape(self.message)}</span></div>'
        )

    def _ipython_display_(self) -> None:
        """Show the verdict in IPython, unless it was already shown in the cell that is running."""
        if _shell() is None:
            return
        if self._shown_in == [_cell["number"]]:
            return
        self._shown_in[:] = [_cell["number"]]
        from IPython.display import display

        display({"text/plain": str(self), "text/html": self._repr_html_()}, raw=True)

    def announce(self) -> "CheckResult":
        """Return this result after showing it at once when running in IPython (nothing happens elsewhere)."""
        if _shell() is not None:
            self._ipython_display_()
        return self
