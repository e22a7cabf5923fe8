# enkash: build the C core for Lua 5.4 and LuaJIT from the same sources, install what is
# missing, test, demo. `make help` lists the targets.

LUA ?= lua5.4
CC ?= cc
PKG_CONFIG ?= pkg-config
CFLAGS ?= -O2 -g
WARN := -Wall -Wextra -Werror -std=c99 -D_POSIX_C_SOURCE=200809L
SANITIZE ?=

TOP := $(abspath .)
CORE_SRC := $(wildcard csrc/*.c)
CORE_HDR := $(wildcard csrc/*.h)
# Recursive (=), not immediate: on a fresh machine pkg-config and the -dev packages arrive
# with `make deps`, after this Makefile was read.
DEP_CFLAGS = $(shell $(PKG_CONFIG) --cflags libcurl openssl)
DEP_LIBS = $(shell $(PKG_CONFIG) --libs libcurl openssl)

CORE54 := build/lua5.4/enkash/core.so
COREJIT := build/luajit/enkash/core.so

# Debian packages the project needs; `make deps` installs the missing ones.
DEB_PKGS := build-essential pkg-config lua5.4 liblua5.4-dev luajit2 libluajit2-5.1-dev \
  lua-cjson lua-busted lua-check lua-ldoc luarocks libcurl4-openssl-dev libssl-dev openssl \
  nginx libnginx-mod-http-lua lua-resty-core valgrind curl
# What only `make bench` needs: the peers (Node, lua-curl + luaossl) and wrk.
BENCH_PKGS := lua5.1 lua-curl lua-luaossl lua-socket nodejs wrk

.PHONY: all core deps env demo test bench clean help fuzz test-asan

all: core

core: $(CORE54) $(COREJIT)

$(CORE54): $(CORE_SRC) $(CORE_HDR) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) $(SANITIZE) -fPIC -shared $(shell $(PKG_CONFIG) --cflags lua5.4) $(DEP_CFLAGS) \
	  -o $@ $(CORE_SRC) $(DEP_LIBS)

$(COREJIT): $(CORE_SRC) $(CORE_HDR) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) $(SANITIZE) -fPIC -shared $(shell $(PKG_CONFIG) --cflags luajit) $(DEP_CFLAGS) \
	  -o $@ $(CORE_SRC) $(DEP_LIBS)

deps:
	@sh tools/deps.sh $(DEB_PKGS)

# eval "$(make -s env)"            -> lua5.4 finds enkash from any directory
# eval "$(make -s env LUA=luajit)" -> the LuaJIT twin
env:
ifeq ($(LUA),luajit)
	@echo 'export LUA_PATH="$(TOP)/lua/?.lua;$(TOP)/lua/?/init.lua;;"'
	@echo 'export LUA_CPATH="$(TOP)/build/luajit/?.so;;"'
else
	@echo 'export LUA_PATH_5_4="$(TOP)/lua/?.lua;$(TOP)/lua/?/init.lua;;"'
	@echo 'export LUA_CPATH_5_4="$(TOP)/build/lua5.4/?.so;;"'
	@echo 'export LUA_PATH="$(TOP)/lua/?.lua;$(TOP)/lua/?/init.lua;;"'
	@echo 'export LUA_CPATH="$(TOP)/build/lua5.4/?.so;;"'
endif

# deps first, then the build in a sub-make, so the build sees what deps installed.
demo: deps
	@$(MAKE) -s core
	@lua5.4 bin/enkash demo

test: deps
	@$(MAKE) -s core
	@sh tools/test.sh

bench: deps
	@sh tools/deps.sh $(BENCH_PKGS)
	@$(MAKE) -s core
	@lua5.4 bench/run.lua

# ---- make fuzz, make test-asan: their own extra packages, installed by those targets only ----
FUZZ_PKGS := clang libclang-rt-14-dev
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := decrypt envelope webhook token url
FUZZ_BINS := $(addprefix build/fuzz/,$(FUZZ_TARGETS))
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
LUA54_CFLAGS = $(shell $(PKG_CONFIG) --cflags lua5.4)
LUA54_LIBS = $(shell $(PKG_CONFIG) --libs lua5.4)

# One harness source, one binary per target (fuzz/harness.c, fuzz/targets.lua).
$(FUZZ_BINS): build/fuzz/%: fuzz/harness.c $(CORE_SRC) $(CORE_HDR) Makefile
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(WARN) -DFUZZ_TARGET='"$*"' -DENKASH_ROOT='"$(CURDIR)"' \
	  $(LUA54_CFLAGS) $(DEP_CFLAGS) -o $@ fuzz/harness.c $(CORE_SRC) $(LUA54_LIBS) $(DEP_LIBS)

# make fuzz FUZZ_SECONDS=10: each target that long; crash inputs land in build/fuzz/.
fuzz:
	@sh tools/deps.sh $(DEB_PKGS) $(FUZZ_PKGS)
	@$(MAKE) -s $(FUZZ_BINS)
	@sh fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# The C core under ASan + UBSan in build-asan/ (build/ is untouched), busted run over it.
ASAN_CC ?= $(CC)
ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer
ASAN54 := build-asan/lua5.4/enkash/core.so
ASANJIT := build-asan/luajit/enkash/core.so

$(ASAN54): $(CORE_SRC) $(CORE_HDR) Makefile
	@mkdir -p $(dir $@)
	$(ASAN_CC) $(ASAN_FLAGS) $(WARN) -fPIC -shared $(LUA54_CFLAGS) $(DEP_CFLAGS) \
	  -o $@ $(CORE_SRC) $(DEP_LIBS)

$(ASANJIT): $(CORE_SRC) $(CORE_HDR) Makefile
	@mkdir -p $(dir $@)
	$(ASAN_CC) $(ASAN_FLAGS) $(WARN) -fPIC -shared $(shell $(PKG_CONFIG) --cflags luajit) $(DEP_CFLAGS) \
	  -o $@ $(CORE_SRC) $(DEP_LIBS)

test-asan:
	@sh tools/deps.sh $(DEB_PKGS) $(FUZZ_PKGS)
	@$(MAKE) -s core $(ASAN54) $(ASANJIT)
	@sh tools/test_asan.sh

clean:
	rm -rf build build-asan

help:
	@echo "make demo   build, install what is missing, bind a device against the bundled sandbox"
	@echo "make test   the same set-up, then luacheck, busted (Lua 5.4 and LuaJIT), C checks under valgrind"
	@echo "make bench  benchmarks side by side with their baselines; ratios in bench/results.json"
	@echo "make deps   install missing Debian packages (prints the apt-get line when not root)"
	@echo "make env    print LUA_PATH/LUA_CPATH exports: eval \"\$$(make -s env)\""
