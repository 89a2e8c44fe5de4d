# petrel — GNU make build. Plain make over Meson: one file, no generator to
# install, and the globs below mean a new module needs no build edit.
#   make          build/petrel (optimised, with debug info)
#   make run      install deps, quickstart ./var once, serve in the foreground
#   make check    ASan+UBSan build, unit tests, fuzz corpus replay, integration tests
#   make fuzz     libFuzzer targets (clang), FUZZ_SECONDS each
#   make bench    benchmarks in bench/ (side by side with Postfix)
#   make lint     include-direction check and clang-tidy
#   make install  build/petrel to $(PREFIX)/bin, the systemd unit to /etc/systemd/system

CC      ?= cc
PKGS    := libevent libevent_pthreads openssl sqlite3 inih libsodium libcrypt jansson libidn2 libunbound zlib libcurl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN    := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wvla -Wstrict-prototypes \
           -Wmissing-prototypes -Wimplicit-fallthrough
BASE_CFLAGS := -std=c17 -D_GNU_SOURCE -pthread $(WARN) $(PKG_CFLAGS) -Isrc
LIBS    := $(PKG_LIBS) -lunistring -pthread

SRCS    := $(shell find src -name '*.c' ! -name '*_test.c' ! -path src/main.c | sort)
TESTS   := $(shell find src -name '*_test.c' | sort)
FUZZERS := $(shell find fuzz -maxdepth 1 -name 'fuzz_*.c' | sort)

# Release-ish default build.
B       := build
CFLAGS  ?= -O2 -g
REL_CFLAGS := $(BASE_CFLAGS) $(CFLAGS) -D_FORTIFY_SOURCE=3 -fstack-protector-strong

# Sanitizer build used by make check.
A       := build/asan
SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
ASAN_CFLAGS := $(BASE_CFLAGS) -O1 -g $(SAN)

PYTHON  := /usr/bin/python3
FUZZ_SECONDS ?= 60

.PHONY: all run check unit fuzz-replay integration fuzz bench clean deps lint install
all: $(B)/petrel

# --- release build -----------------------------------------------------------
$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) -MMD -MP -c $< -o $@

$(B)/libpetrel.a: $(SRCS:%.c=$(B)/obj/%.o)
	@rm -f $@
	ar rcs $@ $^

$(B)/petrel: $(B)/obj/src/main.o $(B)/libpetrel.a
	$(CC) $(REL_CFLAGS) -o $@ $^ $(LIBS)

# --- sanitizer build ---------------------------------------------------------
$(A)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_CFLAGS) -MMD -MP -c $< -o $@

$(A)/libpetrel.a: $(SRCS:%.c=$(A)/obj/%.o)
	@rm -f $@
	ar rcs $@ $^

$(A)/petrel: $(A)/obj/src/main.o $(A)/libpetrel.a
	$(CC) $(ASAN_CFLAGS) -o $@ $^ $(LIBS)

# Module dependencies point one way (STYLE.md §1). A unit test links only its
# own module and what lies below it, so the link line proves the direction.
DEPS_lib        := lib
DEPS_mail       := lib mail
DEPS_smtp       := lib mail smtp
DEPS_config     := lib config
DEPS_auth       := lib auth
DEPS_directory  := lib mail auth directory
DEPS_queue      := lib queue
DEPS_server     := lib config server
DEPS_store      := lib mail store
DEPS_migrate    := lib mail store migrate
DEPS_deliver    := lib mail auth directory queue store deliver
DEPS_service    := lib mail config auth directory service
DEPS_smtpd      := lib mail smtp config auth directory queue store server service smtpd
DEPS_pop3d      := lib mail config auth directory store server service pop3d
DEPS_imap       := lib mail imap
DEPS_imapd      := lib mail imap config auth directory store server service imapd
DEPS_dns        := lib dns
DEPS_dkim       := lib mail dkim
DEPS_smtpc      := lib mail smtp smtpc
DEPS_outbound   := lib mail smtp config auth directory queue store dns dkim smtpc outbound
DEPS_cli        := lib mail smtp imap config auth directory queue store migrate deliver server service smtpd pop3d imapd dns dkim smtpc outbound cli
DEPS_fuzz       := lib mail smtp config
# Fuzz targets that need more than the syntax modules name them here.
DEPS_fuzz_smtpd_session := $(DEPS_smtpd)
DEPS_fuzz_directory_address := lib mail auth directory
DEPS_fuzz_pop3d_session := $(DEPS_pop3d)
DEPS_fuzz_mbox := $(DEPS_migrate)
DEPS_fuzz_maildir := $(DEPS_migrate)
DEPS_fuzz_imap_command := $(DEPS_imap)
DEPS_fuzz_imapd_session := $(DEPS_imapd)
DEPS_fuzz_dkim_canon := lib mail dkim
DEPS_fuzz_dns_rr := lib dns
DEPS_fuzz_mta_sts := $(DEPS_outbound)
DEPS_fuzz_smtp_reply := lib mail smtp
DEPS_fuzz_smtpc_session := $(DEPS_smtpc)
modobjs = $(foreach d,$(1),$(patsubst %.c,$(2)/obj/%.o,$(filter src/$(d)/%,$(SRCS))))

.SECONDEXPANSION:
# One unit-test binary per *_test.c.
$(A)/test/%: $(A)/obj/src/%.o $$(call modobjs,$$(DEPS_$$(firstword $$(subst /, ,$$*))),$(A))
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_CFLAGS) -o $@ $^ $(LIBS)

# Fuzz targets replayed over their corpora with a plain main() (fuzz/replay.c).
$(A)/fuzz/%: $(A)/obj/fuzz/%.o $(A)/obj/fuzz/replay.o $$(call modobjs,$$(or $$(DEPS_$$*),$(DEPS_fuzz)),$(A))
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_CFLAGS) -o $@ $^ $(LIBS)

TEST_BINS := $(TESTS:src/%.c=$(A)/test/%)
FUZZ_REPLAY_BINS := $(FUZZERS:fuzz/%.c=$(A)/fuzz/%)

export ASAN_OPTIONS := abort_on_error=0:detect_leaks=1:strict_string_checks=1
export UBSAN_OPTIONS := print_stacktrace=1:halt_on_error=1

# Builds in parallel, then runs the three stages in order so the output
# reads top to bottom and pytest's summary is the last line.
check: $(TEST_BINS) $(FUZZ_REPLAY_BINS) $(A)/petrel
	@scripts/check-includes
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory fuzz-replay
	@$(MAKE) --no-print-directory integration

unit: $(TEST_BINS)
	@scripts/run-unit-tests $(TEST_BINS)

fuzz-replay: $(FUZZ_REPLAY_BINS)
	@set -e; for f in $(FUZZ_REPLAY_BINS); do \
		n=$$(basename $$f); $$f fuzz/corpus/$$n; done

integration: $(A)/petrel
	PETREL_BIN=$(CURDIR)/$(A)/petrel $(PYTHON) -m pytest -q -p no:cacheprovider tests

# --- libFuzzer (clang) -------------------------------------------------------
F := build/fuzz
FUZZ_CFLAGS := $(BASE_CFLAGS) -O1 -g -fsanitize=fuzzer-no-link,address,undefined
$(F)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@
$(F)/%: $(F)/obj/fuzz/%.o $$(call modobjs,$$(or $$(DEPS_$$*),$(DEPS_fuzz)),$(F))
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LIBS)
fuzz: $(FUZZERS:fuzz/%.c=$(F)/%)
	@set -e; for f in $^; do n=$$(basename $$f); mkdir -p fuzz/corpus/$$n; \
		d=; [ -f fuzz/$$n.dict ] && d=-dict=fuzz/$$n.dict; \
		$$f $$d -max_total_time=$(FUZZ_SECONDS) fuzz/corpus/$$n; done

# Include direction (also part of check) and clang-tidy's bug-prone checks.
lint:
	scripts/check-includes
	clang-tidy --quiet -checks='-*,bugprone-*,-bugprone-easily-swappable-parameters,-bugprone-reserved-identifier,cert-err33-c,clang-analyzer-*' \
		$(SRCS) src/main.c -- $(BASE_CFLAGS)

# --- running -----------------------------------------------------------------
deps:
	scripts/install-deps

# The demo mailbox's password is kept in var/quickstart.txt (mode 0600) so
# every `make run` can show it again; a production setup keeps no copy.
run: deps
	$(MAKE) all
	@if [ ! -d var ]; then \
		$(B)/petrel quickstart localhost --data var > build/quickstart.txt || exit 1; \
		install -m 600 build/quickstart.txt var/quickstart.txt; rm -f build/quickstart.txt; \
		cat var/quickstart.txt; \
	fi
	@echo; echo "Demo mailbox (from var/quickstart.txt):"; sed -n '/ login /{s/ — shown once//;p;q;}' var/quickstart.txt
	$(B)/petrel -c var/petrel.conf serve

PREFIX ?= /usr/local
install: all
	install -D -m 755 $(B)/petrel $(DESTDIR)$(PREFIX)/bin/petrel
	install -D -m 644 contrib/petrel.service $(DESTDIR)/etc/systemd/system/petrel.service

bench: all
	bench/smtp-in/run
	bench/smtp-out/run
	bench/deliver/run
	bench/pop3/run
	bench/imap/run

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)

.SECONDARY:
