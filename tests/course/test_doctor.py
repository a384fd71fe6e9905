"""The environment check (python -m attnlib doctor) names a broken set-up in plain words."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from attnlib.course import doctor

PINS = {"numpy": "2.4.6", "torch": "2.13.0"}
MINIMUMS = {"numpy": "1.24", "torch": "2.5"}


def levels(findings):
    return {f.what.split()[0]: f.level for f in findings}


def versions(**known):
    return lambda name: known.get(name)


def test_a_good_set_up_is_all_ok():
    everything = {name: "99.0" for name in doctor.NEEDED} | {"numpy": "2.4.6", "torch": "2.13.0+cpu"}
    found = doctor.check_packages(versions(**everything), PINS, MINIMUMS)
    assert len(found) == len(doctor.NEEDED)
    assert {f.level for f in found} == {doctor.OK}


def test_missing_old_and_untested_packages_are_named_with_a_fix():
    everything = {name: "99.0" for name in doctor.NEEDED}
    found = {f.what.split()[0]: f for f in doctor.check_packages(
        versions(**(everything | {"torch": None, "numpy": "1.21.0"})) , PINS, MINIMUMS)}
    assert found["torch"].level == doctor.PROBLEM and "not installed" in found["torch"].what
    assert "torch==2.13.0" in found["torch"].fix and "CPU" in found["torch"].fix
    assert found["numpy"].level == doctor.PROBLEM and "1.24" in found["numpy"].what and "too old" in found["numpy"].what
    # new enough but not the tested pin: a note, not a problem
    found = {f.what.split()[0]: f for f in doctor.check_packages(versions(**(everything | {"numpy": "2.3.0"})), PINS, MINIMUMS)}
    assert found["numpy"].level == doctor.NOTE and "2.4.6" in found["numpy"].what


def test_version_comparison_reads_local_and_pre_release_tags():
    assert doctor._version_tuple("2.13.0+cpu") == (2, 13, 0)
    assert doctor._version_tuple("1.24rc1") == (1,)  # stops at the first non-numeric part
    assert doctor._version_tuple("10.0") > doctor._version_tuple("9.9")


def test_old_python_is_a_problem():
    assert doctor.check_python((3, 9, 18)).level == doctor.PROBLEM
    assert "3.10" in doctor.check_python((3, 9, 18)).what
    assert doctor.check_python((3, 11, 7)).level == doctor.OK


def test_missing_widget_extension_is_a_problem():
    assert doctor.check_widgets(versions()).level == doctor.PROBLEM
    assert doctor.check_widgets(versions(jupyterlab_widgets="3.0.17")).level == doctor.OK


def test_the_pins_are_read_from_requirements(tmp_path):
    req = tmp_path / "requirements.txt"
    req.write_text("# comment\ntorch==2.13.0\nnumpy == 2.4.6  # pinned\nrequests>=2\n")
    assert doctor.course_pins(req) == {"torch": "2.13.0", "numpy": "2.4.6"}
    assert doctor.course_pins(tmp_path / "none.txt") == {}
    assert doctor.course_pins()["torch"]  # the course's own file


def test_this_kernel_is_found_and_imports_this_attnlib():
    python, where = doctor.kernel_python()
    found = doctor.check_kernel(python, where)
    assert [f.level for f in found] == [doctor.OK], found


def test_a_kernel_without_attnlib_or_without_python_is_a_problem(tmp_path):
    # a Python that cannot import attnlib: a fresh virtual environment without it
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    python = str(bare / "bin" / "python")
    env_free = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    assert subprocess.run([python, "-c", "import attnlib"], cwd=tmp_path, env=env_free, capture_output=True).returncode != 0
    found = doctor.check_kernel(python, "kernel 'python3' runs a bare Python")
    assert found[0].level == doctor.PROBLEM and "cannot import attnlib" in found[0].what
    assert "pip install -e ." in found[0].fix
    gone = doctor.check_kernel(str(tmp_path / "no" / "python"), "kernel 'python3'")
    assert gone[0].level == doctor.PROBLEM and "does not exist" in gone[0].what
    none = doctor.check_kernel(None, "no kernel named 'python3' is installed")
    assert none[0].level == doctor.PROBLEM and "ipykernel install" in none[0].fix


def test_the_command_runs_with_the_standard_library_only(tmp_path):
    """In an environment without numpy or nbformat the doctor still runs and names what is missing."""
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    repo = doctor.REPO  # the course folder, which holds attnlib/
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"PYTHONPATH": str(repo)}
    done = subprocess.run([str(bare / "bin" / "python"), "-m", "attnlib", "doctor"], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert "PROBLEM numpy is not installed" in done.stdout
    assert "PROBLEM torch is not installed" in done.stdout
    assert "problem(s) found" in done.stdout


def test_the_command_says_all_good_here():
    done = subprocess.run([sys.executable, "-m", "attnlib", "doctor"], capture_output=True, text=True, timeout=120)
    assert "PROBLEM" not in done.stdout, done.stdout
    assert done.returncode == 0


def test_the_minimums_come_from_this_folders_pyproject(tmp_path):
    found = doctor.course_minimums()
    assert found["torch"] == "2.5" and found["numpy"] == "1.24"
    project = tmp_path / "pyproject.toml"
    project.write_text('[project]\ndependencies = [\n    "torch>=2.7",  # a comment\n    "numpy",\n]\n')
    assert doctor.course_minimums(project) == {"torch": "2.7"}


def test_a_torch_older_than_2_5_is_too_old():
    everything = {name: "99.0" for name in doctor.NEEDED} | {"torch": "2.4.1+cpu"}
    found = {f.what.split()[0]: f for f in doctor.check_packages(versions(**everything), PINS, doctor.course_minimums())}
    assert found["torch"].level == doctor.PROBLEM and "too old" in found["torch"].what and "2.5" in found["torch"].what
