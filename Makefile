# routeha: build, test, install. `make test` is what CI runs (.ci/run).
SHELL       := /bin/bash
GO          ?= go
OCF_ROOT    ?= /usr/lib/ocf
PREFIX      ?= /usr
DESTDIR     ?=
PROVIDER    := suzlab
BIN         := bin/routeha
MANPAGE     := bin/ocf_$(PROVIDER)_routeha.7
# The release version (test/packaging/version.sh: git describe, else the
# VERSION file), stamped into the binary, hence into meta-data and the man
# page, and given to the packages. `make VERSION=x` overrides it.
ifeq ($(origin VERSION),undefined)
VERSION := $(shell bash test/packaging/version.sh)
endif
GOFLAGS_BUILD = -trimpath -ldflags "-s -w -X main.stampedVersion=$(VERSION)"
GOSRC       := $(shell find . -name '*.go' -not -path './test/*') go.mod go.sum
# make deb / rpm / dist: ARCH is amd64 (x86_64) or arm64 (aarch64); the
# static binaries are cross-compiled into PKGDIR, the packages go to DIST.
ARCH        ?= $(shell $(GO) env GOARCH)
PKGARCH     := $(patsubst x86_64,amd64,$(patsubst aarch64,arm64,$(ARCH)))
HOSTARCH    := $(shell $(GO) env GOHOSTARCH)
PKGDIR      ?= bin/pkg
DIST        ?= dist
PKGMAN      := $(PKGDIR)/ocf_$(PROVIDER)_routeha.7
rpmarch      = $(patsubst amd64,x86_64,$(patsubst arm64,aarch64,$(1)))
# build-pkg.sh <deb|rpm> <amd64|arm64>
pkg          = BIN=$(PKGDIR)/linux_$(2)/routeha MAN=$(PKGMAN) ARCH=$(2) VERSION=$(VERSION) OUT=$(DIST) \
               bash test/packaging/build-pkg.sh $(1)
export CGO_ENABLED := 0
# sudo resets PATH to secure_path, which lacks Go's directory on a fresh
# machine: add it (and GOPATH/bin, for staticcheck) for every recipe.
export PATH := $(PATH):/usr/local/go/bin:$(HOME)/go/bin

.PHONY: all build deps test unit lint fuzz integration install uninstall clean man docs deb rpm dist demo bench FORCE

all: build

build: $(BIN)

$(BIN): $(GOSRC) bin/.version
	$(GO) build $(GOFLAGS_BUILD) -o $(BIN) .

# Rewritten only when the version changes, so that a new commit or tag
# relinks the binaries and nothing else does.
bin/.version $(PKGDIR)/.version: FORCE
	@test -n "$(VERSION)" || { echo "no version: test/packaging/version.sh failed" >&2; exit 1; }
	@mkdir -p $(@D); [ "$$(cat $@ 2>/dev/null)" = "$(VERSION)" ] || echo "$(VERSION)" > $@

$(PKGDIR)/linux_%/routeha: $(GOSRC) $(PKGDIR)/.version
	GOOS=linux GOARCH=$* $(GO) build $(GOFLAGS_BUILD) -o $@ .

# The man page does not depend on the architecture: the host's binary writes it.
$(PKGMAN): $(PKGDIR)/linux_$(HOSTARCH)/routeha
	$< man > $@

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
	$(GO) test -count=1 ./ocf/... ./agent/... ./internal/...

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

# A .deb or .rpm of the agent, its man page and license (nfpm, one
# configuration: test/packaging/nfpm.yaml) for ARCH, into DIST:
# routeha_<version>_<arch>.deb, routeha-<version>-1.<rpmarch>.rpm.
deb rpm: $(PKGDIR)/linux_$(PKGARCH)/routeha $(PKGMAN)
	$(call pkg,$@,$(PKGARCH))

# All four packages and their SHA256SUMS.
dist: $(PKGDIR)/linux_amd64/routeha $(PKGDIR)/linux_arm64/routeha $(PKGMAN)
	$(call pkg,deb,amd64)
	$(call pkg,rpm,amd64)
	$(call pkg,deb,arm64)
	$(call pkg,rpm,arm64)
	cd $(DIST) && sha256sum $(foreach a,amd64 arm64,routeha_$(VERSION)_$(a).deb routeha-$(VERSION)-1.$(call rpmarch,$(a)).rpm) > SHA256SUMS

# The local demo: a two-node Pacemaker cluster in namespaces, a VPC router
# applying the emulator's route table, and a client pinging the VIP while
# the active node dies. Needs root.
demo: deps build
	bash test/demo/demo.sh $(DEMO_ARGS)

# routeha against ocf:heartbeat:aws-vpc-move-ip on the same emulator.
bench: deps build
	bash test/bench/bench.sh

# Regenerate the README's parameter table from agent/params.go.
docs:
	$(GO) test -run TestREADMEParameterTable -update .
