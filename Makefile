# Two entry points on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_INPUT := examples/montpellier-ca-2018-m57.xml
# The same budget with its exercice relabelled 2024 (the file says so): the legal annex applies from 2024.
DEMO_ANNEX_INPUT := examples/demo-montpellier-ca-2018-relabelled-2024.xml
DEMO_OUT := out

.PHONY: demo test fuzz install install-test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

demo: install
	@mkdir -p $(DEMO_OUT)
	$(BIN)/budgetclimat validate $(DEMO_INPUT) --report $(DEMO_OUT)/controles.json
	@echo "Rapport de contrôle écrit dans $(DEMO_OUT)/controles.json"
	$(BIN)/budgetclimat classify $(DEMO_INPUT) -o $(DEMO_OUT)/annexe.xlsx --pack $(DEMO_OUT)/conseil.xlsx --lines-out $(DEMO_OUT)/lignes.csv || [ $$? -eq 1 ]
	@echo "Annexe (classeur de travail, toutes les feuilles) : $(DEMO_OUT)/annexe.xlsx — dossier du conseil à imprimer : $(DEMO_OUT)/conseil.xlsx — registre des lignes : $(DEMO_OUT)/lignes.csv"
	$(BIN)/budgetclimat classify $(DEMO_ANNEX_INPUT) -o $(DEMO_OUT)/annexe-2024-demo.xlsx || [ $$? -eq 1 ]
	@echo "Annexe légale « Impact du budget pour la transition écologique » (exercice 2024, budget 2018 réétiqueté pour la démonstration) : feuille « Annexe légale » de $(DEMO_OUT)/annexe-2024-demo.xlsx"

test: install-test
	$(BIN)/python -m pytest -q -n 2

# The full mutation campaign (>= 1,000 damaged copies of the shipped budgets), summary table per family.
# Files go to a temporary directory; FUZZ_ARGS passes options (e.g. FUZZ_ARGS="--only 'amounts-*'").
fuzz: install-test
	$(BIN)/python tests/fuzz/run_fuzz.py $(FUZZ_ARGS)

# BENCH_ARGS passes options to the runner (e.g. BENCH_ARGS=--huge; see benchmarks/README.md).
bench: install
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(DEMO_OUT)
