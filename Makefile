# The two commands of the README: `make demo` and `make test`; each creates .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-all bench lint format audit clean

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
	$(BIN)/python bench/soak.py --workers 2 --rate 70 --out bench/results/soak.json

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: $(STAMP)
	$(BIN)/ruff format src tests bench

# Known vulnerabilities in the locked set: the exact versions installed in .venv under
# constraints.txt (pip freeze; a local build tag such as torch's +cpu is dropped, since
# advisories name the upstream release), looked up in PyPI's advisory data. Fails when it finds
# any, and also, saying NOT AUDITED, when a package could not be looked up (offline, or an
# index without PyPI's JSON API): --strict, so that an unchecked package never reads as clean.
AUDIT_REQS := $(VENV)/audit-requirements.txt
AUDIT_LOG := $(VENV)/audit.log
UNREACHED := could not be audited|ConnectionError|ProxyError|Max retries|NameResolution|Timeout

audit: $(STAMP)
	$(BIN)/pip freeze --exclude-editable > $(AUDIT_REQS).raw
	sed -E 's/^([^=]+==[^+]+)\+.*/\1/' $(AUDIT_REQS).raw > $(AUDIT_REQS)
	test -s $(AUDIT_REQS)
	@$(BIN)/pip-audit --strict --no-deps --disable-pip --progress-spinner off \
		-r $(AUDIT_REQS) 2> $(AUDIT_LOG); rc=$$?; \
	if [ $$rc -ne 0 ] && grep -qE '$(UNREACHED)' $(AUDIT_LOG); then \
		grep -E '$(UNREACHED)' $(AUDIT_LOG) | tail -n 3 >&2; \
		echo "make audit: NOT AUDITED: the vulnerability database could not be reached or" \
			"does not know these packages (offline, or an index without PyPI's JSON API);" \
			"treat every dependency as unaudited. Full log: $(AUDIT_LOG)" >&2; \
		exit 2; \
	fi; \
	grep -v -e '--no-deps is supported' -e 'pip-compile' $(AUDIT_LOG) >&2; exit $$rc

clean:
	rm -rf $(VENV) demo .pytest_cache .ruff_cache
