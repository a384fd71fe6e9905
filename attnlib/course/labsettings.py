"""JupyterLab defaults for the course's environment: no news pop-up.

A fresh JupyterLab greets a learner with "Would you like to get notified about official Jupyter
news?". That does not help someone who came to learn attention, and offline the news request can
only fail.
JupyterLab reads default settings for one installation from
``<sys.prefix>/share/jupyter/lab/settings/overrides.d/*.json``: ``python -m attnlib lab-defaults``
(run by ``make install``) writes the course's file there. A learner's own settings still win,
and nothing outside the environment is touched.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

#: setting id -> values; the browser test starts JupyterLab with these same settings
COURSE_DEFAULTS: dict[str, dict] = {
    # never fetch news or check for updates, so never ask whether to
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
}
FILE_NAME = "attention-course.json"


def overrides_path(prefix: str | Path = sys.prefix) -> Path:
    """Return where this environment's JupyterLab reads the course's default settings."""
    return Path(prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.d" / FILE_NAME


def write_defaults(prefix: str | Path = sys.prefix) -> Path:
    """Write COURSE_DEFAULTS for the JupyterLab of environment ``prefix`` and return the file's path."""
    path = overrides_path(prefix)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(COURSE_DEFAULTS, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path
