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

.PHONY: lab test install notebooks solutions bench

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10 or newer is needed, this is " + sys.version.split()[0] + ": run make with PYTHON=python3.11 (or newer)")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) "$$(grep -E '^torch==' requirements.txt)"
	$(BIN)/python -m pip install -r requirements.txt
	$(BIN)/python -m pip install --no-deps -e .
	touch $(STAMP)

## lab: set up, then open JupyterLab on the first notebook
lab: $(STAMP)
	$(BIN)/jupyter lab --ServerApp.root_dir="$(CURDIR)" $(if $(filter 0,$(shell id -u)),--allow-root) notebooks/01_queries_keys_values.ipynb

## test: set up, then run the unit tests, strict nbval on solutions/ and lax nbval on the exercises
test: $(STAMP)
	COURSE_PINNED=1 $(BIN)/python -m pytest tests
	$(BIN)/python -m pytest --nbval --nbval-current-env --nbval-sanitize-with tests/nbval-sanitize.cfg solutions
	rm -rf $(EXERCISES_BUILT)
	$(BIN)/python -m attnlib build --out $(EXERCISES_BUILT)
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env $(EXERCISES_BUILT)

## notebooks: rebuild notebooks/ from solutions/ (keeps notebooks you changed unless FORCE=1)
notebooks: $(STAMP)
	$(BIN)/python -m attnlib build $(if $(FORCE),--force)

## solutions: re-run every solution notebook to refresh its stored outputs, then rebuild
solutions: $(STAMP)
	$(BIN)/python -m attnlib execute solutions/[0-9][0-9]_*.ipynb
	$(BIN)/python -m attnlib build

## bench: tiled_attention's memory and time against the naive version and torch
bench: $(STAMP)
	$(BIN)/python -m attnlib.bench
