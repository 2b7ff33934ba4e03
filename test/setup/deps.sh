#!/usr/bin/env bash
# Installs everything routeha's tests, demo and benchmarks need on a fresh
# Debian machine. Idempotent: a second run checks and returns quickly.
set -euo pipefail
export PATH="$PATH:/usr/local/go/bin:${HOME:-/root}/go/bin"

pkgs=(pacemaker corosync crmsh pcs resource-agents pacemaker-cli-utils
      libxml2-utils iproute2 iputils-ping procps util-linux awscli
      # the package tests (test/pacemaker): rpm -qlp / --root installs,
      # rpmlint, and qemu-aarch64-static for the arm64 binaries
      rpm rpmlint qemu-user-static)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Debian's pacemaker/corosync packages try to start services; there is no
  # systemd here, so policy-rc.d keeps them from trying.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
fi

gobin=$(go env GOPATH)/bin
tools=(
  "honnef.co/go/tools/cmd/staticcheck@v0.8.2:staticcheck"
)
for t in "${tools[@]}"; do
  mod=${t%:*}; bin=${t##*:}
  [[ -x $gobin/$bin ]] || { echo "deps: go install $mod"; go install "$mod"; }
done
# nfpm, which builds the .deb and .rpm (test/packaging/build-pkg.sh), runs
# through `go run` at the version pinned there: fetch its modules now, so
# that make deb/rpm/dist and the package tests need no download later.
nfpm=$(sed -n 's/^NFPM_MODULE=//p' "$(dirname "$0")/../packaging/build-pkg.sh")
if [[ ! -f $(go env GOMODCACHE)/cache/download/${nfpm%%/cmd/*}/@v/${nfpm##*@}.zip ]]; then
  echo "deps: go run $nfpm"
  (cd / && GOFLAGS=-mod=mod go run "$nfpm" --version >/dev/null)
fi
echo "deps: ok"
