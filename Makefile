# pn — Kafka to PostgreSQL campaign reports as small C programs on pipes.
#
#   make            build the programs into build/bin
#   make check      install what the tests need, build with ASan+UBSan, run every test
#                   (on the dev broker and a real Kafka cluster)
#   make bench      benchmarks against the peers (kcat), not tests
#   make demo       the pipeline on the embedded dev broker
#   make fuzz       each parser of outside data under libFuzzer for FUZZ_SECONDS
#   make install    PREFIX=/usr/local DESTDIR=

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
BUILD ?= build
CC ?= cc
CFLAGS ?= -O2 -g
SAN ?=

PKGS := rdkafka jansson libpq avro-c libcurl libzstd expat libxxhash
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

ifeq ($(SAN),1)
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
endif
# the libFuzzer build (clang): coverage for the fuzzer, and the sanitizers
ifeq ($(SAN),fuzz)
SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
endif

ALL_CFLAGS = -std=gnu11 -Wall -Wextra $(CFLAGS) $(SANFLAGS) -Icommon $(PKG_CFLAGS) -MMD -MP
# --as-needed: each program loads only the libraries it calls (pn-aggregate
# 12 instead of 38, 4.7 MB RSS at start instead of 9.5)
ALL_LDFLAGS = -Wl,--as-needed $(LDFLAGS) $(SANFLAGS)

PROGRAMS := $(sort $(patsubst cmd/%.c,%,$(wildcard cmd/pn-*.c)))
COMMON_SRC := $(sort $(wildcard common/*.c))
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/obj/%.o)
LIB := $(BUILD)/libpn.a
BINS := $(PROGRAMS:%=$(BUILD)/bin/%)
UNIT_SRC := $(sort $(wildcard tests/unit/test-*.c))
UNIT_BINS := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/unit/%)
MAN1 := $(PROGRAMS:%=man/%.1)
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz-*.c))
FUZZ_BINS := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/bin/%) $(BUILD)/bin/seed-avro
FUZZ_SECONDS ?= 60

.PHONY: all unit check lint-man bench demo fuzz fuzz-bins install clean
# keep the objects: they are intermediate files of the pattern rules
.SECONDARY:

all: $(BINS)

unit: $(UNIT_BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIB): $(COMMON_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/bin/%: $(BUILD)/obj/cmd/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS)

$(BUILD)/unit/%: $(BUILD)/obj/tests/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS)

$(BUILD)/bin/fuzz-%: $(BUILD)/obj/tests/fuzz/fuzz-%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $< $(LIB) $(PKG_LIBS)

$(BUILD)/bin/seed-%: $(BUILD)/obj/tests/fuzz/seed-%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS)

fuzz-bins: $(FUZZ_BINS)

# The seed corpora come from the programs of the normal build, the fuzz
# targets from clang with libFuzzer, ASan and UBSan in build/fuzz.
fuzz:
	@scripts/deps.sh build fuzz
	@$(MAKE) --no-print-directory all >/dev/null
	@$(MAKE) --no-print-directory BUILD=build/fuzz CC=clang SAN=fuzz fuzz-bins >/dev/null
	@PN_BIN=$(CURDIR)/$(BUILD)/bin FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh build/fuzz

# The tests run against binaries built with AddressSanitizer and
# UndefinedBehaviorSanitizer, in their own build directory; the scripts that
# talk to Kafka run against the dev broker and a real cluster
# (PN_TEST_KAFKA=mock|real|both), CHECK_JOBS scripts at a time, three times
# the cores: the scripts wait on servers and timeouts much of the time.  On
# 2 cores, 4 jobs left a sixth of the CPU idle (315 s), 6 kept it busy
# (278-294 s), 8 overloaded it (330 s, and a 30 s wait ran out).
# tests/run.sh keeps each run's times.
# PN_TEST_EXPENSIVE=0 skips the volume tests (100k records and more) for a
# fast loop; CI keeps the default.
CHECK_JOBS ?= $(shell echo $$((3 * $$(nproc 2>/dev/null || echo 1))))
PN_TEST_KAFKA ?= both
PN_TEST_EXPENSIVE ?= 1
# The sanitizer build of a fresh clone: one compiler per core, unless the
# caller's make -j already shares its jobs with it.
BUILD_JOBS = $(if $(findstring jobserver,$(MAKEFLAGS)),,-j$(shell nproc 2>/dev/null || echo 1))
# Its debug information is line tables only (-g1): sanitizer reports still
# name each frame's function, file and line, and the build takes 27 CPU
# seconds instead of 33 (13.6 s on 2 cores instead of 16.8).
CHECK_CFLAGS ?= -O2 -g1
check:
	@scripts/deps.sh check
	@scripts/kafka-jars
	@$(MAKE) --no-print-directory $(BUILD_JOBS) BUILD=build/asan SAN=1 CFLAGS="$(CHECK_CFLAGS)" all unit
	@$(MAKE) --no-print-directory lint-man
	@PN_BIN=$(CURDIR)/build/asan/bin PN_UNIT=$(CURDIR)/build/asan/unit \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  PN_TEST_KAFKA=$(PN_TEST_KAFKA) PN_TEST_EXPENSIVE=$(PN_TEST_EXPENSIVE) bash tests/run.sh -j $(CHECK_JOBS) $(TESTS)

lint-man:
	@out=$$(mandoc -Tlint -Wwarning $(wildcard man/*.[17]) </dev/null 2>&1); \
	  if [ -n "$$out" ]; then echo "$$out" >&2; exit 1; fi

bench:
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory all >&2	# stdout carries the report only
	@PN_BIN=$(CURDIR)/$(BUILD)/bin scripts/bench-report.sh $(CURDIR)/$(BUILD)/bench-report.md

demo:
	@scripts/deps.sh demo
	@$(MAKE) --no-print-directory all >/dev/null
	@PN_BIN=$(CURDIR)/$(BUILD)/bin scripts/demo.sh

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7
	install -m 755 $(BINS) $(DESTDIR)$(BINDIR)
	install -m 644 $(wildcard man/*.1) $(DESTDIR)$(MANDIR)/man1
	$(if $(wildcard man/*.7),install -m 644 $(wildcard man/*.7) $(DESTDIR)$(MANDIR)/man7)

clean:
	rm -rf build

-include $(COMMON_OBJ:.o=.d) $(BINS:$(BUILD)/bin/%=$(BUILD)/obj/cmd/%.d) \
	$(UNIT_BINS:$(BUILD)/unit/%=$(BUILD)/obj/tests/unit/%.d) \
	$(FUZZ_BINS:$(BUILD)/bin/%=$(BUILD)/obj/tests/fuzz/%.d)
