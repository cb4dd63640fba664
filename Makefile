# SPDX-License-Identifier: GPL-3.0-or-later
# servesim: one Makefile for the library, the tools, the tests and the demo.
#
#   make            build bin/gen-workload, bin/simulate, bin/summarize
#   make demo       install missing Debian packages, build, run the default pipeline
#   make check      install missing Debian packages, build, run every test
#   make bench      time the pipeline at 1e5 and 1e6 requests (bench/pipeline.sh)
#   make accuracy   fit and validate against the real vLLM runs in ../shared (docs/accuracy.md)
#   make roofline-validation   roofline vs measured static batches (docs/roofline-validation.md)
#   make install    copy the tools to $(DESTDIR)$(PREFIX)/bin
#   make saturation, policies, capacity, replay, calibration, figures:
#                   experiment pipelines (pipelines/pipelines.mk, docs/pipelines.md)
#
# Variables: SAN=1 (ASan+UBSan), DEBUG=1 (KV recount after every engine step),
# VALGRIND=1 (tests run the tools under valgrind), WERROR=1 (warnings are errors;
# on by default when CI=true).

PREFIX ?= /usr/local
BUILD  ?= build
CC     ?= cc
CFLAGS ?= -O2 -g

STD_FLAGS  = -std=c11 -D_POSIX_C_SOURCE=200809L
WARN_FLAGS = -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
             -Wmissing-prototypes -Wformat=2 -Wundef -Wvla -Wcast-qual
ifeq ($(CI),true)
WERROR ?= 1
endif
ifeq ($(WERROR),1)
WARN_FLAGS += -Werror
endif
ifeq ($(SAN),1)
CFLAGS  += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
BUILD   := $(BUILD)-san
endif
ifeq ($(DEBUG),1)
CPPFLAGS += -DSERVESIM_DEBUG
BUILD    := $(BUILD)-debug
endif

ALL_CFLAGS   = $(STD_FLAGS) $(WARN_FLAGS) $(CFLAGS)
ALL_CPPFLAGS = -Ilib -MMD -MP $(CPPFLAGS)
LDLIBS       = -lcsv -lyaml -ljansson -lgsl -lgslcblas -lxxhash -lm -lpthread

LIB_SRC  := $(sort $(wildcard lib/*/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/defaults_yaml.o $(BUILD)/gen/presets.o
PRESETS  := $(sort $(wildcard examples/*.yaml))
LIB_A    := $(BUILD)/libservesim.a
TOOLS    := $(notdir $(sort $(wildcard tools/*)))
BINS     := $(TOOLS:%=bin/%)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps demo check unit bats bench accuracy roofline-validation install clean format
all: $(BINS)

# bin/ holds the tools of the flavour built last; the objects of each flavour
# (plain, san, debug) live apart under build*/. The stamp changes when the
# flavour does, so switching relinks the tools even if bin/ looks newer.
FLAVOUR := $(shell mkdir -p bin && { [ "$$(cat bin/.flavour 2>/dev/null)" = "$(BUILD)" ] || \
                                     echo "$(BUILD)" > bin/.flavour; } && echo bin/.flavour)
bin/%: $(BUILD)/tools/%/main.o $(LIB_A) $(FLAVOUR)
	$(CC) $(LDFLAGS) -o $@ $(filter-out $(FLAVOUR),$^) $(LDLIBS)

$(LIB_A): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

# defaults.yaml is compiled in, so every tool works with no files beside it.
$(BUILD)/gen/defaults_yaml.c: defaults.yaml scripts/embed.sh
	@mkdir -p $(@D)
	sh scripts/embed.sh servesim_defaults_yaml $< > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/defaults_yaml.o: $(BUILD)/gen/defaults_yaml.c
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# so are the workload presets (gen-workload --preset NAME).
$(BUILD)/gen/presets.c: $(PRESETS) scripts/embed-presets.sh scripts/embed.sh
	@mkdir -p $(@D)
	sh scripts/embed-presets.sh $(PRESETS) > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/presets.o: $(BUILD)/gen/presets.c
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

deps:
	@sh scripts/deps.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@rm -f $(BUILD)/demo-itl.csv
	bin/gen-workload | bin/simulate --itl $(BUILD)/demo-itl.csv | bin/summarize --itl $(BUILD)/demo-itl.csv

unit: $(UNIT_BIN)
bats: all

check: deps
	@$(MAKE) --no-print-directory all unit
	@sh tests/run.sh $(UNIT_BIN)

bench: deps
	@$(MAKE) --no-print-directory all
	sh bench/pipeline.sh

accuracy: deps
	@$(MAKE) --no-print-directory all
	sh scripts/accuracy.sh

roofline-validation: deps
	@$(MAKE) --no-print-directory all
	sh scripts/roofline-validation.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(BINS) $(DESTDIR)$(PREFIX)/bin

format:
	clang-format -i $(LIB_SRC) $(wildcard lib/*/*.h) $(wildcard tools/*/*.c) $(wildcard tests/unit/*.[ch])

clean:
	rm -rf build build-san build-debug bin

include pipelines/pipelines.mk

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
