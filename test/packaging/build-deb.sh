#!/usr/bin/env bash
# Builds dist/routeha_<version>_<arch>.deb with nfpm from bin/routeha and its
# man page (make deb builds those first). nfpm runs through `go run` at a
# pinned version, so it never enters go.mod.
#   VERSION   package version (default: from git describe, else 0.0.0)
#   OUT       output directory (default: dist)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
NFPM=${NFPM:-github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2}

bin=$root/bin/routeha
man=$root/bin/ocf_suzlab_routeha.7
for f in "$bin" "$man"; do
  [[ -s $f ]] || { echo "build-deb: $f missing: run make build man (or make deb)" >&2; exit 1; }
done

if [[ -z ${VERSION:-} ]]; then
  VERSION=$(git describe --tags --match 'v[0-9]*' 2>/dev/null || true)
  VERSION=${VERSION#v}
  # Debian versions must start with a digit; untagged trees get 0.0.0~git<hash>.
  if [[ ! $VERSION =~ ^[0-9] ]]; then
    VERSION="0.0.0~git$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  fi
  VERSION=${VERSION//-/+}
fi
ARCH=${ARCH:-$(go env GOARCH)}
out=${OUT:-$root/dist}
mkdir -p "$out"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
install -m 0755 "$bin" "$tmp/routeha"
gzip -9n <"$man" >"$tmp/ocf_suzlab_routeha.7.gz"

export VERSION ARCH
deb=$out/routeha_${VERSION}_${ARCH}.deb
rm -f "$deb"
# Run from the staging directory: nfpm.yaml's src paths are relative to it,
# and go run resolves nfpm as a standalone module, leaving routeha's go.mod
# alone.
(cd "$tmp" && GOFLAGS=-mod=mod go run "$NFPM" pkg --packager deb \
  --config "$root/test/packaging/nfpm.yaml" --target "$deb")
echo "build-deb: $deb"
