"""The result of one exercise check, shown as one coloured line in Jupyter and plain text elsewhere."""
from __future__ import annotations

import html
import json
import os
from dataclasses import dataclass

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


@dataclass(frozen=True)
class CheckResult:
    """Return value of every ``attnlib.check.<exercise>``: status plus a message that explains it.

    exercise: the exercise's name; status: "passed", "failed" or "not attempted";
    message: what was checked, or what went wrong and a hint at the fix.
    """

    exercise: str
    status: str
    message: str

    def __post_init__(self) -> None:
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
