#!/usr/bin/env bash
# Builds quire (Release) and runs its main job on a sample book it generates
# itself, with the embedded defaults: a local store, a development key made on
# first use, no network, no AWS, no corpus. Output goes to ${1:-./out}.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/out}"
build="$root/build"
mkdir -p "$out"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DQR_SANITIZE= -DQR_BUILD_TESTS=OFF \
    -DQR_STANDALONE_FUZZERS=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" --target quire >/dev/null
q="$build/quire"
echo "== quire sample-book $out/sample.epub"
"$q" sample-book "$out/sample.epub"
echo "== quire inspect $out/sample.epub"
"$q" inspect "$out/sample.epub"
echo "== quire process $out/sample.epub --store $out/store"
"$q" process "$out/sample.epub" --store "$out/store" --book-id sample
manifest="$(find "$out/store/books/sample" -name manifest.json | sort | tail -n 1)"
echo "== quire verify $(dirname "$manifest")"
"$q" verify "$(dirname "$manifest")"
echo "== quire unpack $(dirname "$manifest") -o $out/unpacked.epub"
"$q" unpack "$(dirname "$manifest")" -o "$out/unpacked.epub"
