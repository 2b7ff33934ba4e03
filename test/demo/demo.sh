#!/usr/bin/env bash
# make demo: routeha's two-node Pacemaker failover on this machine, in
# namespaces (see doc/FAILOVER.md). Needs root. Arguments go to the demo
# command, e.g. `bash test/demo/demo.sh -scenarios 1`.
#
# The Go command (test/demo/cmd/demo) builds the world, runs the scenarios
# and tears everything down, on Ctrl-C too. This wrapper is the backstop:
# if the command itself is killed, it deletes the network namespaces the
# command recorded and that still exist, and removes its working directory.
# The cluster nodes die with the command (their unshare gets SIGKILL when
# it dies, and passes it on to the node's PID namespace).
set -euo pipefail
cd "$(dirname "$0")/../.."

if [[ $EUID -ne 0 ]]; then
  echo "demo: needs root (network, mount, UTS and PID namespaces): sudo make demo" >&2
  exit 2
fi
[[ -x bin/routeha ]] || { echo "demo: bin/routeha missing: make build" >&2; exit 1; }

work=$(mktemp -d /tmp/routeha-demo.XXXXXX)
cleanup() {
  local rc=$?
  if [[ -f $work/namespaces ]]; then
    while read -r kind name; do
      if [[ $kind == netns && -e /run/netns/$name ]]; then
        ip netns del "$name" && echo "demo: removed leftover namespace $name"
      fi
    done <"$work/namespaces"
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

go build -o "$work/demo" ./test/demo/cmd/demo
"$work/demo" -agent bin/routeha -dir "$work/run" -state "$work/namespaces" "$@"
