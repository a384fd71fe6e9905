"""nbgrader's configuration for teaching this course as a class (see README.md, "Teaching a class").

Put this file at the top of your nbgrader course folder, with one folder per notebook in
source/ (``python -m attnlib nbgrader-course`` makes both). It makes ``nbgrader
generate_assignment`` write exactly the exercise notebooks of the course's own build: the same
code stubs, the same prompt for free-text answers.
"""
c = get_config()  # noqa: F821 - nbgrader provides get_config when it reads this file

c.CourseDirectory.course_id = "attention"

# the stubs of the course's build (attnlib/build.py): nbgrader writes the same exercise cells
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "*Write your answer here.*"

# Autograde runs whole notebooks. Training cells take seconds on a laptop, longer on a busy
# JupyterHub node: a generous per-cell limit (seconds) keeps a slow machine from failing a student.
c.ExecutePreprocessor.timeout = 600
