# The two commands of the README: `make demo` and `make test`; each creates .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-all bench lint format clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,bench]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/toyguide demo --out demo

test: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/pytest -q

test-all: $(STAMP)
	$(BIN)/pytest -q -m "slow or not slow"

# Every table of bench/README.md (several hours on the 2-core machine; serve.py needs `wrk`).
bench: $(STAMP)
	$(BIN)/python bench/synth_speed.py --out bench/results/synth_speed.json
	$(BIN)/python bench/synthetic_mtl.py --out bench/results/synthetic_mtl.json
	$(BIN)/python bench/amazon_toys.py --out bench/results/amazon_toys.json
	$(BIN)/python bench/attributes.py --out bench/results/attributes.json
	$(BIN)/python bench/shopper_profile.py --out bench/results/shopper_profile.json
	$(BIN)/python bench/forecast.py --out bench/results/forecast.json
	$(BIN)/python bench/throughput.py --out bench/results/throughput.json
	$(BIN)/python bench/mtl_summary.py --out bench/results/mtl_summary.json
	$(BIN)/python bench/serve.py --out bench/results/serve.json

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: $(STAMP)
	$(BIN)/ruff format src tests bench

clean:
	rm -rf $(VENV) demo .pytest_cache .ruff_cache
