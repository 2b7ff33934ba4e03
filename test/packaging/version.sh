#!/usr/bin/env bash
# Prints routeha's release version, the one string that goes into the .deb,
# the .rpm, `routeha meta-data` and the man page (the Makefile stamps it into
# the binary with -ldflags -X main.stampedVersion=...):
#   - in a git checkout: `git describe` of the newest v<digit> tag, without
#     the v, each '-' made '+' (1.2.0-3-gabc1234 -> 1.2.0+3+gabc1234; '-' is
#     not allowed in an RPM version and means the revision in a Debian one);
#     with no such tag, 0.0.0~git<hash>, which sorts before any release in
#     both dpkg and rpm;
#   - outside git (a source tarball): the first line of the VERSION file at
#     the top of the tree;
#   - else 0.0.0~unknown.
set -euo pipefail
cd "$(dirname "$0")/../.."
if git rev-parse --is-inside-work-tree >/dev/null 2>&1 && [[ $(git rev-parse --show-toplevel) == "$PWD" ]]; then
  v=$(git describe --tags --match 'v[0-9]*' 2>/dev/null || true)
  v=${v#v}
  [[ $v =~ ^[0-9] ]] || v="0.0.0~git$(git rev-parse --short HEAD)"
  v=${v//-/+}
elif [[ -s VERSION ]]; then
  IFS= read -r v <VERSION || true
else
  v=0.0.0~unknown
fi
# Both package formats accept these characters; a VERSION file with others
# (spaces, '-', '/') would make an invalid or ambiguous package version.
if [[ ! $v =~ ^[0-9][0-9A-Za-z.+~]*$ ]]; then
  echo "version.sh: unusable version '$v' (digits, letters, . + ~ only)" >&2
  exit 1
fi
echo "$v"
