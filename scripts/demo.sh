#!/usr/bin/env bash
# Builds quire (Release) and runs it on a sample book it generates itself:
# no network, no AWS, no corpus. Output goes to ${1:-./out}.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/out}"
build="$root/build"
mkdir -p "$out"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DQR_BUILD_TESTS=OFF \
    -DQR_STANDALONE_FUZZERS=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" --target quire >/dev/null
q="$build/quire"
echo "== quire sample-book $out/sample.epub"
"$q" sample-book "$out/sample.epub"
echo "== quire inspect $out/sample.epub"
"$q" inspect "$out/sample.epub"
echo "== quire compress $out/sample.epub -o $out/sample-tablet.epub"
"$q" compress "$out/sample.epub" -o "$out/sample-tablet.epub"
