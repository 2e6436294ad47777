# idsync developer entry points. The real work lives in scripts/ so CI (.ci/run) and people run
# the same thing.
#   make demo    dependencies + build + a local demo (slapd -> idsync -> SCIM)
#   make check   dependencies + sanitizer build + every unit and integration test + layering check
#   make build   release build in build/ (binary: build/idsync)
#   make bench   release build in build-rel/ + every bench/*.sh
#   make clean   removes build/, build-check/ and build-rel/
SHELL := /bin/bash
BUILD_DIR ?= build
CHECK_DIR ?= build-check
BENCH_DIR ?= build-rel
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps build demo check bench clean layering

all: build

deps:
	scripts/deps.sh

build:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DIDSYNC_SANITIZE=OFF
	cmake --build $(BUILD_DIR) --target idsync -j$(JOBS)

# Sequential on purpose (deps, then build, then run), also under make -j.
demo:
	scripts/deps.sh
	$(MAKE) --no-print-directory build
	IDSYNC_BIN=$(CURDIR)/$(BUILD_DIR)/idsync scripts/demo.sh

check:
	CHECK_DIR=$(CHECK_DIR) JOBS=$(JOBS) scripts/check.sh

layering:
	tools/check-layering.sh

bench:
	scripts/deps.sh
	cmake -S . -B $(BENCH_DIR) -DCMAKE_BUILD_TYPE=Release -DIDSYNC_SANITIZE=OFF
	cmake --build $(BENCH_DIR) -j$(JOBS)
	@set -e; found=0; for b in bench/*.sh; do \
	  [ -f "$$b" ] || continue; found=1; \
	  echo "== $$b"; IDSYNC_BIN=$(CURDIR)/$(BENCH_DIR)/idsync BUILD=$(CURDIR)/$(BENCH_DIR) bash "$$b"; \
	done; [ $$found = 1 ] || echo "no bench/*.sh benchmarks"

clean:
	rm -rf $(BUILD_DIR) $(CHECK_DIR) $(BENCH_DIR)
