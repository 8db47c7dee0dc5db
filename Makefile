# Stampede build. `make deps` installs Debian packages; `make` builds bin/; `make test`
# checks for include cycles (check-includes), then runs unit + integration tests;
# `make demo` runs the ERP scenario against the bundled target; `make bench` compares
# against wrk and Locust; `make fuzz` builds the fuzz targets into bin/fuzz/ (fuzz-bins,
# from the library's source list like everything else).
# SAN=1 builds everything with ASan+UBSan into bin-san/ and obj-san/; O=DIR and B=DIR
# choose other object and binary folders.

PKGS      := libevent libevent_pthreads libevent_openssl libcurl msgpack yaml-0.1 jansson libssl libcrypto \
             libpcre2-8 sqlite3 zlib
DEB_PKGS  := build-essential pkg-config libevent-dev libcurl4-openssl-dev libnng-dev \
             libmsgpack-dev libyaml-dev libjansson-dev libcmocka-dev libwslay-dev \
             python3 python3-websockets curl nginx-light libssl-dev openssl \
             nodejs npm chromium prometheus libpcre2-dev python3-locust \
             prometheus-node-exporter \
             libsqlite3-dev tzdata sqlite3 node-llhttp zlib1g-dev
BENCH_PKGS := wrk python3-locust nginx-light util-linux procps linux-perf
FUZZ_PKGS := clang libclang-rt-14-dev

VERSION   := $(shell git describe --always --dirty 2>/dev/null || echo 0.1.0)
CC        ?= cc
ifeq ($(SAN),1)
  O       := obj-san
  B       := bin-san
  SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  OPT     := -O1
else
  O       := obj
  B       := bin
  SANFLAGS :=
  OPT     := -O2
endif

# llhttp (the lean client's response parser, worker/http_resp.c): Debian's node-llhttp
# ships its generated C sources and header, not a library; they are compiled into the
# library from there (objects under $(O)/llhttp/), nothing is copied into the tree.
LLHTTP_DIR := /usr/share/llhttp
LLHTTP_INC := /usr/share/include/llhttp
LLHTTP_SRC := llhttp.c api.c http.c

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null) -I$(LLHTTP_INC)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# nng 1.5 and wslay 1.1 in Debian ship no pkg-config file: link them by name.
CFLAGS    ?= $(OPT) -g
CFLAGS    += -std=gnu11 -Wall -Wextra -Werror -Wno-missing-field-initializers \
             -I. -pthread -D_GNU_SOURCE -DSTAMPEDE_VERSION='"$(VERSION)"' $(SANFLAGS) $(PKG_CFLAGS)
LDFLAGS   += -pthread $(SANFLAGS)
LDLIBS    += $(PKG_LIBS) -lnng -lwslay -lm

LIB_SRC   := $(filter-out %/main.c,$(wildcard common/*.c proto/*.c worker/*.c master/*.c cli/*.c))
LLHTTP_OBJ := $(LLHTTP_SRC:%.c=$(O)/llhttp/%.o)
LIB_OBJ   := $(LIB_SRC:%.c=$(O)/%.o) $(O)/assets_gen.o $(LLHTTP_OBJ)
# Front-end files embedded into the binaries (master/assets.h); uPlot comes from npm.
UPLOT     := node_modules/uplot/dist
WEB_FILES := index.html=web/index.html app.js=web/app.js app.css=web/app.css \
             report.js=web/report.js uPlot.min.js=$(UPLOT)/uPlot.iife.min.js \
             uPlot.min.css=$(UPLOT)/uPlot.min.css
WEB_DEPS  := $(foreach f,$(WEB_FILES),$(word 2,$(subst =, ,$(f))))
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
MAINS     := $(B)/stampede $(B)/stampede-master $(B)/stampede-worker $(B)/stampede-target

# Fuzz targets (tests/fuzz/fuzz_NAME.c) link a clang build of the same LIB_SRC, with
# libFuzzer's coverage and ASan+UBSan, so a split or a new file in the library can never
# build with `make` and break `make fuzz`: no target carries its own list of sources.
FUZZ_CC   ?= clang
FUZZ_O    ?= obj-fuzz
FUZZ_B    ?= bin/fuzz
FUZZ_SAN  := -fsanitize=address,undefined
FUZZ_CFLAGS := -g -O1 -std=gnu11 -D_GNU_SOURCE -I. -pthread -DSTAMPEDE_VERSION='"$(VERSION)"' \
             $(FUZZ_SAN) $(PKG_CFLAGS)
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN  := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_B)/%)
FUZZ_LLHTTP_OBJ := $(LLHTTP_SRC:%.c=$(FUZZ_O)/llhttp/%.o)
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_O)/%.o) $(FUZZ_LLHTTP_OBJ)

# Module include cycles (tools/check_includes.py states the rule) fail `make test`. A
# cycle named here (--allow A,B) would only be printed while it is being removed; the
# tree has none, so none is named.
CHECK_INCLUDES_ALLOW :=

.PHONY: all deps deps-bench deps-fuzz test check-includes unit unit-bins integration demo bench \
        bench-bins fuzz fuzz-bins clean
all: $(MAINS)

ifneq ($(Q),)
else
Q := @
endif

# Links $@ from its prerequisites (objects and libstampede.a) and the libraries.
define link
@mkdir -p $(dir $@)
@echo "  LD  $@"
$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(EXTRA_LIBS)
endef

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC  $<"
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# One recipe for both files (a grouped target, GNU make 4.3): `make -j2` used to run
# `npm ci` twice at once, one per file.
$(UPLOT)/uPlot.iife.min.js $(UPLOT)/uPlot.min.css &: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $(UPLOT)/uPlot.iife.min.js $(UPLOT)/uPlot.min.css

$(O)/assets_gen.c: tools/embed.py $(WEB_DEPS)
	@mkdir -p $(dir $@)
	@echo "  GEN $@"
	$(Q)python3 tools/embed.py $@ $(WEB_FILES)

# llhttp's generated sources are third-party code: our flags, less the one warning they
# trip (unused callback parameters), so -Werror still holds for everything else.
$(LLHTTP_OBJ): $(O)/llhttp/%.o: $(LLHTTP_DIR)/%.c
	@mkdir -p $(dir $@)
	@echo "  CC  $<"
	$(Q)$(CC) $(CFLAGS) -Wno-unused-parameter -MMD -MP -c $< -o $@

$(O)/assets_gen.o: $(O)/assets_gen.c
	@echo "  CC  $<"
	$(Q)$(CC) $(CFLAGS) -Wno-overlength-strings -c $< -o $@

$(O)/libstampede.a: $(LIB_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^

$(B)/stampede: $(O)/cli/main.o $(O)/libstampede.a
	$(link)

$(B)/stampede-master: $(O)/master/main.o $(O)/libstampede.a
	$(link)

$(B)/stampede-worker: $(O)/worker/main.o $(O)/libstampede.a
	$(link)

$(B)/stampede-target: $(O)/tests/target/target.o $(O)/libstampede.a
	$(link)

# Every unit test links the shared fixtures (tests/unit/support.{h,c}).
$(UNIT_BIN): EXTRA_LIBS := -lcmocka
$(B)/tests/%: $(O)/tests/unit/%.o $(O)/tests/unit/support.o $(O)/libstampede.a
	$(link)

# The master-merge bench (tests/bench/merge_bench.c) links the library like a daemon.
$(B)/merge_bench: $(O)/tests/bench/merge_bench.o $(O)/libstampede.a
	$(link)

# fuzz_proto's seed corpus writer (tests/fuzz/gen_proto_corpus.c), an ordinary build.
$(B)/gen_proto_corpus: $(O)/tests/fuzz/gen_proto_corpus.o $(O)/libstampede.a
	$(link)

# The fuzz library: LIB_SRC instrumented for libFuzzer (fuzzer-no-link: coverage without
# a second main) under ASan+UBSan; each target adds its LLVMFuzzerTestOneInput and the
# fuzzer runtime. Warnings are gcc's job in the ordinary build. The embedded web files
# (assets_gen.o, which needs npm) are left out: a target that reached master/assets.c
# would fail to link, and would then add $(O)/assets_gen.c here.
$(FUZZ_O)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  FCC $<"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_LLHTTP_OBJ): $(FUZZ_O)/llhttp/%.o: $(LLHTTP_DIR)/%.c
	@mkdir -p $(dir $@)
	@echo "  FCC $<"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_O)/libstampede-fuzz.a: $(FUZZ_LIB_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^

$(FUZZ_B)/fuzz_%: $(FUZZ_O)/tests/fuzz/fuzz_%.o $(FUZZ_O)/libstampede-fuzz.a
	@mkdir -p $(dir $@)
	@echo "  FUZZ $@"
	$(Q)$(FUZZ_CC) -g -O1 -pthread -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^ $(LDLIBS)

.SECONDARY:

-include $(shell find $(O) -name '*.d' 2>/dev/null)
-include $(shell find $(FUZZ_O) -name '*.d' 2>/dev/null)

# --- set-up ---------------------------------------------------------------------
deps:
	@sh tests/deps.sh $(DEB_PKGS)
	@test -d node_modules/uplot -a -d node_modules/playwright-core || npm ci --no-audit --no-fund
deps-bench:
	@sh tests/deps.sh $(DEB_PKGS) $(BENCH_PKGS)
deps-fuzz:
	@sh tests/deps.sh $(FUZZ_PKGS)

# --- tests ----------------------------------------------------------------------
test: deps
	$(MAKE) check-includes
	$(MAKE) all $(UNIT_BIN)
	$(MAKE) unit integration

check-includes:
	@python3 tools/check_includes.py --self-test
	@python3 tools/check_includes.py $(CHECK_INCLUDES_ALLOW)

unit-bins: $(UNIT_BIN)

unit: $(UNIT_BIN)
	@sh tests/run_unit.sh $(UNIT_BIN)

integration: $(MAINS)
	@BIN=$(B) sh tests/integration/run_all.sh

demo: deps
	$(MAKE) all
	@sh tests/demo.sh $(B)

bench-bins: $(B)/merge_bench

bench: deps deps-bench
	$(MAKE) all bench-bins
	@sh tests/bench/bench.sh $(B)

# make soak: a compressed endurance run (SOAK_MINUTES, default 30) sampling the RSS of
# every process each 10 s into SOAK_OUT (default results/soak-<time>): rss.csv, rss.svg
# and soak.md with each process' growth from minute 2 to the end (tests/soak/soak.py).
.PHONY: soak
soak: deps
	$(MAKE) all
	@python3 tests/soak/soak.py $(B)

# fuzz-bins builds the targets only (what tests/fuzz/build.sh asks for); fuzz installs
# clang first and goes through build.sh (`sh tests/fuzz/build.sh run SECONDS` runs them).
fuzz-bins: $(FUZZ_BIN)

fuzz: deps deps-fuzz
	@MAKE="$(MAKE)" FUZZ_O=$(FUZZ_O) FUZZ_B=$(FUZZ_B) sh tests/fuzz/build.sh

clean:
	rm -rf obj obj-san obj-fuzz bin bin-san
