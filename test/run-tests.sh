#!/usr/bin/env bash
# The whole test suite, as `make test` and CI run it.
set -euo pipefail
cd "$(dirname "$0")/.."
gobin=$(go env GOPATH)/bin
export ROUTEHA_BIN="$PWD/bin/routeha"

echo "== static checks"
unformatted=$(gofmt -l $(git ls-files '*.go' | grep -v '^test/fuzz') 2>/dev/null || true)
if [[ -n $unformatted ]]; then echo "gofmt: $unformatted"; exit 1; fi
go vet ./...
"$gobin/staticcheck" ./...
if git grep -nE 'os/exec|exec\.Command' -- ':(exclude)test/**' ':(exclude)*.md' ':(exclude)*_test.go' | grep -q .; then
  echo "the agent must not shell out:"; git grep -nE 'os/exec|exec\.Command' -- ':(exclude)test/**' ':(exclude)*.md' ':(exclude)*_test.go'; exit 1
fi

# Packages that run Pacemaker clusters or share host-wide paths (the OCF
# directory, dpkg) run one at a time after the rest.
serial='/test/(pacemaker|migration|moto|reliability|demo)$'
# Tests that call t.Parallel mostly wait (for an agent's deadline, a
# retry, a stay check), not compute: -parallel lets more of them wait at
# once than the default of one per core.
echo "== unit and integration tests"
go test -count=1 -parallel 8 -timeout 15m $(go list ./... | grep -vE "$serial")
echo "== race detector on the concurrent code"
CGO_ENABLED=1 go test -count=1 -race ./ocf ./agent
for pkg in $(go list ./... | grep -E "$serial"); do
  echo "== $pkg"
  go test -count=1 -p 1 -parallel 4 -timeout 15m "$pkg"
done

echo "== bounded fuzzing"
# package:FuzzName, each run for FUZZTIME (the seed corpora under testdata/
# run in every plain `go test` above as well).
fuzz_targets=(./agent:FuzzParseConfig ./agent:FuzzMetadataParse ./internal/awsec2:FuzzDescribeRouteTables)
for target in "${fuzz_targets[@]}"; do
  pkg=${target%%:*}; name=${target##*:}
  go test -run '^$' -fuzz "^${name}\$" -fuzztime "${FUZZTIME:-20s}" "$pkg"
done
