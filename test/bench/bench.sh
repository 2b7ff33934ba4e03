#!/usr/bin/env bash
# make bench: routeha against ocf:heartbeat:aws-vpc-move-ip on the same EC2
# emulator and IMDS fake, in a network namespace of its own; writes
# doc/BENCHMARKS.md and prints it. Needs root, bin/routeha (make build), the
# aws CLI and resource-agents (make deps). Extra driver flags: BENCH_FLAGS,
# e.g. BENCH_FLAGS='-reps 5 -reps-move-ip 1:1 -tables 1' for a quick look.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [[ $(id -u) != 0 ]]; then
  echo "bench: needs root (network namespaces): sudo make bench" >&2
  exit 1
fi
for f in bin/routeha /usr/lib/ocf/resource.d/heartbeat/aws-vpc-move-ip /usr/bin/aws; do
  [[ -x $f ]] || { echo "bench: $f missing: run make deps build" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/routeha-bench-bin.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/bench" ./test/bench/cmd/bench
# Every measured process is started by this small one, not by the driver:
# see test/bench/spawner for why (peak RSS).
CGO_ENABLED=0 go build -trimpath -o "$tmp/spawn" ./test/bench/cmd/spawn
# The floor: an empty Go program, built as bin/routeha is (Makefile flags).
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$tmp/empty" ./test/bench/cmd/empty
# Benchmark a copy: bin/routeha may be rebuilt by something else meanwhile.
cp bin/routeha "$tmp/routeha"
ROUTEHA_BENCH_SHA256=$(sha256sum "$tmp/routeha" | cut -c1-16)
export ROUTEHA_BENCH_SHA256

ROUTEHA_BENCH_COMMIT=$(git -c safe.directory="$PWD" describe --always --dirty 2>/dev/null || echo unknown)
export ROUTEHA_BENCH_COMMIT
# shellcheck disable=SC2086
"$tmp/bench" -routeha "$tmp/routeha" -empty "$tmp/empty" -spawn "$tmp/spawn" -out "${BENCH_OUT:-doc/BENCHMARKS.md}" -command "${BENCH_COMMAND:-sudo make bench}" ${BENCH_FLAGS:-}
