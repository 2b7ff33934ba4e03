#!/usr/bin/env bash
# Installs everything routeha's tests, demo and benchmarks need on a fresh
# Debian machine. Idempotent: a second run checks and returns quickly.
set -euo pipefail
export PATH="$PATH:/usr/local/go/bin:${HOME:-/root}/go/bin"

pkgs=(pacemaker corosync crmsh pcs resource-agents pacemaker-cli-utils
      libxml2-utils iproute2 iputils-ping procps util-linux awscli)

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
echo "deps: ok"
