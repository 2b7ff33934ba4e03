#!/usr/bin/env bash
# Builds dist/routeha_<version>_<arch>.deb from bin/routeha and its man page
# (make build man); build-pkg.sh says which variables it takes (BIN, MAN,
# ARCH, VERSION, OUT). make deb uses build-pkg.sh with a cross-compiled
# binary instead.
set -euo pipefail
exec bash "$(dirname "$0")/build-pkg.sh" deb
