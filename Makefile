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

.PHONY: all deps deps-bench build test vet clean

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

build: deps
	$(GO) build -o $(BIN) ./cmd/repro

vet: deps
	$(GO) vet ./...

test: build vet
	$(GO) test -timeout 20m ./...

clean:
	rm -rf bin
