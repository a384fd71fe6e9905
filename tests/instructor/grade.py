"""Run nbgrader on one course folder, in one process: generate every assignment, autograde one student.

Used by test_nbgrader.py, which runs one of these per student at the same time (each in its own
course folder, with its own gradebook). Prints one JSON line: {assignment: [code score, max,
written score, max]} for the student, plus "errors": the cells outside test cells that raised.

    python tests/instructor/grade.py COURSE_DIR STUDENT [--feedback]
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI
from traitlets.config.loader import PyFileConfigLoader


def main(root: Path, student: str, feedback: bool) -> int:
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    config.CourseDirectory.root = str(root)
    api = NbGraderAPI(config=config)
    submitted = root / "submitted" / student
    names = sorted(p.name for p in submitted.iterdir())          # only the assignments this student handed in
    for name in names:
        result = api.generate_assignment(name, force=True)
        if not result["success"]:
            print(result["log"], result.get("error"), file=sys.stderr)
            return 1
    scores, errors = {}, {}
    for name in names:
        result = api.autograde(name, student, force=True, create=True)
        if not result["success"]:
            print(result["log"], result.get("error"), file=sys.stderr)
            return 1
        graded = nbformat.read(str(root / "autograded" / student / name / f"{name}.ipynb"), as_version=4)
        errors[name] = [c.get("id") for c in graded.cells if c.cell_type == "code"
                        and not c.metadata.get("nbgrader", {}).get("grade")
                        and any(o.get("output_type") == "error" for o in c.get("outputs", []))]
        if feedback:
            result = api.generate_feedback(name, student, force=True)
            if not result["success"]:
                print(result["log"], result.get("error"), file=sys.stderr)
                return 1
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", course_id="attention") as gradebook:
        for name in scores or errors:
            sub = gradebook.find_submission(name, student)
            scores[name] = [sub.code_score, sub.max_code_score, sub.written_score, sub.max_written_score]
    print(json.dumps({"scores": scores, "errors": errors}))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), sys.argv[2], "--feedback" in sys.argv[3:]))
