# routeha: build, test, install. `make test` is what CI runs (.ci/run).
SHELL       := /bin/bash
GO          ?= go
OCF_ROOT    ?= /usr/lib/ocf
PREFIX      ?= /usr
DESTDIR     ?=
PROVIDER    := suzlab
BIN         := bin/routeha
MANPAGE     := bin/ocf_$(PROVIDER)_routeha.7
GOFLAGS_BUILD := -trimpath -ldflags "-s -w"
export CGO_ENABLED := 0
# sudo resets PATH to secure_path, which lacks Go's directory on a fresh
# machine: add it (and GOPATH/bin, for staticcheck) for every recipe.
export PATH := $(PATH):/usr/local/go/bin:$(HOME)/go/bin

.PHONY: all build deps test unit lint fuzz integration install uninstall clean man docs deb demo bench

all: build

build: $(BIN)

$(BIN): $(shell find . -name '*.go' -not -path './test/*') go.mod go.sum
	$(GO) build $(GOFLAGS_BUILD) -o $(BIN) .

man: $(MANPAGE)

$(MANPAGE): $(BIN)
	$(BIN) man > $(MANPAGE)

# Everything the tests, the demo and the benchmarks need on a fresh Debian
# machine (Pacemaker, corosync, crmsh, pcs, resource-agents, staticcheck, ...).
deps:
	bash test/setup/deps.sh

# The whole suite: static checks, unit tests, bounded fuzzing, and the
# integration tests that drive the built binary (root and namespaces).
test: deps build man
	bash test/run-tests.sh

unit:
	$(GO) test -count=1 ./ocf/... ./metadata/... ./agent/... ./internal/...

lint:
	test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	"$$($(GO) env GOPATH)/bin/staticcheck" ./...

install: build man
	install -D -m 0755 $(BIN) $(DESTDIR)$(OCF_ROOT)/resource.d/$(PROVIDER)/routeha
	install -D -m 0644 $(MANPAGE) $(DESTDIR)$(PREFIX)/share/man/man7/ocf_$(PROVIDER)_routeha.7

uninstall:
	rm -f $(DESTDIR)$(OCF_ROOT)/resource.d/$(PROVIDER)/routeha $(DESTDIR)$(PREFIX)/share/man/man7/ocf_$(PROVIDER)_routeha.7

clean:
	rm -rf bin dist

# A .deb of the agent and its man page (nfpm), into dist/.
deb: build man
	bash test/packaging/build-deb.sh

# The local demo: a two-node Pacemaker cluster in namespaces, a VPC router
# applying the emulator's route table, and a client pinging the VIP while
# the active node dies. Needs root.
demo: deps build
	bash test/demo/demo.sh $(DEMO_ARGS)

# routeha against ocf:heartbeat:aws-vpc-move-ip on the same emulator.
bench: deps build
	bash test/bench/bench.sh

# Regenerate the README's parameter table from metadata/.
docs:
	$(GO) test -run TestREADMEParameterTable -update .
