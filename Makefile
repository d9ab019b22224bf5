# smsgate - one Makefile, pkg-config for every dependency (libphonenumber has no .pc file; its
# geocoder, libgeocoding, takes ICU locales: libicu-dev, which libphonenumber-dev does not pull).
#   make            bin/smsgated and bin/smsctl
#   make test       unit tests, then the integration suite (tests/run-integration)
#   make test-unit  unit tests only
#   make asan       unit tests built and run under AddressSanitizer + UBSan (build-asan/)
#   make man        build/man/smsgated.8 and build/man/smsctl.1, printed by `smsgated --man`
#                   and `smsctl --man` from the tables behind their --help (never edited by hand)
#   make install    (see below)   make uninstall   removes what install put, except the config
#
# make install [DESTDIR=/tmp/root] [PREFIX=/usr] [VAR=dir ...] installs, with `install -m`:
#   $(SBINDIR)/smsgated                    0755   SBINDIR    = $(PREFIX)/sbin
#   $(BINDIR)/smsctl                       0755   BINDIR     = $(PREFIX)/bin
#   $(MANDIR)/man8/smsgated.8              0644   MANDIR     = $(PREFIX)/share/man
#   $(MANDIR)/man1/smsctl.1                0644
#   $(SYSCONFDIR)/smsgate/smsgated.conf    0644   SYSCONFDIR = /etc when PREFIX is /usr,
#       smsgated.conf.example with `data = $(STATEDIR)`;         else $(PREFIX)/etc
#       never overwritten when it exists                         STATEDIR = /var/lib/smsgate
#   $(UNITDIR)/smsgated.service            0644   UNITDIR    = $(PREFIX)/lib/systemd/system
#       systemd/smsgated.service.in with SBINDIR and SYSCONFDIR filled in
#   $(DOCDIR)/README.md, docs/*.md, smsgated.conf.example   DOCDIR = $(PREFIX)/share/doc/smsgate
# PREFIX defaults to /usr/local. Nothing is created in STATEDIR: the unit's StateDirectory= (or
# the package) makes it, owned by the smsgate user, mode 0700. Packages pass DESTDIR and
# PREFIX=/usr (and, on Debian 12, UNITDIR=/lib/systemd/system).

CC      ?= cc
CXX     ?= c++
PKGS    := libevent libevent_openssl libevent_pthreads jansson sqlite3 libpq libcurl openssl
BUILD   ?= build
BIN     ?= bin
OPT     ?= -O2 -g
SAN     ?=

CFLAGS_ALL   := -std=c11 -D_GNU_SOURCE -DSMSGATE_VERSION=\"0.1.0\" -Wall -Wextra -Werror $(OPT) $(SAN) -Isrc \
                $(shell pkg-config --cflags $(PKGS))
CXXFLAGS_ALL := -std=c++17 -Wall -Wextra -Werror $(OPT) $(SAN) -Isrc
LDLIBS_ALL   := $(shell pkg-config --libs $(PKGS)) -lgeocoding -lphonenumber \
                $(shell pkg-config --libs icu-i18n icu-uc) -lstdc++ -lpthread -lm
# The programs' allocator: jemalloc took ~10 % off smsgated's CPU per message against glibc's
# malloc (docs/benchmarks.md). `make MALLOC=` builds with glibc's; sanitizer builds never use it.
MALLOC       ?= $(if $(SAN),,-ljemalloc)
TEST_LIBS    := $(shell pkg-config --libs cmocka)

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
STATEDIR   ?= /var/lib/smsgate
UNITDIR    ?= $(PREFIX)/lib/systemd/system
DOCDIR     ?= $(PREFIX)/share/doc/smsgate
INSTALL    ?= install

MAINS   := src/smsgated.c src/smsctl.c
CSRC    := $(filter-out $(MAINS),$(shell find src -name '*.c' | sort))
CXXSRC  := $(shell find src -name '*.cc' | sort)
OBJS    := $(CSRC:%.c=$(BUILD)/%.o) $(CXXSRC:%.cc=$(BUILD)/%.o)
LIB     := $(BUILD)/libsmsgate.a
TESTS   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))

all: $(BIN)/smsgated $(BIN)/smsctl

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(BUILD)/%.o: %.cc
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS_ALL) -MMD -MP -c $< -o $@

$(LIB): $(OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BIN)/%: $(BUILD)/src/%.o $(LIB)
	@mkdir -p $(BIN)
	$(CC) $(SAN) -o $@ $^ $(LDLIBS_ALL) $(MALLOC)

$(BUILD)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(shell pkg-config --cflags cmocka) -o $@ $< $(LIB) $(TEST_LIBS) $(LDLIBS_ALL)

unit-bins: $(TESTS)

test-unit: $(TESTS)
	@set -e; for t in $(TESTS); do echo "== $$t"; $$t; done

asan:
	$(MAKE) BUILD=build-asan BIN=build-asan/bin OPT="-O1 -g -fno-omit-frame-pointer" \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" test-unit

test: all test-unit
	tests/run-integration

# Test tools the integration suite builds when it needs them (tests/tools/*.c).
$(BUILD)/tests/tools/%: tests/tools/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $<

# Generated every time (it takes milliseconds): the pages name SYSCONFDIR, which may differ
# from one make invocation to the next.
man: $(BIN)/smsgated $(BIN)/smsctl
	@mkdir -p $(BUILD)/man
	$(BIN)/smsgated --man | sed 's|/etc/smsgate/|$(SYSCONFDIR)/smsgate/|g' > $(BUILD)/man/smsgated.8
	$(BIN)/smsctl --man > $(BUILD)/man/smsctl.1

# The packaged configuration and the unit, for the install directories of this invocation.
install-files:
	@mkdir -p $(BUILD)/etc
	sed 's|^# data = .*|data = $(STATEDIR)|' smsgated.conf.example > $(BUILD)/etc/smsgated.conf
	grep -qx 'data = $(STATEDIR)' $(BUILD)/etc/smsgated.conf
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	    systemd/smsgated.service.in > $(BUILD)/etc/smsgated.service

install: all man install-files
	$(INSTALL) -d -m 0755 $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(SYSCONFDIR)/smsgate $(DESTDIR)$(UNITDIR) \
	    $(DESTDIR)$(DOCDIR)
	$(INSTALL) -m 0755 $(BIN)/smsgated $(DESTDIR)$(SBINDIR)/smsgated
	$(INSTALL) -m 0755 $(BIN)/smsctl $(DESTDIR)$(BINDIR)/smsctl
	$(INSTALL) -m 0644 $(BUILD)/man/smsgated.8 $(DESTDIR)$(MANDIR)/man8/smsgated.8
	$(INSTALL) -m 0644 $(BUILD)/man/smsctl.1 $(DESTDIR)$(MANDIR)/man1/smsctl.1
	$(INSTALL) -m 0644 $(BUILD)/etc/smsgated.service $(DESTDIR)$(UNITDIR)/smsgated.service
	$(INSTALL) -m 0644 README.md docs/*.md smsgated.conf.example $(DESTDIR)$(DOCDIR)
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/smsgate/smsgated.conf ]; then \
	    echo "install: keeping $(DESTDIR)$(SYSCONFDIR)/smsgate/smsgated.conf"; \
	else \
	    echo "$(INSTALL) -m 0644 $(BUILD)/etc/smsgated.conf $(DESTDIR)$(SYSCONFDIR)/smsgate/smsgated.conf"; \
	    $(INSTALL) -m 0644 $(BUILD)/etc/smsgated.conf $(DESTDIR)$(SYSCONFDIR)/smsgate/smsgated.conf; \
	fi

# Leaves the configuration file (your settings) and the data directory.
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/smsgated $(DESTDIR)$(BINDIR)/smsctl \
	    $(DESTDIR)$(MANDIR)/man8/smsgated.8 $(DESTDIR)$(MANDIR)/man1/smsctl.1 \
	    $(DESTDIR)$(UNITDIR)/smsgated.service
	rm -rf $(DESTDIR)$(DOCDIR)

clean:
	rm -rf build build-asan bin

.PHONY: all test test-unit asan clean unit-bins man install-files install uninstall
-include $(OBJS:.o=.d) $(TESTS:=.d)
