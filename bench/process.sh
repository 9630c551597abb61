#!/usr/bin/env bash
# Benchmark of `quire process` on one book (default: the photobook): per-stage
# seconds and shares, encryption throughput (MB/s of slice plaintext sealed)
# and peak RSS, from the --json report. Measures only; asserts nothing.
#
# usage: bench/process.sh [BOOK] [QUIRE_BIN]
#   BOOK       default ~/.cache/quire-corpus/debian-wallpapers-photobook.epub
#   QUIRE_BIN  default build/quire (use a Release build: sanitizers distort times)
set -euo pipefail
book="${1:-$HOME/.cache/quire-corpus/debian-wallpapers-photobook.epub}"
bin="${2:-${QUIRE_BIN:-build/quire}}"
[[ -f "$book" ]] || { echo "no book at $book" >&2; exit 1; }
[[ -x "$bin" ]] || { echo "no quire binary at $bin" >&2; exit 1; }
tmp="$(mktemp -d "${TMPDIR:-/tmp}/quire-bench-process.XXXXXX")"
trap 'rm -rf -- "$tmp"' EXIT
"$bin" keys generate -o "$tmp/bench.key" >/dev/null
"$bin" process "$book" -o "$tmp/pkg" --key-file "$tmp/bench.key" --json -q >"$tmp/report.json"
python3 - "$tmp/report.json" "$book" <<'PY'
import json, os, sys
r = json.load(open(sys.argv[1]))
s = r["seconds"]
print("book: %s (%.1f MB -> %.1f MB compressed, %d slices, %.1f MB sealed)" % (
    os.path.basename(sys.argv[2]), r["source_bytes"] / 1e6, r["compressed_bytes"] / 1e6,
    r["slices"], r["sealed_bytes"] / 1e6))
print("| stage | seconds | share |")
print("|---|---:|---:|")
for k in ("compress", "positions", "slice", "encrypt", "publish"):
    print("| %s | %.3f | %.2f%% |" % (k, s[k], 100.0 * s[k] / s["total"] if s["total"] else 0))
print("| total | %.3f | |" % s["total"])
print("encryption: %.0f MB/s (%.1f MB of slice plaintext)" % (r["encrypt_mb_per_s"], r["plain_bytes"] / 1e6))
print("peak RSS: %.1f MB" % (r["peak_rss_bytes"] / 1e6))
PY
