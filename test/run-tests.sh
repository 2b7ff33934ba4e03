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

echo "== unit and integration tests"
go test -count=1 -timeout 20m ./...

echo "== bounded fuzzing"
# package:FuzzName, each run for FUZZTIME (the seed corpora under testdata/
# run in every plain `go test` above as well).
fuzz_targets=(./agent:FuzzParseConfig ./metadata:FuzzMetadataParse ./internal/awsec2:FuzzDescribeRouteTables)
for target in "${fuzz_targets[@]}"; do
  pkg=${target%%:*}; name=${target##*:}
  go test -run '^$' -fuzz "^${name}\$" -fuzztime "${FUZZTIME:-20s}" "$pkg"
done
