# The course in two commands:  make lab  |  make test
# Both create (or reuse) a virtual environment in .venv with the pinned versions of requirements.txt.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.course-installed
# PyPI's torch wheel for Linux includes CUDA (several GB). For the small CPU build, run e.g.
#   make lab TORCH_INDEX=<the CPU wheel index of pytorch.org, see README.md>
TORCH_INDEX ?=
EXERCISES_BUILT := build/exercise-notebooks
# each notebook must run in under this many seconds (nbval, all cells, kernel start included)
NOTEBOOK_TIME_LIMIT ?= 60
# how many CPUs the tests use at once (pytest-xdist): unit tests are spread one by one, notebooks
# whole (each in one worker, in its own kernel, its cells in order)
TEST_WORKERS ?= 2
PARALLEL = -n $(TEST_WORKERS) --dist loadfile
UNIT_PARALLEL = -n $(TEST_WORKERS) --dist load
# strict nbval of the solutions: every stored output must reproduce
NBVAL_STRICT = $(BIN)/python -m pytest $(PARALLEL) --nbval --nbval-current-env --nbval-sanitize-with tests/nbval-sanitize.cfg --notebook-time-limit $(NOTEBOOK_TIME_LIMIT)
# other CPUs' kernels (tests/kernels.py list shows what each sets): make test-portable runs strict nbval under each
PORTABLE ?= haswell zen generic

.PHONY: lab test test-portable test-instructor install instructor-deps notebooks solutions weights bench bench-notebooks browser-deps progress doctor

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10 or newer is needed, this is " + sys.version.split()[0] + ": run make with PYTHON=python3.11 (or newer)")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) "$$(grep -E '^torch==' requirements.txt)"
	$(BIN)/python -m pip install -r requirements.txt
	$(BIN)/python -m pip install --no-deps -e .
	$(BIN)/python -m attnlib lab-defaults
	touch $(STAMP)

## lab: set up, then open JupyterLab on the first notebook
lab: $(STAMP)
	$(BIN)/jupyter lab --ServerApp.root_dir="$(CURDIR)" $(if $(filter 0,$(shell id -u)),--allow-root) notebooks/01_queries_keys_values.ipynb

## test: set up, then run the unit tests, strict nbval on solutions/, lax nbval on the exercises,
## and every notebook in JupyterLab in a headless browser (skipped without chromium + playwright)
test: $(STAMP)
	COURSE_PINNED=1 $(BIN)/python -m pytest $(UNIT_PARALLEL) tests --ignore=tests/browser --ignore=tests/instructor
	$(NBVAL_STRICT) solutions
	rm -rf $(EXERCISES_BUILT)
	$(BIN)/python -m attnlib build --out $(EXERCISES_BUILT)
	$(BIN)/python -m pytest $(PARALLEL) --nbval-lax --nbval-current-env --notebook-time-limit $(NOTEBOOK_TIME_LIMIT) $(EXERCISES_BUILT)
	COURSE_BROWSER=$${COURSE_BROWSER:-1} $(BIN)/python -m pytest -rs tests/browser

## test-portable: strict nbval of solutions/ under other CPUs' kernels (PORTABLE="haswell zen generic"):
## a stored output whose digits depend on the CPU fails here, on this machine
test-portable: $(STAMP)
	@status=0; for s in $(PORTABLE); do $(BIN)/python tests/kernels.py run $$s -- $(NBVAL_STRICT) -q solutions || status=1; done; exit $$status

## instructor-deps: the instructor extra (nbgrader) on top of the course's environment
instructor-deps: $(STAMP)
	$(BIN)/python -m pip install -r requirements-instructor.txt

## test-instructor: the real nbgrader releases and autogrades every notebook (worked, blank, half-done)
test-instructor: instructor-deps
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -rs tests/instructor

## browser-deps: what the browser test needs besides the course (.ci/run installs these)
browser-deps: $(STAMP)
	$(BIN)/python -m pip install -r tests/browser/requirements.txt
	command -v chromium >/dev/null || echo "also install Debian's chromium (apt-get install chromium), or set COURSE_CHROMIUM to a Chromium binary"

## progress: run your notebooks headlessly and list each exercise: passed, failed, not attempted
progress: $(STAMP)
	$(BIN)/python -m attnlib progress

## doctor: check the set-up (Python, packages, the notebooks' kernel) and say what is wrong
doctor:
	$(if $(wildcard $(BIN)/python),$(BIN)/python,$(PYTHON)) -m attnlib doctor

## notebooks: rebuild notebooks/ from solutions/ (keeps notebooks you changed unless FORCE=1)
notebooks: $(STAMP)
	$(BIN)/python -m attnlib build $(if $(FORCE),--force)

## solutions: re-run every solution notebook to refresh its stored outputs, then rebuild
solutions: $(STAMP)
	$(BIN)/python -m attnlib grading-metadata
	$(BIN)/python -m attnlib execute solutions/[0-9][0-9]_*.ipynb
	$(BIN)/python -m attnlib build

## weights: train notebook 11's model again and write attnlib/models/data/induction_gpt.pt (a test checks the shipped file)
weights: $(STAMP)
	$(BIN)/python -m attnlib weights

## bench-notebooks: how long each solution notebook takes top to bottom, its slowest cells, the slowest unit tests
bench-notebooks: $(STAMP)
	$(BIN)/python tests/bench_notebooks.py

## bench: tiled_attention's memory and time against the naive version and torch
bench: $(STAMP)
	$(BIN)/python -m attnlib bench
