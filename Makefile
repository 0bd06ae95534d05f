# cairn — build, test, demo, benchmark. Every target that needs system
# packages runs scripts/bootstrap first (fast when they are installed).

BUILD      ?= build
ASAN_BUILD ?= build-asan
PREFIX     ?= /usr/local
JOBS       ?= $(shell nproc)

.PHONY: all bootstrap build test unit e2e demo bench install clean format

all: build

bootstrap:
	@scripts/bootstrap

$(BUILD)/build.ninja: CMakeLists.txt | bootstrap
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

$(ASAN_BUILD)/build.ninja: CMakeLists.txt | bootstrap
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCAIRN_SANITIZE=ON -DCAIRN_BUILD_CLI=OFF

build: bootstrap $(BUILD)/build.ninja
	ninja -C $(BUILD) -j $(JOBS) cairn cairn_python

# Unit tests under ASan+UBSan, then end-to-end tests against the real binary.
test: unit e2e fuzz-smoke fault

unit: bootstrap $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD) -j $(JOBS) cairn_unit_tests
	cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS)

e2e: build
	ninja -C $(BUILD) -j $(JOBS)
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L e2e

# libFuzzer targets (fuzz/README.md), built with clang in their own tree.
# fuzz: each target for FUZZ_SECONDS; fuzz-smoke (part of test): a few
# seconds each plus the seed corpus. Both fail on any finding.
FUZZ_BUILD         ?= build-fuzz
FUZZ_SECONDS       ?= 600
FUZZ_SMOKE_SECONDS ?= 6

.PHONY: fuzz fuzz-build fuzz-smoke

$(FUZZ_BUILD)/build.ninja: CMakeLists.txt | bootstrap
	cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ -DCAIRN_FUZZ=ON

fuzz-build: bootstrap $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD) -j $(JOBS) fuzz_targets

fuzz: fuzz-build
	fuzz/run $(FUZZ_BUILD) $(FUZZ_SECONDS)

fuzz-smoke: fuzz-build
	fuzz/run $(FUZZ_BUILD) $(FUZZ_SMOKE_SECONDS)

# Fault campaign (tests/fault/README.md): the short form is part of test, soak is the long
# form (CAIRN_SOAK=1). Both print the campaign's summary lines.
.PHONY: fault soak
fault soak: build
	cd $(BUILD) && $(if $(filter soak,$@),CAIRN_SOAK=1) ctest --output-on-failure --timeout 14400 -j $(JOBS) -L fault; \
	  rc=$$?; grep -h '^fault campaign: ' Testing/Temporary/LastTest.log; exit $$rc

demo: build
	scripts/demo

bench: build
	@scripts/bootstrap --bench
	bench/run

install: build
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/cairn $(DESTDIR)$(PREFIX)/bin/cairn
	scripts/install-python $(BUILD)/python/cairn

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
