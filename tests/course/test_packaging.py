"""pyproject.toml (ranges), requirements.txt (pins) and environment.yml name the same packages."""
from __future__ import annotations

import os
import re
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pip vendors the same parser
    from pip._vendor import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]


def ranges() -> dict[str, Requirement]:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return {Requirement(d).name.lower(): Requirement(d) for d in deps}


def pins(lines: list[str]) -> dict[str, str]:
    found = {}
    for line in lines:
        match = re.fullmatch(r"\s*(?:-\s+)?([A-Za-z0-9_.\-]+)==([^\s#]+)\s*(#.*)?", line)
        if match:
            found[match.group(1).lower()] = match.group(2)
    return found


REQUIREMENTS = pins((ROOT / "requirements.txt").read_text().splitlines())
CONDA = pins((ROOT / "environment.yml").read_text().splitlines())


def test_the_three_lists_name_the_same_packages():
    assert set(REQUIREMENTS) == set(ranges()), "requirements.txt and pyproject.toml differ"
    assert set(CONDA) == set(ranges()), "environment.yml and pyproject.toml differ"


def test_pins_agree_and_satisfy_the_ranges():
    assert CONDA == REQUIREMENTS
    for name, requirement in ranges().items():
        assert requirement.specifier.contains(REQUIREMENTS[name]), f"{name}=={REQUIREMENTS[name]} is outside {requirement}"


def test_the_requirements_parse():
    assert "torch" in REQUIREMENTS and "numpy" in REQUIREMENTS


@pytest.mark.parametrize("name", sorted(REQUIREMENTS))
def test_installed_versions(name):
    installed = Version(metadata.version(name)).public  # torch reports 2.13.0+cpu
    assert ranges()[name].specifier.contains(installed), f"{name} {installed} is outside {ranges()[name]}"
    if os.environ.get("COURSE_PINNED"):  # set by `make test`, which installs the pins
        assert installed == REQUIREMENTS[name], f"{name} {installed} is installed, requirements.txt pins {REQUIREMENTS[name]}"


def test_python_version_floor_matches():
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"] == ">=3.10"


def test_the_instructor_extra_is_pinned_within_its_range():
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["instructor"]
    wanted = {Requirement(d).name.lower(): Requirement(d) for d in extra}
    pinned = pins((ROOT / "requirements-instructor.txt").read_text().splitlines())
    assert set(pinned) == set(wanted) == {"nbgrader"}
    for name, requirement in wanted.items():
        assert requirement.specifier.contains(pinned[name])
