# garment-transfer: every target installs what it needs into .venv first (torch pinned by constraints.txt).
# `make help` lists the targets.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DOCS_STAMP := $(VENV)/.installed-docs
export WANDB_MODE ?= offline
export NO_ALBUMENTATIONS_UPDATE := 1

SIZE ?= 128x96
TRAIN ?= 2000
VAL ?= 200
TEST ?= 200
SEED ?= 0
DATA ?= data/synthetic-$(SIZE)
WORKERS ?= 0
PYTEST_WORKERS ?= 2

# cpu (default without a GPU): 128 x 96, tiny networks, minutes per stage; paper: 256 x 192, the paper's budget.
PRESET ?= $(shell nvidia-smi -L >/dev/null 2>&1 && echo paper || echo cpu)
RUNS := runs/$(PRESET)
CLI := $(VENV)/bin/garment-transfer
PRESET_SIZE = $(if $(filter paper,$(PRESET)),256x192,128x96)
# A stage is done when its run wrote checkpoints/complete; an interrupted one resumes from checkpoints/last.ckpt.
DONE = $(RUNS)/$(1)/checkpoints/complete
# Every stage config is read on top of the preset's shared trainer settings (conf/trainer/<preset>.yaml).
TRAINER := -c conf/trainer/$(PRESET).yaml
EVAL = $(RUNS)/$(1)/results/metrics.json
# The preset's synthetic set; its test transfer pairs are written last, when generation is complete.
PRESET_DATA = data/synthetic-$(PRESET_SIZE)/test/transfer/pairs.txt

.DEFAULT_GOAL := help
.PHONY: help install test lint format docs data contact-sheet bench bench-engine bench-parsing bench-warping bench-e2e bench-wuton preflight train train-parsing train-all evaluate train-pfafn train-wuton compare methods clean-venv

help: ## List the targets and the variables they read
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-15s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "  variables: PRESET=$(PRESET) SIZE=$(SIZE) TRAIN=$(TRAIN) VAL=$(VAL) TEST=$(TEST) SEED=$(SEED) DATA=$(DATA) WORKERS=$(WORKERS) (0 = all cores) TRAIN_JOBS=$(TRAIN_JOBS)"

$(STAMP): setup.cfg pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade --quiet pip
	$(PY) -m pip install --quiet -c constraints.txt torch==2.13.0
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## Create .venv and install the package with its test tools (CPU torch)

test: $(STAMP) ## Run the test suite
	$(PY) -m pytest -q -n $(PYTEST_WORKERS) tests

lint: $(STAMP) ## Lint the code and check its formatting (ruff, configured in pyproject.toml)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

format: $(STAMP) ## Format the code (ruff format) and apply the linter's safe fixes
	$(VENV)/bin/ruff format src tests benchmarks
	$(VENV)/bin/ruff check --fix src tests benchmarks

$(DOCS_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -c constraints.txt -e '.[docs]'
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP) ## Build the documentation site into docs/_build/html (warnings are errors)
	PYTHONPATH=src $(VENV)/bin/sphinx-build -W --keep-going -q -b html docs docs/_build/html
	@echo "documentation: docs/_build/html/index.html"

data: $(STAMP) ## Generate the synthetic data set into $(DATA) (resumable)
	$(VENV)/bin/garment-transfer synth --out $(DATA) --size $(SIZE) --train $(TRAIN) --val $(VAL) --test $(TEST) \
		--seed $(SEED) --workers $(WORKERS)

contact-sheet: $(STAMP) ## Render docs/contact_sheet.png from a small synthetic set
	$(VENV)/bin/garment-transfer synth --out data/contact-sheet-256x192 --size 256x192 --train 8 --test 8 --seed 0 --quiet
	$(VENV)/bin/garment-transfer contact-sheet data/contact-sheet-256x192 --out docs/contact_sheet.png --rows 4

bench: $(STAMP) ## One benchmark report: engine, loader, training steps, inference, operators, model sizes (about 12 min on 2 idle cores, 6 of them compiling)
	$(PY) benchmarks/bench_all.py --out benchmarks/results/report.md

bench-engine: $(STAMP) ## Engine throughput with its per-step breakdown
	$(PY) benchmarks/bench_engine.py --out benchmarks/results/engine.md

bench-parsing: $(STAMP) ## Parsing table, 3 seeds with paired intervals, and the self-study phase examined (CPU preset)
	$(PY) benchmarks/comparisons.py --tables parsing selfstudy selfstudy_long --figure docs/selfstudy_phases.png \
		--out benchmarks/results/parsing.md

bench-warping: $(STAMP) ## Warping table: S_W and its comparison cases, 3 seeds with paired intervals (CPU preset)
	$(PY) benchmarks/comparisons.py --tables warping --out benchmarks/results/warping.md

bench-wuton: $(STAMP) ## WUTON over seeds 0-2: student, teacher, no-adversarial ablation, PF-AFN, try-on teachers (after train-wuton, evaluate-wuton, evaluate-pfafn, evaluate-distilled_transfer; trains seeds 1-2)
	$(PY) benchmarks/bench_wuton.py --seeds 0 1 2 --train --out benchmarks/results/wuton.md

SHIFTED := data/synthetic-128x96-shifted
$(SHIFTED)/test/transfer/pairs.txt: | $(STAMP)
	$(CLI) synth --out $(SHIFTED) --size 128x96 --train 2 --val 200 --test 200 --seed 7 \
		--config conf/data/engine_shifted.yaml --workers $(WORKERS)

bench-e2e: $(SHIFTED)/test/transfer/pairs.txt ## End to end, 3 seeds: ours vs the teachers and the affine paste, default and shifted data
	$(PY) benchmarks/comparisons.py --tables e2e --shifted $(SHIFTED) --out benchmarks/results/e2e.md

# Every method's stages and evaluations, generated from the method registry (garment-transfer methods --makefile):
# $(RUNS)/<stage>/checkpoints/complete after the stages it reads, $(RUNS)/<evaluation>/results/metrics.json after the
# stages its method runs, train-<method>, evaluate-<method>, preflight-<method> (every file the method's stages will
# read: weights, data roots, disk space, checked before the first one starts), EVALUATIONS. A new method needs no
# line here.
METHODS_MK := $(VENV)/methods.mk
$(METHODS_MK): $(STAMP) src/garment_transfer/registry.py $(wildcard src/garment_transfer/models/*/method.py)
	$(CLI) methods --makefile > $@.partial && mv $@.partial $@
ifneq ($(filter-out help install test lint format docs clean-venv data contact-sheet bench bench-engine,$(MAKECMDGOALS)),)
include $(METHODS_MK)
endif
METHOD ?= distilled_transfer

# The preset's synthetic set; its test transfer pairs are written last, when generation is complete.
$(PRESET_DATA): | $(STAMP) preflight-distilled_transfer
	$(CLI) synth --out data/synthetic-$(PRESET_SIZE) --size $(PRESET_SIZE) --train $(TRAIN) --val $(VAL) --test $(TEST) \
		--seed $(SEED) --workers $(WORKERS)

preflight: preflight-$(METHOD) ## Check that every stage of METHOD (default distilled_transfer) finds what it needs

train: train-$(METHOD) ## Train every stage of METHOD (distilled_transfer, pfafn, ...; make methods lists them), resuming

train-parsing: $(call DONE,transfer_parsing) ## Train the parsing teacher then the student (PRESET=cpu|paper), skipping finished ones

evaluate: $(call EVAL,pipeline) $(call EVAL,baselines/teacher) $(call EVAL,baselines/affine) ## Evaluate the pipeline and its baselines

# train-all: the five stages of the distilled transfer, the pipeline and two baselines, the report.
$(RUNS)/report.md: $(call EVAL,pipeline) $(call EVAL,baselines/teacher) $(call EVAL,baselines/affine)
	$(CLI) report $(RUNS) --data data/synthetic-$(PRESET_SIZE) --out $@

# train-all runs two jobs at a time where the order allows (T_W beside T_P then S_P; R and the teachers' evaluation
# beside S_W) with one thread each: on the 2-core machine that finishes sooner than one job at a time on two threads
# (small convolutions use a second thread poorly). Each job's output appears when it ends (--output-sync); its run
# folder logs as it goes. TRAIN_JOBS=1: one at a time with torch's own thread count (the paper preset's default).
# ORDER_affine: the affine paste's evaluation, which needs no network, fills a free lane while S_W trains instead of
# taking one before S_P.
TRAIN_JOBS ?= $(if $(filter paper,$(PRESET)),1,2)
JOB_THREADS = $(if $(filter 1,$(TRAIN_JOBS)),,OMP_NUM_THREADS=1)

train-all: $(METHODS_MK) ## Train all five stages, evaluate, write runs/$(PRESET)/report.md (resumes; make -n shows the plan)
	@echo "train-all: $(TRAIN_JOBS) job(s) at a time; a job's output appears when it ends, its logs in $(RUNS)/<stage>/"
	$(JOB_THREADS) $(MAKE) --no-print-directory -j$(TRAIN_JOBS) --output-sync=target $(RUNS)/report.md \
		ORDER_affine=$(call DONE,arm_regrowth)
	@echo "report: $(RUNS)/report.md"

train-pfafn: ## Train PF-AFN's four stages (CPU preset: about 25 min of one core, measured per step; resumes)

train-wuton: ## Train WUTON's teacher then its parser-free student (CPU preset: about 32 min of one core, from step times; resumes)

# make compare: every registered evaluation on the same pairs (ours, the teachers on transfer and on try-on, the affine
# paste, PF-AFN parser-free and parser-based), beside each other with paired intervals against ours.
$(RUNS)/compare.md: $(EVALUATIONS)
	$(CLI) compare --data data/synthetic-$(PRESET_SIZE) --out $@ --title "Try-on and transfer, $(PRESET) preset" \
		--runs $(RUNS)

compare: $(RUNS)/compare.md ## Every trained method on the same pairs: runs/$(PRESET)/compare.{md,png} (trains what is missing)
	@echo "report: $(RUNS)/compare.md"

methods: $(STAMP) ## List the registered methods, their stages, dressers and evaluations
	$(CLI) methods

clean-venv: ## Remove the virtual environment
	rm -rf $(VENV)
