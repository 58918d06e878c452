# The sendmail Submission-relay lab. `make lab` to learn, `make test` to verify.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
SUITE  ?= bookworm
PORT   ?= 8888
# Tests and notebook runs record their checks and hints here, not in the maintainer's own record.
TEST_ENV := LABENV_PROGRESS_DB=$(CURDIR)/build/test-progress.sqlite3
PYTEST := $(TEST_ENV) $(PY) -m pytest -p no:cacheprovider
# Tests with real labs, three modules at a time (each module's tests stay in one worker, so
# a module's lab is made once); every lab has a name of its own. PARALLEL= runs them in turn.
PARALLEL ?= -n 3 --dist loadfile

.PHONY: lab lab-server setup venv images test quick lint unit integration notebooks notebooks-refresh notebooks-trixie docs student learn browser bench clean distclean classroom classroom-down classroom-test

venv: $(VENV)/.installed
# constraints.txt pins every package at the versions the notebooks were verified with.
$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[test,classroom,deploy]'
	touch $@

# Docker engine (installed and started on a root Debian host if none answers) and images.
setup: venv
	$(PY) -m labenv setup --suite $(SUITE)

images: setup

# Set up everything, then open JupyterLab on the notebooks (the instructor's copy, with answers).
NOTEBOOK_DIR ?= notebooks
lab: setup
	$(VENV)/bin/jupyter lab --notebook-dir=$(NOTEBOOK_DIR) $(if $(filter 0,$(shell id -u)),--allow-root) \
	  $(if $(NO_BROWSER),--no-browser --ip=127.0.0.1 --port=$(PORT))

# The same for servers and CI: no browser, prints the URL with its token.
lab-server:
	$(MAKE) lab NO_BROWSER=1

# ruff, and the one-way layers (import-linter's contracts in pyproject.toml).
lint: venv
	$(VENV)/bin/ruff check labenv helpers classroom tests bench tools
	$(VENV)/bin/lint-imports

# No Docker: the lint, the unit tests and the examples in the docstrings.
unit: venv
	$(PYTEST) tests/unit -q
	$(PYTEST) --doctest-modules labenv helpers classroom --ignore=classroom/jupyterhub_config.py -q

quick: lint unit

integration: setup
	$(PYTEST) tests/integration tests/robustness -q $(PARALLEL)

# Re-execute every notebook and store its outputs (maintainers, after a change); then run
# them on trixie, where each cell tagged suite-specific keeps what it prints there
# (tools/notebooks_suites.py; an untagged cell that prints differently makes it fail).
notebooks-refresh: setup
	$(TEST_ENV) $(VENV)/bin/jupyter nbconvert --to notebook --execute --inplace \
	  --ExecutePreprocessor.timeout=180 --ExecutePreprocessor.store_widget_state=True notebooks/*.ipynb
	$(PY) -m labenv setup --suite trixie
	$(TEST_ENV) $(PY) tools/notebooks_suites.py record --suite trixie

# nbval on Debian trixie: every output compared; the suite-specific cells against what
# they printed on trixie, every other cell against its stored output.
notebooks-trixie: venv
	$(PY) -m labenv setup --suite trixie
	$(TEST_ENV) $(PY) tools/notebooks_suites.py test --suite trixie

notebooks: setup
	$(PYTEST) --nbval notebooks --nbval-sanitize-with tests/nbval-sanitize.cfg -q -p no:randomly

browser: setup
	$(PYTEST) tests/browser -q

# Everything: lint, unit, doctests, integration, robustness, trixie, notebooks (nbval on
# bookworm and trixie), a class on JupyterHub (tests/classroom, on a class engine of its own), browser.
test: lint setup
	$(PYTEST) tests/unit -q
	$(PYTEST) tests/integration tests/robustness -q $(PARALLEL)
	$(PYTEST) --doctest-modules labenv helpers classroom --ignore=classroom/jupyterhub_config.py -q
	$(PY) -m labenv setup --suite trixie
	LABENV_TEST_SUITE=trixie $(PYTEST) tests/integration/test_lab.py -q
	$(PYTEST) --nbval notebooks --nbval-sanitize-with tests/nbval-sanitize.cfg -q
	$(TEST_ENV) $(PY) tools/notebooks_suites.py test --suite trixie
	$(PYTEST) tests/classroom -q
	$(PYTEST) tests/browser -q

# The notebooks as a static site (stored outputs, nothing executed): build/docs/index.html
docs: venv
	$(PY) tools/build_docs.py build/docs

# The learner's copy: answers out, working cells empty, Check/Hint/Skip kept: build/student/
student: venv
	$(PY) tools/make_student.py $(if $(FORCE),--force) build/student

# Learners start here: the learner's copy, opened in JupyterLab.
learn: student
	$(MAKE) lab NOTEBOOK_DIR=build/student

# A class on JupyterHub (root): one URL, an account and a JupyterLab per member of the roster,
# each learner confined to their own labs on the class engine. See the README's classroom section.
ROSTER ?= classroom/roster.example.toml
classroom: student setup
	$(PY) -m classroom up --roster $(ROSTER)

# Stops the hub, every server, every lab and the class engine; PURGE=1 also removes the
# accounts, their homes and the class's progress record.
classroom-down: venv
	$(PY) -m classroom down $(if $(PURGE),--purge)

# A class of its own (two learners, an instructor) in headless chromium, every isolation rule
# tried from a learner's kernel, the record through culling and a hub restart; all removed after.
classroom-test: setup
	$(PYTEST) tests/classroom -q

bench: setup
	$(PY) -m bench

clean:
	-$(PY) -m labenv clean --all

distclean: clean
	rm -rf $(VENV) *.egg-info
