# Makefile - the one entry point of ulog.
#
#   make          build build/libulog.so, build/ulogd, build/ulog (and the musl shim)
#   make deps     install the Debian packages that are missing (root), or print the command
#   make run      deps + build, then start ulogd in the foreground with its defaults
#   make test     deps + build, then every test that can run here; ends "N passed, N failed"
#   make install  copy the three artefacts under $(PREFIX)
#
# The shim links nothing but libc: it is loaded into programs that never
# asked for it, so it must not drag libraries (or their constructors) along.

CC         ?= cc
CXX        ?= c++
PKG_CONFIG ?= pkg-config
PREFIX     ?= /usr/local
BUILD      := build
MUSL_CC    := $(shell command -v musl-gcc 2>/dev/null)

WARN      := -Wall -Wextra -Werror
CSTD      := -std=gnu11 -D_GNU_SOURCE
OPT       ?= -O2 -g
CPPFLAGS  += -Iinclude -MMD -MP -DULOG_VERSION='"$(VERSION)"' -DULOG_LIBDIR='"$(PREFIX)/lib/ulog"'
VERSION   := 0.1.0
SANITIZE  := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

# Recursive (=) so pkg-config is asked when a recipe runs, after `make deps`.
# libcurl: the Docker Engine collector's HTTP over the engine's unix socket.
ULOGD_PC    := jansson yaml-0.1 libpcre2-8 libcurl sqlite3 libwebsockets libpq
ULOGD_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(ULOGD_PC)) -DPCRE2_CODE_UNIT_WIDTH=8 -Iebpf
ULOGD_LIBS   = $(shell $(PKG_CONFIG) --libs $(ULOGD_PC)) -lpthread $(EBPF_LIBS)
# `ulog check` runs ulogd's own configuration code, so ulog links it too.
CLI_CFLAGS   = $(ULOGD_CFLAGS) -Iaggregator
CLI_LIBS     = $(ULOGD_LIBS)
TEST_CFLAGS  = $(shell $(PKG_CONFIG) --cflags cmocka)
TEST_LIBS    = $(shell $(PKG_CONFIG) --libs cmocka)

PRELOAD_SRC := $(wildcard preload/*.c)
AGG_SRC     := $(wildcard aggregator/*.c)
CLI_SRC     := $(wildcard cli/*.c)
UNIT_SRC    := $(wildcard tests/unit/test_*.c)
PROG_C      := $(wildcard tests/programs/*.c)
PROG_CXX    := $(wildcard tests/programs/*.cpp)

PRELOAD_OBJ := $(PRELOAD_SRC:%.c=$(BUILD)/obj/%.o)
MUSL_OBJ    := $(PRELOAD_SRC:%.c=$(BUILD)/musl/%.o)
# The page's files (aggregator/web/) are built into ulogd by web_assets.S.
WEB_ASSETS  := $(wildcard aggregator/web/*)
AGG_ASM     := $(wildcard aggregator/*.S)
AGG_OBJ     := $(AGG_SRC:%.c=$(BUILD)/obj/%.o) $(AGG_ASM:%.S=$(BUILD)/obj/%.o)
AGG_LIB_OBJ := $(filter-out $(BUILD)/obj/aggregator/main.o,$(AGG_OBJ))
CLI_OBJ     := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
# Here, before the rules that link it: prerequisites expand as they are read.
EBPF_OBJ    := $(BUILD)/obj/ebpf/procevents.o
CLI_LIB_OBJ := $(filter-out $(BUILD)/obj/cli/main.o,$(CLI_OBJ))
ASAN_AGG    := $(AGG_SRC:%.c=$(BUILD)/asan/%.o) $(AGG_ASM:%.S=$(BUILD)/obj/%.o)
ASAN_LIB    := $(filter-out $(BUILD)/asan/aggregator/main.o,$(ASAN_AGG))
ASAN_CLI    := $(filter-out $(BUILD)/asan/cli/main.o,$(CLI_SRC:%.c=$(BUILD)/asan/%.o))
UNIT_BIN    := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
UNIT_ASAN   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/asan/tests/%)
# Programs the integration tests run under the shim. Each is built plain; the
# ones named *_fortify also with -D_FORTIFY_SOURCE=2, as distributions build.
PROGRAMS    := $(PROG_C:tests/programs/%.c=$(BUILD)/tests/programs/%) \
               $(PROG_CXX:tests/programs/%.cpp=$(BUILD)/tests/programs/%)

TARGETS := $(BUILD)/libulog.so $(BUILD)/ulogd $(BUILD)/ulog
ifneq ($(MUSL_CC),)
TARGETS += $(BUILD)/libulog-musl.so
endif

.PHONY: all deps run test unit-tests test-programs install clean
all: $(TARGETS)

# --- the shim ---------------------------------------------------------------
$(BUILD)/obj/preload/%.o: preload/%.c
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) $(OPT) -fPIC -fvisibility=hidden -ftls-model=initial-exec \
	    -fno-stack-protector $(CPPFLAGS) -c $< -o $@

$(BUILD)/libulog.so: $(PRELOAD_OBJ)
	$(CC) -shared -Wl,-z,now -Wl,-z,relro -Wl,--no-undefined -o $@ $^ -ldl -lpthread

# musl flavour for Alpine-style images; musl-gcc has no glibc headers, so the
# glibc stdio slot code compiles out on its own (__GLIBC__ is not defined).
$(BUILD)/musl/preload/%.o: preload/%.c
	@mkdir -p $(@D)
	$(MUSL_CC) $(CSTD) $(WARN) $(OPT) -fPIC -fvisibility=hidden -ftls-model=initial-exec \
	    -fno-stack-protector -Iinclude -DULOG_VERSION='"$(VERSION)"' -c $< -o $@

$(BUILD)/libulog-musl.so: $(MUSL_OBJ)
	$(MUSL_CC) -shared -Wl,-z,now -o $@ $^

# --- the aggregator ---------------------------------------------------------
$(BUILD)/obj/aggregator/%.o: aggregator/%.c
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) $(OPT) $(CPPFLAGS) $(ULOGD_CFLAGS) -c $< -o $@

# .incbin names its files relative to the directory make runs in; the
# preprocessor cannot see them, hence the explicit prerequisites.
$(BUILD)/obj/aggregator/%.o: aggregator/%.S $(WEB_ASSETS)
	@mkdir -p $(@D)
	$(CC) -c $< -o $@

# ulogd's console mirror prints records as `ulog tail` does: one formatter for both.
ULOGD_CLI_OBJ := $(BUILD)/obj/cli/format.o $(BUILD)/obj/cli/neutralise.o

$(BUILD)/ulogd: $(AGG_OBJ) $(ULOGD_CLI_OBJ) $(EBPF_OBJ)
	$(CC) -o $@ $^ $(ULOGD_LIBS)

# --- the command ------------------------------------------------------------
$(BUILD)/obj/cli/%.o: cli/%.c
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) $(OPT) $(CPPFLAGS) $(CLI_CFLAGS) -c $< -o $@

$(BUILD)/ulog: $(CLI_OBJ) $(AGG_LIB_OBJ) $(EBPF_OBJ)
	$(CC) -o $@ $^ $(CLI_LIBS)

# --- eBPF -------------------------------------------------------------------
# ebpf/procevents.bpf.c is compiled against a vmlinux.h dumped from the running
# kernel's BTF (or, where there is none, the one shipped in ebpf/vmlinux/ARCH;
# CO-RE relocates it to the kernel it loads on), then wrapped by bpftool into
# a skeleton header that ebpf/procevents.c, the loader, includes.
# Link $(EBPF_OBJ) with $(EBPF_LIBS).
CLANG       ?= clang
BPFTOOL     ?= $(or $(shell command -v bpftool 2>/dev/null),/usr/sbin/bpftool)
BPF_ARCH    := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
EBPF_CFLAGS  = $(shell $(PKG_CONFIG) --cflags libbpf)
EBPF_LIBS    = $(shell $(PKG_CONFIG) --libs libbpf) -lelf -lz

$(BUILD)/ebpf/vmlinux.h:
	@mkdir -p $(@D)
	if [ -r $(VMLINUX_BTF) ]; then \
	    $(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@.tmp && mv $@.tmp $@; \
	else cp ebpf/vmlinux/$(BPF_ARCH)/vmlinux.h $@; fi

$(BUILD)/ebpf/%.bpf.o: ebpf/%.bpf.c $(BUILD)/ebpf/vmlinux.h
	$(CLANG) -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_$(BPF_ARCH) \
	    -I$(BUILD)/ebpf -Iebpf -MMD -MP -c $< -o $@

$(BUILD)/ebpf/%.skel.h: $(BUILD)/ebpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $*_bpf > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/ebpf/%.o: ebpf/%.c $(BUILD)/ebpf/%.skel.h
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) $(OPT) $(CPPFLAGS) $(EBPF_CFLAGS) -I$(BUILD)/ebpf -Iebpf -c $< -o $@

# Kept: E2's ulogd and the tests use the skeleton too.
.SECONDARY: $(BUILD)/ebpf/procevents.bpf.o $(BUILD)/ebpf/procevents.skel.h

all: $(EBPF_OBJ)

# --- unit tests (cmocka), plain and under ASan/UBSan --------------------------
$(BUILD)/asan/aggregator/%.o: aggregator/%.c
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) -O1 -g $(SANITIZE) $(CPPFLAGS) $(ULOGD_CFLAGS) -c $< -o $@

$(BUILD)/asan/cli/%.o: cli/%.c
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) -O1 -g $(SANITIZE) $(CPPFLAGS) $(CLI_CFLAGS) -c $< -o $@

$(BUILD)/asan/ulogd: $(ASAN_AGG) $(BUILD)/asan/cli/format.o $(BUILD)/asan/cli/neutralise.o $(EBPF_OBJ)
	$(CC) $(SANITIZE) -o $@ $^ $(ULOGD_LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(AGG_LIB_OBJ) $(CLI_LIB_OBJ) $(EBPF_OBJ)
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) $(OPT) $(CPPFLAGS) -Iaggregator -Icli $(ULOGD_CFLAGS) $(TEST_CFLAGS) \
	    -o $@ $< $(AGG_LIB_OBJ) $(CLI_LIB_OBJ) $(EBPF_OBJ) $(ULOGD_LIBS) $(TEST_LIBS)

$(BUILD)/asan/tests/%: tests/unit/%.c $(ASAN_LIB) $(ASAN_CLI) $(EBPF_OBJ)
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) -O1 -g $(SANITIZE) $(CPPFLAGS) -Iaggregator -Icli $(ULOGD_CFLAGS) \
	    $(TEST_CFLAGS) -o $@ $< $(ASAN_LIB) $(ASAN_CLI) $(EBPF_OBJ) $(ULOGD_LIBS) $(TEST_LIBS)

unit-tests: $(UNIT_BIN) $(UNIT_ASAN) $(BUILD)/asan/ulogd

$(BUILD)/tests/programs/%: tests/programs/%.c
	@mkdir -p $(@D)
	$(CC) $(CSTD) -Wall -Wextra -Werror -O2 -g -o $@ $< -lpthread

$(BUILD)/tests/programs/%_fortify: tests/programs/%_fortify.c
	@mkdir -p $(@D)
	$(CC) $(CSTD) -Wall -Wextra -Werror -O2 -D_FORTIFY_SOURCE=2 -o $@ $< -lpthread

$(BUILD)/tests/programs/%: tests/programs/%.cpp
	@mkdir -p $(@D)
	$(CXX) -std=gnu++17 -Wall -Wextra -Werror -O2 -g -o $@ $< -lpthread

test-programs: $(PROGRAMS)

# --- bench ------------------------------------------------------------------
# make bench: install the peers it compares ulog with (BENCH_DEPS), build the
# benchmark programs (bench/*.c, plain -O2 like a host program) and the
# artefacts, then run bench/run_shim_cost.py, which runs every section and
# rewrites docs/BENCHMARKS.md (under 10 minutes on 2 cores). A peer that
# cannot be installed is reported missing in its section, never faked, so a
# failed install does not stop the bench.
#
# rsyslog and syslog-ng cannot both be installed (each is the system's
# syslog daemon), and installing either may start it: both are unpacked under
# build/peers instead, and run from there; only their libraries, which start
# nothing, are installed.
PEER_PKGS := rsyslog syslog-ng-core
PEER_LIBS := libestr0 libfastjson4 libivykis0 libnet1 libwrap0 libpcre3 libglib2.0-0 libjson-c5 \
        libssl3
BENCH_DEPS := $(foreach p,$(PEER_LIBS),file:/usr/share/doc/$(p)/copyright:$(p)) \
        cmd:dockerd:docker.io pc:lttng-ust:liblttng-ust-dev cmd:lttng-sessiond:lttng-tools \
        cmd:babeltrace2:babeltrace2 cmd:jq:jq
PEERS := $(PEER_PKGS:%=$(BUILD)/peers/%/version)
BENCH_BIN := $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/*.c))
# The LTTng reference needs liblttng-ust; without it, its section says so.
ifeq ($(shell $(PKG_CONFIG) --exists lttng-ust 2>/dev/null && echo yes),)
BENCH_BIN := $(filter-out $(BUILD)/bench/lttng_event,$(BENCH_BIN))
endif

# -Iinclude: a feeder speaks the shim's protocol with its own encoders (ulog/wire.h).
$(BUILD)/bench/%: bench/%.c
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) -O2 -g -Iinclude -MMD -MP -o $@ $<

# lttng_event: LTTng re-includes its tracepoint provider (bench/lttng_tp.h) by
# name, so -Ibench; the probes' runtime is liblttng-ust.
$(BUILD)/bench/lttng_event: bench/lttng_event.c
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) -O2 -g -Iinclude -Ibench -MMD -MP -o $@ $< -llttng-ust -ldl

.PHONY: bench bench-deps bench-programs
# Installing docker.io or lttng-tools must not start their daemons as system
# services: where nothing says otherwise, a policy-rc.d that refuses every
# start (Debian's mechanism for exactly this) is in place for the install
# and removed after it. The bench starts and stops its own daemons.
bench-deps:
	-@guard=; \
	if [ "$$(id -u)" = 0 ] && [ ! -e /usr/sbin/policy-rc.d ]; then \
	    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && guard=1; \
	fi; \
	$(MAKE) --no-print-directory bench-install; rc=$$?; \
	if [ -n "$$guard" ]; then rm -f /usr/sbin/policy-rc.d; fi; exit $$rc

.PHONY: bench-install
bench-install:
	$(call install_missing,$(BENCH_DEPS))

bench-programs: $(BENCH_BIN) $(PEERS)

# A peer's binaries and modules, from its Debian package, without installing
# it. Only usr/ is unpacked: etc/init.d would be a directory named like a
# dependency file to the -include of build/**/*.d.
$(BUILD)/peers/%/version:
	@rm -rf $(@D) && mkdir -p $(@D)
	cd $(@D) && { apt-get download $* 2>/dev/null || { apt-get update -qq && apt-get download $*; }; } \
	    && dpkg-deb --fsys-tarfile $*_*.deb | tar -x ./usr/sbin ./usr/lib \
	    && dpkg-deb -f $*_*.deb Version > version.tmp && rm -f $*_*.deb && mv version.tmp version

# A make of its own for the programs: it reads this file again after
# bench-deps, so what was just installed (liblttng-ust) is seen.
bench: deps-test bench-deps
	@$(MAKE) --no-print-directory all bench-programs
	@python3 bench/run_shim_cost.py

# --- fuzzing ----------------------------------------------------------------
# DESIGN.md, Quality: parsers and decoders have fuzz targets. Each
# tests/fuzz/fuzz_NAME.c is a libFuzzer target (what it feeds and checks is
# in its opening comment), tests/fuzz/corpus/fuzz_NAME/ its seeds: real
# inputs from the unit tests and fixtures. libFuzzer comes with clang, so the
# targets and the aggregator sources they use are compiled by clang, under
# ASan and UBSan (a UBSan report stops the run, as a crash does), into
# build/fuzz/; they go into an archive, so each target links only what it
# uses.
#
#   make fuzz-build   build/fuzz/fuzz_*; without clang's libFuzzer it says
#                     so and builds nothing (make test then skips them)
#   make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS="fuzz_wire ..."]
#                     fuzz each target that long, one after the other, on
#                     build/fuzz/corpus/fuzz_NAME (the seeds, plus what
#                     earlier runs found, which it keeps); what breaks one is
#                     saved as build/fuzz/crash-fuzz_NAME-*, its output in
#                     build/fuzz/fuzz_NAME.log
#
# `make test` runs every target over its seeds, then fuzzes it for 10 s
# (tests/run.py, "fuzz:fuzz_NAME").
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS   = $(CSTD) -g -O1 $(FUZZ_SAN) $(CPPFLAGS) -Iaggregator -Icli $(ULOGD_CFLAGS)
FUZZ_SRC     := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN     := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_TARGETS ?= $(notdir $(FUZZ_BIN))
# What the targets reach, named rather than globbed: a source that needs
# flags of its own (the eBPF input) never stops the fuzz build. A missing
# one shows as an undefined reference when a target is linked.
FUZZ_LIB_SRC := $(addprefix aggregator/,alloc.c assembler.c bytebuf.c config.c config_docker.c \
        config_ebpf.c config_pipeline.c config_rules.c config_settings.c config_store.c config_yaml.c console.c \
        container.c docker_events.c docker_stream.c draft.c \
        levels.c levels_crash.c lift.c logfmt.c multiline.c multiline_builtin.c \
        multiline_formats.c record.c redact.c redact_builtins.c regex_jit.c rules.c \
        rules_limit.c rules_match.c rules_route.c timestamp.c utf8.c) \
        cli/format.c cli/neutralise.c
FUZZ_LIB_OBJ := $(FUZZ_LIB_SRC:%.c=$(BUILD)/fuzz/obj/%.o)
FUZZ_PROBE   := echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return !d + !n; }' \
	| $(FUZZ_CC) -x c -fsanitize=fuzzer,address,undefined -o $(BUILD)/fuzz/.probe - >/dev/null 2>&1

.PHONY: fuzz fuzz-build fuzz-targets
fuzz-build:
	@mkdir -p $(BUILD)/fuzz
	@if $(FUZZ_PROBE); then rm -f $(BUILD)/fuzz/.probe; \
	    $(MAKE) --no-print-directory fuzz-targets; \
	else echo "fuzz-build: skipped: $(FUZZ_CC) cannot link a libFuzzer target" \
	    "(-fsanitize=fuzzer); install clang to build tests/fuzz/"; fi

# A recipe, so that nothing left to do prints nothing.
fuzz-targets: $(FUZZ_BIN)
	@:

$(BUILD)/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(BUILD)/fuzz/libulogd.a: $(FUZZ_LIB_OBJ) $(EBPF_OBJ)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_BIN): $(BUILD)/fuzz/%: tests/fuzz/%.c $(BUILD)/fuzz/libulogd.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(WARN) -fsanitize=fuzzer -o $@ $< $(BUILD)/fuzz/libulogd.a \
	    $(ULOGD_LIBS)

fuzz: fuzz-build
	@failed=""; \
	for t in $(FUZZ_TARGETS); do \
	    if [ ! -x $(BUILD)/fuzz/$$t ]; then echo "fuzz: $$t is not built"; failed="$$failed $$t"; continue; fi; \
	    corpus=$(BUILD)/fuzz/corpus/$$t; mkdir -p $$corpus; \
	    for f in tests/fuzz/corpus/$$t/*; do \
	        [ -f "$$f" ] && [ ! -e "$$corpus/$${f##*/}" ] && cp "$$f" "$$corpus/"; done; \
	    echo "fuzz: $$t for $(FUZZ_SECONDS) s ($(BUILD)/fuzz/$$t.log)"; \
	    if $(BUILD)/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -timeout=25 -rss_limit_mb=2048 \
	            -print_final_stats=1 -artifact_prefix=$(BUILD)/fuzz/crash-$$t- $$corpus \
	            >$(BUILD)/fuzz/$$t.log 2>&1; then \
	        grep -a '^Done' $(BUILD)/fuzz/$$t.log | sed "s/^/fuzz: $$t: /"; \
	    else \
	        echo "fuzz: $$t FAILED:"; \
	        grep -a -E '^(==[0-9]+==ERROR|SUMMARY|.*broken promise|.*runtime error|artifact_prefix|Test unit written)' \
	            $(BUILD)/fuzz/$$t.log | sed 's/^/    /'; \
	        failed="$$failed $$t"; \
	    fi; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: failed:$$failed"; exit 1; fi

# --- compatibility: real programs' own test suites --------------------------
# make test-compat: CPython's and GLib's own tests, bare and under the shim,
# compared case by case (tests/compat/run_compat.py, about 3 minutes).
# `make test` runs them too, through tests/run.py.
.PHONY: test-compat
test-compat: deps-test
	@$(MAKE) --no-print-directory all
	@python3 tests/compat/run_compat.py

# --- the page: ulogd's live page in Debian's Chromium ------------------------
# make test-browser: two ulogds with HTTP on free loopback ports, records from
# POST /logs and from programs under the shim, and the page driven by
# playwright-core (tests/browser/run_browser.py, about 20 s; the first time
# it also installs playwright-core with npm). Screenshots are left in
# build/artifacts/page.png and page-dark.png. `make test` runs it too.
.PHONY: test-browser
test-browser: deps-test
	@$(MAKE) --no-print-directory all
	@python3 tests/browser/run_browser.py

# --- containers: the compose stack against a real engine --------------------
# make test-docker: a private dockerd (no bridge, no iptables), the offline
# base image (tests/docker/base_image.py: debootstrap, kept between runs),
# the ulog image and compose/'s example stack built and started, all.log on
# the host checked, everything but the base image removed again
# (tests/docker/run_docker.py: about 35 s, 2 minutes the first time on a
# machine, with the base image). `make test` runs it too.
.PHONY: test-docker
test-docker: deps-test
	@python3 tests/docker/run_docker.py

# --- set-up -----------------------------------------------------------------
# KIND:NAME:PACKAGE - a pkg-config module (pc), a command on PATH (cmd) or a
# file (file) that is missing unless the Debian PACKAGE is installed.
# What `make` and `make run` need:
DEPS := pc:jansson:libjansson-dev pc:yaml-0.1:libyaml-dev pc:libpcre2-8:libpcre2-dev \
        pc:libcurl:libcurl4-openssl-dev cmd:pkg-config:pkg-config cmd:cc:gcc cmd:musl-gcc:musl-tools
# Serving (the store, HTTP and WebSocket, PostgreSQL):
DEPS += pc:sqlite3:libsqlite3-dev pc:libwebsockets:libwebsockets-dev pc:libpq:libpq-dev
# eBPF (ebpf/): bpftool is in /usr/sbin, off a user's PATH.
DEPS += cmd:clang:clang pc:libbpf:libbpf-dev file:/usr/sbin/bpftool:bpftool
# What `make test` needs on top:
TEST_DEPS := pc:cmocka:libcmocka-dev cmd:c++:g++ cmd:python3:python3 cmd:node:nodejs \
        cmd:valgrind:valgrind cmd:strace:strace
# Real programs' own test suites, run bare and under the shim (tests/compat/).
TEST_DEPS += file:/usr/lib/python3.11/test/test_subprocess.py:libpython3.11-testsuite \
        file:/usr/libexec/installed-tests/glib/spawn-test:libglib2.0-tests
# Go, to prove what the shim cannot see (tests/integration/test_runtimes_more.py):
# Go makes its system calls itself, static or cgo. About 80 MB to download,
# 450 MB installed. rustc and javac come with the machine; each of those tests
# is skipped where its toolchain is absent.
TEST_DEPS += cmd:go:golang-go
# A real Docker engine for the end-to-end test of the compose stack
# (tests/docker/run_docker.py, make test-docker): the engine, Compose 1.29, and
# debootstrap, which makes the offline base image (both in /usr/sbin, off a
# user's PATH). Installing docker.io must not start its daemon: see deps-test.
TEST_DEPS += file:/usr/sbin/dockerd:docker.io cmd:docker-compose:docker-compose \
        file:/usr/sbin/debootstrap:debootstrap
# The page in a real browser (tests/browser/: Debian's Chromium, driven by
# playwright-core, which the test installs with npm), and a real PostgreSQL
# server for the store's second home (tests start a private cluster of their
# own; installing the package must not start the system's: see deps-test).
TEST_DEPS += file:/usr/bin/chromium:chromium cmd:npm:npm \
        file:/usr/share/doc/postgresql/copyright:postgresql
# A font with the control pictures (ESC shown as U+241B) the page draws for
# escape sequences, so that its screenshot shows them rather than empty boxes.
TEST_DEPS += file:/usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf:fonts-symbola

# $(call install_missing,LIST): apt-get install what LIST lacks (as root), or
# print the command and fail.
define install_missing
	@missing=""; \
	for d in $(1); do \
	    kind=$${d%%:*}; rest=$${d#*:}; name=$${rest%%:*}; pkg=$${rest#*:}; \
	    if [ "$$kind" = pc ]; then $(PKG_CONFIG) --exists "$$name" 2>/dev/null || missing="$$missing $$pkg"; \
	    elif [ "$$kind" = file ]; then [ -e "$$name" ] || missing="$$missing $$pkg"; \
	    else command -v "$$name" >/dev/null 2>&1 || missing="$$missing $$pkg"; fi; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "make: installing$$missing"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing; \
	else \
	    echo "make: missing Debian packages:$$missing"; \
	    echo "run:  sudo apt-get install -y$$missing"; exit 1; \
	fi
endef

.PHONY: deps deps-test
deps:
	$(call install_missing,$(DEPS))

# Under the same guard as bench-deps: docker.io (in TEST_DEPS) must not start
# a system dockerd; the tests start and stop their own.
deps-test:
	@guard=; \
	if [ "$$(id -u)" = 0 ] && [ ! -e /usr/sbin/policy-rc.d ]; then \
	    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && guard=1; \
	fi; \
	$(MAKE) --no-print-directory deps-test-install; rc=$$?; \
	if [ -n "$$guard" ]; then rm -f /usr/sbin/policy-rc.d; fi; exit $$rc

.PHONY: deps-test-install
deps-test-install:
	$(call install_missing,$(DEPS) $(TEST_DEPS))

run: deps
	@$(MAKE) --no-print-directory all
	@mkdir -p logs
	@exec $(BUILD)/ulogd --log-dir logs

test: deps-test
	@$(MAKE) --no-print-directory all unit-tests test-programs fuzz-build
	@python3 tests/run.py

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/ulog
	install -m 0755 $(BUILD)/ulogd $(BUILD)/ulog $(DESTDIR)$(PREFIX)/bin/
	install -m 0755 $(BUILD)/libulog.so $(DESTDIR)$(PREFIX)/lib/ulog/
	if [ -f $(BUILD)/libulog-musl.so ]; then \
	    install -m 0755 $(BUILD)/libulog-musl.so $(DESTDIR)$(PREFIX)/lib/ulog/; fi

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' -type f 2>/dev/null)
