#!/usr/bin/env bash
# Builds quire under ASan+UBSan with warnings as errors and runs every test
# (unit, integration, corpus, fuzz-corpus replay). Corpus tests skip cleanly
# when ../shared/corpus is absent.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${QR_TEST_BUILD_DIR:-$root/build-test}"
jobs="$(nproc)"

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DQR_WERROR=ON \
    -DQR_SANITIZE=address,undefined -DQR_BUILD_TESTS=ON -DQR_STANDALONE_FUZZERS=ON >/dev/null
cmake --build "$build" -j "$jobs"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$root/tests/lsan.supp:print_suppressions=0"
cd "$build"
ctest --output-on-failure -j "$jobs" "$@"
