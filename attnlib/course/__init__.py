"""The course tooling: building, running and grading the notebooks; ``python -m attnlib`` is its command line.

- ``build``: notebooks/ from solutions/, never overwriting a learner's changes; re-executing solutions
- ``progress``: run a learner's notebooks headlessly and report every exercise
- ``doctor``: check the set-up and say what is wrong (standard library only, so it runs in a broken set-up)
- ``labsettings``: JupyterLab's defaults for the course (no news pop-up)
- ``grading``: nbgrader's cell metadata for solutions/ (instructors)
- ``classroom``: an nbgrader course folder (instructors)

Nothing in this room is imported by the notebooks' maths, models or pictures.
"""
