#!/usr/bin/env bash
# Builds quire's Debian package for the release of this machine (bookworm,
# trixie) from this checkout and leaves the .deb in OUTDIR; then runs lintian
# on it (errors and unexplained warnings fail). The build happens in a copy
# of the tracked sources, so the checkout stays clean.
#   scripts/package.sh OUTDIR [--no-lintian]
# Needs the build dependencies of debian/control plus debhelper, lintian
# (scripts/setup.sh --package installs them). QR_COMMIT names the commit when
# the sources are not a git checkout. docs/operations/packaging.md.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out=""
lint=1
for arg in "$@"; do
    case "$arg" in
    --no-lintian) lint=0 ;;
    -*) echo "package.sh: unknown option $arg" >&2; exit 2 ;;
    *) out="$arg" ;;
    esac
done
[ -n "$out" ] || { echo "usage: scripts/package.sh OUTDIR [--no-lintian]" >&2; exit 2; }
mkdir -p "$out"
out="$(cd "$out" && pwd)"
for tool in dpkg-buildpackage dpkg-checkbuilddeps; do
    command -v "$tool" >/dev/null || { echo "package.sh: $tool missing (scripts/setup.sh --package)" >&2; exit 1; }
done
if [ "$lint" -eq 1 ] && ! command -v lintian >/dev/null; then
    echo "package.sh: lintian missing (scripts/setup.sh --package)" >&2
    exit 1
fi

# The package version follows the project's: debian/changelog must agree.
version="$(sed -n 's/^project(quire VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")"
deb_version="$(sed -n '1s/^quire (\([^)]*\)).*/\1/p' "$root/debian/changelog")"
case "$deb_version" in
"$version"-*) ;;
*) echo "package.sh: debian/changelog says $deb_version, CMakeLists.txt $version" >&2; exit 1 ;;
esac

work="$(mktemp -d "${TMPDIR:-/tmp}/quire-package.XXXXXX")"
trap 'rm -rf "$work"' EXIT
src="$work/quire-$version"
mkdir -p "$src"
# The tracked files as they are in the working tree (a tarball of HEAD would miss uncommitted work).
if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
    commit="${QR_COMMIT:-$(git -C "$root" rev-parse --short=12 HEAD)}"
    (cd "$root" && git ls-files -z --cached --others --exclude-standard |
        xargs -0 cp --parents -t "$src")
else
    commit="${QR_COMMIT:-unknown}"
    tar -C "$root" --exclude='./build*' --exclude=./.git -cf - . | tar -C "$src" -xf -
fi
cd "$src"
dpkg-checkbuilddeps || { echo "package.sh: install the build dependencies above (scripts/setup.sh --package)" >&2; exit 1; }
codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-unknown}")"
echo "package: building quire $deb_version for $codename (commit $commit)"
DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" QR_COMMIT="$commit" \
    dpkg-buildpackage -b -us -uc >"$work/build.log" 2>&1 || {
    tail -n 40 "$work/build.log" >&2
    echo "package.sh: dpkg-buildpackage failed (log above)" >&2
    exit 1
}
deb=""
for f in "$work"/quire_*.deb; do
    deb=$f
done
[ -f "$deb" ] || { echo "package.sh: dpkg-buildpackage made no quire_*.deb" >&2; exit 1; }
cp "$deb" "$out/"
deb="$out/$(basename "$deb")"
echo "package: $deb ($(du -k "$deb" | cut -f1) KiB)"
dpkg-deb -f "$deb" Depends | sed 's/^/package: Depends: /'
if [ "$lint" -eq 1 ]; then
    # Errors and warnings both fail: a warning is only acceptable overridden, with its reason,
    # in debian/quire.lintian-overrides.
    lintian --tag-display-limit 0 --fail-on error,warning "$deb" | tee "$work/lintian.txt" || {
        echo "package.sh: lintian found problems in $deb" >&2
        exit 1
    }
    echo "package: lintian: no errors or warnings"
fi
