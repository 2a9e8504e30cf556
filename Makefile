# garment-transfer: every target installs what it needs into .venv first (torch pinned by constraints.txt).
# `make help` lists the targets.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
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
CONF := conf/distilled_transfer
TRAINER := -c conf/trainer/$(PRESET).yaml
FIT = $(CLI) fit $(TRAINER) -c $(CONF)/$(1)/$(PRESET).yaml --ckpt_path last
EVAL = $(RUNS)/$(1)/results/metrics.json
LAST = $(RUNS)/$(1)/checkpoints/last.ckpt
# The preset's synthetic set; its test transfer pairs are written last, when generation is complete.
PRESET_DATA = data/synthetic-$(PRESET_SIZE)/test/transfer/pairs.txt

.DEFAULT_GOAL := help
.PHONY: help install test data contact-sheet bench bench-engine bench-parsing bench-warping bench-e2e preflight train-parsing train-all evaluate preflight-pfafn train-pfafn compare clean-venv

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

SHIFTED := data/synthetic-128x96-shifted
$(SHIFTED)/test/transfer/pairs.txt: | $(STAMP)
	$(CLI) synth --out $(SHIFTED) --size 128x96 --train 2 --val 200 --test 200 --seed 7 \
		--config conf/data/engine_shifted.yaml --workers $(WORKERS)

bench-e2e: $(SHIFTED)/test/transfer/pairs.txt ## End to end, 3 seeds: ours vs the teachers and the affine paste, default and shifted data
	$(PY) benchmarks/comparisons.py --tables e2e --shifted $(SHIFTED) --out benchmarks/results/e2e.md

# Every file the preset's stages will read (weights, data roots, disk space), checked before the first one starts.
STAGES := tryon_parsing transfer_parsing tryon_warping transfer_warping arm_regrowth pipeline
preflight: $(STAMP) ## Check that every stage of the preset finds what it needs (make train-all runs it first)
	$(CLI) preflight --runs $(RUNS) $(TRAINER) $(foreach s,$(STAGES),$(CONF)/$(s)/$(PRESET).yaml)

# The five networks in dependency order; each reads the checkpoints of the ones before it at stable paths.
$(PRESET_DATA): | $(STAMP) preflight
	$(CLI) synth --out data/synthetic-$(PRESET_SIZE) --size $(PRESET_SIZE) --train $(TRAIN) --val $(VAL) --test $(TEST) \
		--seed $(SEED) --workers $(WORKERS)

$(call DONE,tryon_parsing): | $(PRESET_DATA) preflight
	$(call FIT,tryon_parsing)

$(call DONE,transfer_parsing): $(call DONE,tryon_parsing)
	$(call FIT,transfer_parsing)

$(call DONE,tryon_warping): | $(PRESET_DATA) preflight
	$(call FIT,tryon_warping)

$(call DONE,transfer_warping): $(call DONE,tryon_warping) $(call DONE,transfer_parsing)
	$(call FIT,transfer_warping)

$(call DONE,arm_regrowth): $(call DONE,transfer_parsing)
	$(call FIT,arm_regrowth)

# The pipeline and the two baselines through the one evaluator, then the report.
$(call EVAL,pipeline): $(call DONE,transfer_parsing) $(call DONE,transfer_warping) $(call DONE,arm_regrowth)
	$(CLI) test $(TRAINER) -c $(CONF)/pipeline/$(PRESET).yaml

$(call EVAL,baselines/teacher): $(call DONE,tryon_parsing) $(call DONE,tryon_warping) $(call DONE,arm_regrowth)
	$(CLI) test $(TRAINER) -c $(CONF)/pipeline/$(PRESET).yaml -c $(CONF)/pipeline/baselines/teacher.yaml \
		--trainer.default_root_dir $(RUNS)/baselines/teacher \
		--model.init_args.tryon_parsing_checkpoint $(call LAST,tryon_parsing) \
		--model.init_args.tryon_warping_checkpoint $(call LAST,tryon_warping)

# AFTER_R: train-all sets it so that this short evaluation, which needs no network, fills a free lane while S_W trains
# instead of taking one before S_P.
$(call EVAL,baselines/affine): | $(PRESET_DATA) $(AFTER_R)
	$(CLI) test $(TRAINER) -c $(CONF)/pipeline/$(PRESET).yaml -c $(CONF)/pipeline/baselines/affine.yaml \
		--trainer.default_root_dir $(RUNS)/baselines/affine

$(RUNS)/report.md: $(call EVAL,pipeline) $(call EVAL,baselines/teacher) $(call EVAL,baselines/affine)
	$(CLI) report $(RUNS) --data data/synthetic-$(PRESET_SIZE) --out $@

train-parsing: $(call DONE,transfer_parsing) ## Train the parsing teacher then the student (PRESET=cpu|paper), skipping finished ones

evaluate: $(call EVAL,pipeline) $(call EVAL,baselines/teacher) $(call EVAL,baselines/affine) ## Evaluate the pipeline and its baselines

# train-all runs two jobs at a time where the order allows (T_W beside T_P then S_P; R and the teachers' evaluation
# beside S_W) with one thread each: on the 2-core machine that finishes sooner than one job at a time on two threads
# (small convolutions use a second thread poorly). Each job's output appears when it ends (--output-sync); its run
# folder logs as it goes. TRAIN_JOBS=1: one at a time with torch's own thread count (the paper preset's default).
TRAIN_JOBS ?= $(if $(filter paper,$(PRESET)),1,2)
JOB_THREADS = $(if $(filter 1,$(TRAIN_JOBS)),,OMP_NUM_THREADS=1)

train-all: $(STAMP) ## Train all five stages, evaluate, write runs/$(PRESET)/report.md (resumes; make -n shows the plan)
	@echo "train-all: $(TRAIN_JOBS) job(s) at a time; a job's output appears when it ends, its logs in $(RUNS)/<stage>/"
	$(JOB_THREADS) $(MAKE) --no-print-directory -j$(TRAIN_JOBS) --output-sync=target $(RUNS)/report.md \
		AFTER_R=$(call DONE,arm_regrowth)
	@echo "report: $(RUNS)/report.md"

# PF-AFN (SYSTEMS.md 1): the parser-based warp, its end-to-end try-on model (the tutor), the parser-free warp distilled
# through it and the parser-free end-to-end model, under $(RUNS)/pfafn/, each reading the ones before it.
PFAFN := conf/pfafn
PFAFN_STAGES := pb_warping pb_tryon pf_warping pf_tryon
FIT_PFAFN = $(CLI) fit $(TRAINER) -c $(PFAFN)/$(1)/$(PRESET).yaml --ckpt_path last

preflight-pfafn: $(STAMP) ## Check that every PF-AFN stage of the preset finds what it needs (make train-pfafn runs it)
	$(CLI) preflight --runs $(RUNS) $(TRAINER) $(foreach s,$(PFAFN_STAGES),$(PFAFN)/$(s)/$(PRESET).yaml)

$(call DONE,pfafn/pb_warping): | $(PRESET_DATA) preflight-pfafn
	$(call FIT_PFAFN,pb_warping)

$(call DONE,pfafn/pb_tryon): $(call DONE,pfafn/pb_warping)
	$(call FIT_PFAFN,pb_tryon)

$(call DONE,pfafn/pf_warping): $(call DONE,pfafn/pb_tryon)
	$(call FIT_PFAFN,pf_warping)

$(call DONE,pfafn/pf_tryon): $(call DONE,pfafn/pf_warping)
	$(call FIT_PFAFN,pf_tryon)

train-pfafn: $(call DONE,pfafn/pf_tryon) ## Train PF-AFN's four stages (CPU preset: about 25 min of one core, measured per step; resumes)

# make compare: every trained method on the same pairs: PF-AFN (parser-free and parser-based) used for transfer and
# for try-on, the try-on teachers on try-on, beside train-all's evaluations (ours, the teachers, the affine paste).
$(call EVAL,baselines/pfafn): $(call DONE,pfafn/pf_tryon)
	$(CLI) test $(TRAINER) -c $(CONF)/pipeline/$(PRESET).yaml -c $(CONF)/pipeline/baselines/pfafn.yaml \
		--trainer.default_root_dir $(RUNS)/baselines/pfafn \
		--model.init_args.pf_tryon_checkpoint $(call LAST,pfafn/pf_tryon)

$(call EVAL,baselines/pfafn_parser_based): $(call DONE,pfafn/pb_tryon)
	$(CLI) test $(TRAINER) -c $(CONF)/pipeline/$(PRESET).yaml -c $(CONF)/pipeline/baselines/pfafn_parser_based.yaml \
		--trainer.default_root_dir $(RUNS)/baselines/pfafn_parser_based \
		--model.init_args.pb_tryon_checkpoint $(call LAST,pfafn/pb_tryon)

$(call EVAL,baselines/teacher_tryon): $(call DONE,tryon_parsing) $(call DONE,tryon_warping) $(call DONE,arm_regrowth)
	$(CLI) test $(TRAINER) -c $(CONF)/pipeline/$(PRESET).yaml -c $(CONF)/pipeline/baselines/teacher_tryon.yaml \
		--trainer.default_root_dir $(RUNS)/baselines/teacher_tryon \
		--model.init_args.tryon_parsing_checkpoint $(call LAST,tryon_parsing) \
		--model.init_args.tryon_warping_checkpoint $(call LAST,tryon_warping) \
		--model.init_args.regrowth_checkpoint $(call LAST,arm_regrowth)

COMPARED := $(call EVAL,pipeline) $(call EVAL,baselines/teacher) $(call EVAL,baselines/teacher_tryon) \
	$(call EVAL,baselines/pfafn) $(call EVAL,baselines/pfafn_parser_based) $(call EVAL,baselines/affine)
$(RUNS)/compare.md: $(COMPARED)
	$(CLI) compare --data data/synthetic-$(PRESET_SIZE) --out $@ --title "Try-on and transfer, $(PRESET) preset" \
		--method "ours=$(RUNS)/pipeline/results" \
		--method "PF-AFN=$(RUNS)/baselines/pfafn/results" \
		--method "PF-AFN parser-based=$(RUNS)/baselines/pfafn_parser_based/results" \
		--method "try-on teachers=$(RUNS)/baselines/teacher/results" \
		--method "try-on teachers=$(RUNS)/baselines/teacher_tryon/results" \
		--method "affine paste=$(RUNS)/baselines/affine/results"

compare: $(RUNS)/compare.md ## Every trained method on the same pairs: runs/$(PRESET)/compare.{md,png} (trains what is missing)
	@echo "report: $(RUNS)/compare.md"

clean-venv: ## Remove the virtual environment
	rm -rf $(VENV)
