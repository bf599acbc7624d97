# resnet-repro build. `make test` and `make reproduce` set up everything on a
# fresh Debian machine (root or sudo); see README.md.
SHELL := /bin/bash
GO ?= go
# Debian packages the build needs: a C toolchain for cgo (go-sqlite3, oneDNN)
# oneDNN for the fast engine, libjpeg-turbo for ImageNet decoding.
DEB_PACKAGES := gcc libc6-dev pkg-config libdnnl-dev libturbojpeg0-dev
# Only `make bench` needs PyTorch (for the side-by-side comparison).
DEB_BENCH_PACKAGES := python3-torch
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
BIN := bin/repro

.PHONY: all deps deps-bench build test vet clean reproduce bench

# Experiment specs (`repro specs` lists them with their cost). SCALE is
# smoke, quick (default: real CIFAR-10, about an hour per spec on 2 cores
# once calibrated) or paper (the exact recipes).
SCALE ?= quick
# One database per scale, committed with its finished runs: a fresh clone
# trains nothing that is done. Reports read every results/*.db together.
DB ?= results/$(SCALE).db
SPECS := table1 table2 table3 table4 table5 table6 fig1 fig2 fig3 fig4 fig5 fig6 fig7 \
	table7 table8 table9 table10 table11 table12 table13 table14
REPRODUCE_TARGETS := $(addprefix reproduce-,$(SPECS))
.PHONY: $(REPRODUCE_TARGETS)

all: build

# Installs whatever of DEB_PACKAGES is missing; a no-op when all are present.
deps:
	@command -v $(GO) >/dev/null || { echo "make deps: Go 1.26 or later is required (https://go.dev/dl/); put it on PATH" >&2; exit 1; }
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "make deps: installing$$missing"; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

deps-bench: deps
	@missing=""; for p in $(DEB_BENCH_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "make deps-bench: installing$$missing"; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

# The binary records the git revision it was built from in every run it trains.
# The code version a run records: the commit, "-dirty" when code differs
# from it. Results (databases, reports, control outputs) do not count: the
# campaign writes results/medium.db while it trains, and a binary built then
# from committed code is that commit's code.
VERSION := $(shell v=$$(git rev-parse --short HEAD 2>/dev/null) || v=unknown; \
	git diff --quiet HEAD -- . ':(exclude)results/*.db' ':(exclude)reports' ':(exclude)tools/torchref/results' 2>/dev/null || v=$$v-dirty; echo $$v)

build: deps
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/repro

vet: deps
	$(GO) vet ./...

test: build vet
	$(GO) test -timeout 20m ./...
	$(MAKE) fuzz FUZZTIME=5s

# Fuzz the readers of outside input (issue 19): each target for FUZZTIME
# on top of its committed corpus (testdata/fuzz/); `make fuzz FUZZTIME=10m`
# for a longer search. New crashers land in testdata/fuzz/ to commit.
FUZZTIME ?= 30s
.PHONY: fuzz
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeNpy$$' -fuzztime $(FUZZTIME) ./engine/tensor
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeSafetensors$$' -fuzztime $(FUZZTIME) ./engine/tensor
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./experiments

clean:
	rm -rf bin

# `make reproduce-<id>` trains (or resumes) one spec's runs, then writes its
# report into reports/; `make reproduce` does every spec. Finished runs are
# never trained twice.
# The report of a spec is written at the scale `repro report` picks from all
# the databases (the most complete, the larger on a tie; see reports/), so
# that training one scale never hides another's results.
$(REPRODUCE_TARGETS): reproduce-%: build
	$(BIN) run $* --scale $(SCALE) --db $(DB)
	$(BIN) report $* --out reports

reproduce: build
	$(BIN) run $(SPECS) --scale $(SCALE) --db $(DB)
	$(BIN) report --out reports

# End-to-end Slurm test (issue 7): installs slurm-wlm and munge if missing,
# runs a smoke-scale job array on a throwaway single-node cluster on
# localhost, merges the shards and checks the results (tools/slurm/e2e.sh).
.PHONY: test-slurm
test-slurm: build
	tools/slurm/e2e.sh $(BIN)

# Our engine and PyTorch side by side (issue 3); writes bench/RESULTS.md.
# Run on a quiet machine: both programs are timed in interleaved rounds.
bench: build deps-bench
	$(GO) run ./tools/benchcompare -repro $(BIN) -out bench/RESULTS.md

# The issue-15 training campaign (tools/campaign/issue15.sh): medium-scale
# CIFAR specs, the PyTorch control and ResNet-20 at the paper's recipe, in
# the background under nice, from a binary built once (bin/repro-campaign;
# every run records its code version). Log: results/campaign.log. It
# resumes exactly where the committed databases and checkpoints left off.
# `make campaign-save` stops it and stages what the next session resumes
# from (tools/campaign/save.sh); commit after it.
.PHONY: campaign campaign-save
campaign: build
	@if [ -f results/campaign.pid ] && kill -0 "$$(cat results/campaign.pid)" 2>/dev/null; then \
		echo "make campaign: already running (pid $$(cat results/campaign.pid); results/campaign.log)"; exit 0; fi; \
	cp $(BIN) bin/repro-campaign && \
	{ BIN=bin/repro-campaign nohup nice -n 19 tools/campaign/issue15.sh >> results/campaign.log 2>&1 & echo $$! > results/campaign.pid; } && \
	echo "make campaign: started (pid $$(cat results/campaign.pid)); follow it with tail -f results/campaign.log"

campaign-save:
	BIN=$(BIN) tools/campaign/save.sh
