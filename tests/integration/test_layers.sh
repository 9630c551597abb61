#!/usr/bin/env bash
# The layer check must pass on this tree and catch a violation: a copy of
# include/, src/ and docs/architecture.md passes scripts/check-layers.py, and
# the same copy fails it, naming the file and the line, once a lower layer's
# header includes a higher one (store.h including worker.h) and once a module
# includes another module's internal header.
set -euo pipefail
src="${QR_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
check="$src/scripts/check-layers.py"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

fails=0
# expect NAME RC LINE: check-layers on tree NAME exits RC and prints LINE.
expect() {
    local name="$1" want_rc="$2" want_line="$3" rc=0
    python3 "$check" "$tmp/$name" >"$tmp/$name.out" 2>&1 || rc=$?
    if [ "$rc" != "$want_rc" ] || { [ -n "$want_line" ] && ! grep -qF -- "$want_line" "$tmp/$name.out"; }; then
        echo "FAIL $name: want rc $want_rc and '$want_line', got rc $rc:"
        sed 's/^/    /' "$tmp/$name.out"
        fails=$((fails + 1))
    else
        echo "PASS $name: rc $rc ${want_line}"
    fi
}
# tree NAME: a copy of what the check reads.
tree() {
    mkdir -p "$tmp/$1/docs"
    cp -r "$src/include" "$src/src" "$tmp/$1/"
    cp "$src/docs/architecture.md" "$tmp/$1/docs/"
}

tree good
expect good 0 ""

tree header-up
sed -i 's|#include "qr/error.h"|#include "qr/error.h"\n#include "qr/worker.h"|' "$tmp/header-up/include/qr/store.h"
grep -q 'qr/worker.h' "$tmp/header-up/include/qr/store.h"
expect header-up 1 "include/qr/store.h:"
grep -qF "includes qr/worker.h (7 worker) from 3 transport" "$tmp/header-up.out" || {
    echo "FAIL header-up: the violation does not name both layers"
    fails=$((fails + 1))
}

tree internal
sed -i '0,/#include "qr\/slice.h"/s||#include "qr/slice.h"\n#include "parse/epub_internal.h"|' \
    "$tmp/internal/src/slice/slice_internal.h"
expect internal 1 "src/slice/slice_internal.h:"

tree unlisted
mkdir -p "$tmp/unlisted/src/newmod"
echo 'int x;' >"$tmp/unlisted/src/newmod/a.c"
expect unlisted 1 "src/newmod/: not in the layer table"

[ "$fails" -eq 0 ]
