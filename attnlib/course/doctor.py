"""An environment check for learners: ``python -m attnlib doctor`` says what is wrong, in plain words.

It looks at the Python version, the packages the course needs (installed? new enough? the
version the course is tested with?), whether PyTorch actually imports, whether JupyterLab can
draw widgets, and which Python the notebooks' kernel ("python3") will run in, and whether that
Python can import this attnlib. Every finding is "ok", "note" (works, but worth knowing) or
"PROBLEM" with the fix.
"""
from __future__ import annotations

import importlib.metadata as metadata
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

#: the course folder (this file is attnlib/doctor.py); REPO too, but build needs nbformat
REPO = Path(__file__).resolve().parents[2]  # attnlib/course/doctor.py -> the course folder

OK, NOTE, PROBLEM = "ok", "note", "PROBLEM"

#: distributions the notebooks need, and what each is for (the words a learner reads)
NEEDED = {
    "numpy": "arrays, every reference implementation",
    "torch": "PyTorch, the oracle and the training cells",
    "matplotlib": "the figures",
    "ipywidgets": "the sliders",
    "jupyterlab": "JupyterLab, where you work",
    "ipykernel": "the Python kernel the notebooks run in",
    "nbformat": "reading notebooks",
    "nbclient": "running notebooks headlessly: progress report, tests",
    "nbval": "testing the notebooks",
    "pytest": "the test command",
    "pytest-xdist": "the test command, on two CPUs at once",
}
MIN_PYTHON = (3, 10)


@dataclass
class Finding:
    """One line of the doctor's report: a level (ok, note, PROBLEM), what was found, how to fix it."""

    level: str
    what: str
    fix: str = ""

    def __str__(self) -> str:
        text = f"{self.level:<7} {self.what}"
        return text + (f"\n        -> {self.fix}" if self.fix else "")


def installed_version(name: str) -> str | None:
    """Return the installed version of a distribution, or None when it is not installed."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def course_pins(requirements: Path = REPO / "requirements.txt") -> dict[str, str]:
    """Return {distribution: version} of the exact pins in requirements.txt ({} when there is none)."""
    if not requirements.exists():
        return {}
    pins = {}
    for line in requirements.read_text().splitlines():
        match = re.match(r"^\s*([A-Za-z0-9_.-]+)\s*==\s*([^\s;#]+)", line)
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def course_minimums(pyproject: Path = REPO / "pyproject.toml") -> dict[str, str]:
    """Return {distribution: minimum version} of the course's requirements (">=" bounds).

    Read from pyproject.toml when the course folder has one (an installed copy's metadata can be
    older than the folder it was installed from), else from attnlib's installed metadata.
    """
    if pyproject.exists():
        text = pyproject.read_text(encoding="utf-8")
        block = re.search(r"^dependencies\s*=\s*\[(.*?)^\]", text, re.S | re.M)
        requires = re.findall(r'"([^"]+)"', block.group(1)) if block else []
    else:
        try:
            requires = metadata.requires("attnlib") or []
        except metadata.PackageNotFoundError:
            return {}
    found = {}
    for requirement in requires:
        match = re.match(r"^\s*([A-Za-z0-9_.-]+)\s*>=\s*([0-9][^\s,;]*)", requirement)
        if match:
            found[match.group(1).lower()] = match.group(2)
    return found


def _version_tuple(version: str) -> tuple[int, ...]:
    """Return the leading numeric parts of a version string: "2.13.0+cpu" -> (2, 13, 0)."""
    parts = []
    for piece in re.split(r"[.+-]", version):
        if not piece.isdigit():
            break
        parts.append(int(piece))
    return tuple(parts)


def check_python(version: tuple[int, ...] = tuple(sys.version_info[:3])) -> Finding:
    """Return the finding on the Python version running this check."""
    shown = ".".join(map(str, version))
    if tuple(version[:2]) < MIN_PYTHON:
        return Finding(PROBLEM, f"Python {shown} is too old: the course needs Python {'.'.join(map(str, MIN_PYTHON))} or newer",
                       "install a newer Python (3.11 is what the course is tested with) and run `make install` again")
    return Finding(OK, f"Python {shown}")


def check_packages(
    version_of: Callable[[str], str | None] = installed_version,
    pins: dict[str, str] | None = None,
    minimums: dict[str, str] | None = None,
) -> list[Finding]:
    """Return one finding per needed distribution: missing, too old, not the tested version, or ok."""
    pins = course_pins() if pins is None else pins
    minimums = course_minimums() if minimums is None else minimums
    findings = []
    for name, purpose in NEEDED.items():
        version = version_of(name)
        pin = pins.get(name)
        install = f"pip install {name}=={pin}" if pin else f"pip install {name}"
        if version is None:
            cpu = " (the CPU build: see README.md)" if name == "torch" else ""
            findings.append(Finding(PROBLEM, f"{name} is not installed ({purpose})",
                                    f"run `make install` in the course folder, or `{install}`{cpu} in the environment you use"))
        elif name in minimums and _version_tuple(version) < _version_tuple(minimums[name]):
            findings.append(Finding(PROBLEM, f"{name} {version} is too old ({purpose}): the course needs {minimums[name]} or newer",
                                    f"`{install}`"))
        elif pin and _version_tuple(version)[:3] != _version_tuple(pin)[:3]:
            findings.append(Finding(NOTE, f"{name} {version}: the course is tested with {pin}; it should work, but if a "
                                          "check or a stored output disagrees, this is a suspect", f"`{install}`"))
        else:
            findings.append(Finding(OK, f"{name} {version}"))
    return findings


def check_torch() -> list[Finding]:
    """Return findings on whether PyTorch imports and what it can use (a GPU is never needed)."""
    if installed_version("torch") is None:
        return []  # already reported as missing
    try:
        import torch
    except Exception as exc:  # noqa: BLE001 - a broken install can raise anything
        return [Finding(PROBLEM, f"PyTorch is installed but does not import: {type(exc).__name__}: {exc}",
                        "reinstall it: `pip install --force-reinstall torch==<the version in requirements.txt>`")]
    device = "a CUDA GPU is available (optional: the course runs on the CPU)" if torch.cuda.is_available() else "runs on the CPU, as the course expects"
    return [Finding(OK, f"PyTorch imports and {device}")]


def check_widgets(version_of: Callable[[str], str | None] = installed_version) -> Finding:
    """Return the finding on whether JupyterLab can show ipywidgets (the jupyterlab_widgets extension)."""
    if version_of("jupyterlab_widgets") is None:
        return Finding(PROBLEM, "JupyterLab's widget extension (jupyterlab_widgets) is missing: sliders will show as text",
                       "`pip install ipywidgets` in the environment that runs JupyterLab, then restart JupyterLab")
    return Finding(OK, f"widgets can render in JupyterLab (jupyterlab_widgets {version_of('jupyterlab_widgets')})")


def kernel_python(kernel_name: str = "python3") -> tuple[str | None, str]:
    """Return (the Python executable the kernel runs, a description of where that came from).

    The executable is None when no such kernel is installed. A kernel spec whose command is plain
    "python" runs the Python of whoever starts it (JupyterLab, nbclient): this one.
    """
    try:
        from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    except ImportError:
        return None, "jupyter_client is not installed (JupyterLab brings it)"
    try:
        spec = KernelSpecManager().get_kernel_spec(kernel_name)
    except NoSuchKernel:
        return None, f"no kernel named {kernel_name!r} is installed"
    command = spec.argv[0] if spec.argv else ""
    if command in {"python", f"python{sys.version_info[0]}", f"python{sys.version_info[0]}.{sys.version_info[1]}"}:
        return sys.executable, f"kernel {kernel_name!r} runs the Python that starts it"
    resolved = shutil.which(command) or command
    return resolved, f"kernel {kernel_name!r} (spec in {Path(spec.resource_dir).name}/) runs {command}"


def check_kernel(python: str | None, where: str, timeout: float = 60) -> list[Finding]:
    """Return findings on the kernel's Python: does it exist, and does it import this attnlib?"""
    if python is None:
        fix = ("install the course's packages first (`make install`)" if "not installed" in where
               else "install one in the course's environment: `python -m ipykernel install --user --name python3`")
        return [Finding(PROBLEM, f"the notebooks' kernel cannot be found: {where}", fix)]
    if not Path(python).exists():
        return [Finding(PROBLEM, f"the notebooks' kernel points to a Python that does not exist: {python}",
                        "reinstall the kernel from the course's environment: `python -m ipykernel install --user --name python3`")]
    here = str(Path(__file__).resolve().parents[1])  # this copy of attnlib/
    try:
        probe = subprocess.run(
            [python, "-c", "import attnlib, os; print(os.path.dirname(os.path.abspath(attnlib.__file__)))"],
            capture_output=True, text=True, timeout=timeout,
            # where the kernel runs the notebooks (not the course folder, whose attnlib/ would import from the cwd)
            cwd=REPO / "notebooks" if (REPO / "notebooks").is_dir() else None,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return [Finding(PROBLEM, f"the notebooks' kernel Python could not be started: {exc}",
                        "reinstall the kernel from the course's environment: `python -m ipykernel install --user --name python3`")]
    same = "the same Python as this check" if os.path.realpath(python) == os.path.realpath(sys.executable) else "another Python than this check"
    if probe.returncode != 0:
        return [Finding(PROBLEM, f"the notebooks' kernel ({where}; {same}) cannot import attnlib, so `from attnlib import check` will fail",
                        "start JupyterLab with `make lab` from the course folder, or run `pip install -e .` in that kernel's environment")]
    found = str(Path(probe.stdout.strip()).resolve())
    if found != here:
        return [Finding(NOTE, f"the notebooks' kernel ({same}) imports another copy of attnlib than this one",
                        "run `pip install -e .` from this course folder in the kernel's environment")]
    return [Finding(OK, f"the notebooks will run in {same} ({where}), and it imports this attnlib")]


def diagnose() -> list[Finding]:
    """Return every finding about this set-up, in the order they are printed."""
    findings = []
    if sys.prefix == sys.base_prefix and (REPO / ".venv").exists():
        findings.append(Finding(NOTE, "this Python is not the course's .venv, though the course folder has one",
                                "use `make lab` / `make test`, or check that one: `.venv/bin/python -m attnlib doctor`"))
    findings.append(check_python())
    findings += check_packages()
    findings += check_torch()
    findings.append(check_widgets())
    findings += check_kernel(*kernel_python())
    return findings


def main() -> bool:
    """Print the report and return True when nothing is a PROBLEM."""
    print(f"Checking the set-up of {sys.executable} ...\n")
    findings = diagnose()
    for finding in findings:
        print(finding)
    problems = [f for f in findings if f.level == PROBLEM]
    print()
    if problems:
        print(f"{len(problems)} problem(s) found: fix the first one, then run `python -m attnlib doctor` again.")
    else:
        print("All good: `make lab` opens the course.")
    return not problems
