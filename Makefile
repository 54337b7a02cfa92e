# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
PIP ?= $(PYTHON) -m pip

.PHONY: install demo test lint

# The Dockerfile installs with the same constraints file: the image ships the versions CI tested.
install:
	$(PIP) install --quiet --constraint constraints.txt -e '.[dev,matrix]'

demo:
	$(PIP) install --quiet --constraint constraints.txt -e .
	clusterbot report --demo

lint:
	ruff check .
	mypy
	lint-imports

# pytest exits 5 when it collects nothing; that is a failure of the suite, say so plainly.
test: install lint
	$(PYTHON) -m pytest; status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$status
