# smsgate - one Makefile, pkg-config for every dependency (libphonenumber has no .pc file).
#   make            bin/smsgated and bin/smsctl
#   make test       unit tests, then the integration suite (tests/run-all)
#   make test-unit  unit tests only
#   make asan       unit tests built and run under AddressSanitizer + UBSan (build-asan/)

CC      ?= cc
CXX     ?= c++
PKGS    := libevent libevent_openssl libevent_pthreads jansson sqlite3 libcurl openssl
BUILD   ?= build
BIN     ?= bin
OPT     ?= -O2 -g
SAN     ?=

CFLAGS_ALL   := -std=c11 -D_GNU_SOURCE -DSMSGATE_VERSION=\"0.1.0\" -Wall -Wextra -Werror $(OPT) $(SAN) -Isrc \
                $(shell pkg-config --cflags $(PKGS))
CXXFLAGS_ALL := -std=c++17 -Wall -Wextra -Werror $(OPT) $(SAN) -Isrc
LDLIBS_ALL   := $(shell pkg-config --libs $(PKGS)) -lphonenumber -lstdc++ -lpthread -lm
# The programs' allocator: jemalloc took ~10 % off smsgated's CPU per message against glibc's
# malloc (docs/benchmarks.md). `make MALLOC=` builds with glibc's; sanitizer builds never use it.
MALLOC       ?= $(if $(SAN),,-ljemalloc)
TEST_LIBS    := $(shell pkg-config --libs cmocka)

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
	tests/run-all

clean:
	rm -rf build build-asan bin

# Provisional install target (to be replaced by the real one): just enough for debian/.
PREFIX  ?= /usr/local
DESTDIR ?=
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(SYSCONFDIR)/smsgate \
	    $(DESTDIR)$(UNITDIR)
	install -m 0755 $(BIN)/smsgated $(DESTDIR)$(PREFIX)/sbin/smsgated
	install -m 0755 $(BIN)/smsctl $(DESTDIR)$(PREFIX)/bin/smsctl
	sed 's|^# data = .*|data = /var/lib/smsgate|' smsgated.conf.example \
	    > $(DESTDIR)$(SYSCONFDIR)/smsgate/smsgated.conf
	chmod 0644 $(DESTDIR)$(SYSCONFDIR)/smsgate/smsgated.conf
	printf '%s\n' '[Unit]' 'Description=smsgate SMS service' 'After=network.target' '' \
	    '[Service]' 'User=smsgate' 'StateDirectory=smsgate' \
	    'ExecStart=$(PREFIX)/sbin/smsgated --config $(SYSCONFDIR)/smsgate/smsgated.conf' '' \
	    '[Install]' 'WantedBy=multi-user.target' > $(DESTDIR)$(UNITDIR)/smsgated.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/smsgated.service

.PHONY: all test test-unit asan clean unit-bins install
-include $(OBJS:.o=.d) $(TESTS:=.d)
