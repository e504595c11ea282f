# The two commands of the course:
#   make lab    set up whatever is missing, then open JupyterLab on notebooks/
#   make test   set up whatever is missing, then run the Rust tests and every notebook (smoke mode)
# Setup (scripts/bootstrap.sh) skips every step that is already done: a second run costs seconds.

PYTHON ?= python3
export PYTHON
VENV := .venv
JUPYTER := $(VENV)/bin/jupyter
PY := $(VENV)/bin/python

.PHONY: lab-test lab test setup data bench-data check-tools cargo-test notebooks setup-tests lint notebooks-real results remedies bench

setup:
	@scripts/bootstrap.sh all

data:
	@scripts/bootstrap.sh data

lab: setup
	$(PY) scripts/run_notebooks.py --warm
	$(JUPYTER) lab --notebook-dir=notebooks --MappingKernelManager.default_kernel_name=gans-rust --ServerApp.open_browser=$${OPEN_BROWSER:-True} $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

# JupyterLab in headless Chromium: the live view redraws during a training cell, and the stop
# button then Run All resumes the kept trainer (scripts/lab_test.py; not in make test).
lab-test: setup
	@scripts/bootstrap.sh lab-test
	$(PY) scripts/lab_test.py

test: setup
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory cargo-test notebooks setup-tests || exit 1; \
	echo "[make test] all passed in $$(( $$(date +%s) - start )) s"

cargo-test:
	cargo test --all-targets
	cargo test --doc

# The setup and runner tests: missing prerequisites give clear errors; a panicking cell fails.
setup-tests:
	$(PY) -m unittest discover -s tests/scripts -p 'test_*.py' -v

# Every notebook in smoke mode with this machine's settings (each training cell run twice: a
# re-run continues). Then the GPU-sized settings at smoke step counts, so those paths never break
# unseen: notebooks 02 and 07 are the ones whose GPU-sized runs train something else (64×64
# colour faces; 64×64 emoji with 6 residual blocks); 03-06 only widen their networks and batches, and tests/gpu_sized.rs trains each of those wide
# networks (cargo-test), which costs seconds instead of a notebook pass (see environment.md).
GPU_SIZED_NOTEBOOKS = notebooks/02_dcgan.ipynb notebooks/07_cyclegan.ipynb
notebooks:
	$(PY) scripts/run_notebooks.py --smoke
	$(PY) scripts/run_notebooks.py --smoke --gpu-sized $(GPU_SIZED_NOTEBOOKS)

# Re-run the notebooks for real and write their outputs into the committed files.
notebooks-real: setup
	$(PY) scripts/run_notebooks.py --inplace

lint:
	$(PYTHON) scripts/check_imports.py src
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings

# Load time of every dataset, cold and warm (figures in data/README.md).
bench-data: setup
	cargo run --example data_bench

# Train every notebook's model with a fixed seed and budget, score it, write docs/results.md
# (about 25 minutes on a 2-core CPU). ONLY=dcgan,wgan-gp runs a subset.
# Without ONLY it then runs notebook 06's ablation too (make remedies).
results: setup
	cargo run --release --example results -- $(if $(ONLY),--only $(ONLY))
	$(if $(ONLY),,$(MAKE) --no-print-directory remedies)

# Notebook 06's ablation over seeds 0, 1 and 2: on Fashion-MNIST the paper's DCGAN, each remedy
# alone, the D without batch norm and the fast-EMA preset (about 80 minutes on a 2-core CPU); then
# the small-data rows on emoji faces; then each remedy where its failure happens (a rate of 5e-3,
# 100 training images; about 35 minutes). Tables with every seed's score in target/remedies-*.md.
REMEDY_ROWS = paper DCGAN,fast-EMA preset,EMA of G,TTUR (G 1e-4,lr 8e-4,lr 1e-3,D without,spectral,hinge,R1,minibatch std,DiffAugment,label smoothing
remedies: setup
	cargo run --release --example remedies -- --data fashion --only "$(REMEDY_ROWS)"
	cargo run --release --example remedies -- --data emoji --only "paper DCGAN,DiffAugment,fast-EMA preset,fast-EMA + DiffAugment"
	cargo run --release --example remedies -- --data fashion --lr 5e-3 --steps 1200 --only "paper DCGAN,D without,spectral norm" --out target/remedies-fast.md
	cargo run --release --example remedies -- --data fashion --train-images 100 --steps 4800 --only "paper DCGAN,DiffAugment" --out target/remedies-few.md

# ms per training step of every model: Rust against the PyTorch references of bench/ (tutorial
# style and tuned), on the same libtorch; figures in docs/performance.md. ONLY=toy,mlp28 for some.
bench: setup
	$(PY) bench/run.py $(if $(ONLY),--only $(ONLY))
