# gst-vizstream: thin wrappers around meson. See README.md.
BUILD ?= build
JOBS ?= 2
SEGMENT ?= vizstream-demo
SIZE ?= 1280x720
FPS ?= 30

.PHONY: all deps build test demo bench fuzz soak clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD) -j $(JOBS)

# Runs every test; the last line is meson's summary as 'N passed, N failed'.
test: build
	@scripts/run-tests.sh $(BUILD) $(JOBS)

# The demo renderer and a pipeline that shows it.
demo: build
	@scripts/demo.sh $(BUILD) $(SEGMENT) $(SIZE) $(FPS)

bench: build
	@scripts/bench.sh $(BUILD)

# Long fuzzing runs (FUZZ_SECONDS per target); crashes land in build-fuzz/.
FUZZ_SECONDS ?= 300
fuzz: deps
	scripts/fuzz.sh $(FUZZ_SECONDS)

# Soak and churn (SOAK_SECONDS, default 600); report in build/soak.json.
SOAK_SECONDS ?= 600
soak: build
	VZ_BUILD_ROOT=$(CURDIR)/$(BUILD) VZ_SOURCE_ROOT=$(CURDIR) \
	GST_PLUGIN_PATH=$(CURDIR)/$(BUILD)/gst:$(CURDIR)/$(BUILD)/ext/gl \
	LD_LIBRARY_PATH=$(CURDIR)/$(BUILD)/lib/vizstream \
	  /usr/bin/python3 tests/soak/soak.py $(SOAK_SECONDS) $(BUILD)/soak.json

clean:
	rm -rf $(BUILD)
