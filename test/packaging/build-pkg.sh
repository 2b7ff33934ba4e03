#!/usr/bin/env bash
# Builds one package of routeha with nfpm from test/packaging/nfpm.yaml:
#   build-pkg.sh deb   -> $OUT/routeha_<version>_<arch>.deb
#   build-pkg.sh rpm   -> $OUT/routeha-<version>-1.<rpmarch>.rpm
# make deb / make rpm / make dist call it with the cross-compiled binary;
# nfpm runs through `go run` at the version pinned below, so it never enters
# go.mod (test/setup/deps.sh fetches it ahead).
#   BIN       the static linux binary to package (default: bin/routeha)
#   MAN       its man page, uncompressed (default: bin/ocf_suzlab_routeha.7)
#   ARCH      amd64 | x86_64 | arm64 | aarch64 (default: go env GOARCH);
#             BIN must have been built for it, without cgo
#   VERSION   package version (default: test/packaging/version.sh)
#   OUT       output directory (default: dist)
set -euo pipefail
NFPM_MODULE=github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2
cd "$(dirname "$0")/../.."
root=$PWD
NFPM=${NFPM:-$NFPM_MODULE}

packager=${1:-}
case $packager in deb|rpm) ;; *) echo "usage: build-pkg.sh deb|rpm" >&2; exit 2 ;; esac

bin=$(realpath -m "${BIN:-bin/routeha}")
man=$(realpath -m "${MAN:-bin/ocf_suzlab_routeha.7}")
for f in "$bin" "$man"; do
  [[ -s $f ]] || { echo "build-pkg: $f missing: run make $packager" >&2; exit 1; }
done

ARCH=${ARCH:-$(go env GOARCH)}
case $ARCH in
  amd64|x86_64)  goarch=amd64 debarch=amd64 rpmarch=x86_64 ;;
  arm64|aarch64) goarch=arm64 debarch=arm64 rpmarch=aarch64 ;;
  *) echo "build-pkg: ARCH=$ARCH: amd64 (x86_64) or arm64 (aarch64)" >&2; exit 2 ;;
esac
# The binary must be what the package says it is: built for this
# architecture, static (no cgo), for Linux.
buildinfo=$(go version -m "$bin")
for want in GOOS=linux "GOARCH=$goarch" CGO_ENABLED=0; do
  grep -qP "^\tbuild\t\Q$want\E$" <<<"$buildinfo" ||
    { echo "build-pkg: $bin is not a $want build (go version -m):" >&2; echo "$buildinfo" >&2; exit 1; }
done

VERSION=${VERSION:-$(bash test/packaging/version.sh)}
out=$(realpath -m "${OUT:-dist}")
mkdir -p "$out"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
install -m 0755 "$bin" "$tmp/routeha"
gzip -9n <"$man" >"$tmp/ocf_suzlab_routeha.7.gz"
install -m 0644 LICENSE "$tmp/LICENSE"

if [[ $packager == deb ]]; then
  export ARCH=$debarch RELEASE=
  pkg=$out/routeha_${VERSION}_${debarch}.deb
else
  export ARCH=$rpmarch RELEASE=1
  pkg=$out/routeha-${VERSION}-1.${rpmarch}.rpm
fi
export VERSION
rm -f "$pkg"
# Run from the staging directory: nfpm.yaml's src paths are relative to it,
# and go run resolves nfpm as a standalone module, leaving routeha's go.mod
# alone.
(cd "$tmp" && GOFLAGS=-mod=mod go run "$NFPM" pkg --packager "$packager" \
  --config "$root/test/packaging/nfpm.yaml" --target "$pkg")
echo "build-pkg: $pkg"
