#!/usr/bin/env bash
# Two builds of quire side by side in one run: `quire process` (what bench/process.sh measures)
# and `quire process --slice-pages N` on PDFs (quire's part of bench/pdf.sh), each book run
# BEFORE, AFTER, BEFORE, AFTER ... so both see the same machine, and the medians compared.
# For a change that should cost nothing ("no slower"), or one that should gain.
#
# usage: bench/compare.sh BEFORE_BIN AFTER_BIN [--label TEXT] [--no-write] [--help]
#
# Books (an absent one is skipped and listed):
#   sample.epub     made here by `quire sample-book` (the demo's book: 12 chapters, 8 photos)
#   photobook       ~/.cache/quire-corpus/debian-wallpapers-photobook.epub (bench/README.md)
#   moby-dick.epub  from the corpus
#   cplusplus.pdf   c++-annotations-pdf, 1 page per slice and sized slices
#   pst-geo-doc.pdf texlive-pstricks-doc, 10 pages per slice
# Reported per book and configuration: median wall seconds (the clock around the command), the
# after/before ratio, the median of each stage's seconds from the --json report, and peak RSS
# (GNU time %M, the largest over the runs). Writes a section between markers into
# docs/benchmarks.md (BENCH_DOC) and prints it. Measures only; asserts nothing.
#
# Environment: BENCH_RUNS runs of each binary per configuration [3]; BENCH_LIMIT seconds per
# run [600]; QR_SHARED_DIR [<repo>/../shared]; BENCH_DOC [<repo>/docs/benchmarks.md].
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
write_doc=1
label=""
bins=()
while [[ $# -gt 0 ]]; do
    case "$1" in
    --no-write) write_doc=0 ;;
    --label)
        label=$2
        shift
        ;;
    -h | --help)
        sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
    -*)
        echo "compare.sh: unknown option $1 (see --help)" >&2
        exit 2
        ;;
    *) bins+=("$1") ;;
    esac
    shift
done
[[ ${#bins[@]} -eq 2 ]] || {
    echo "compare.sh: want BEFORE_BIN and AFTER_BIN (see --help)" >&2
    exit 2
}
before=${bins[0]}
after=${bins[1]}
for b in "$before" "$after"; do
    [[ -x "$b" ]] || {
        echo "compare.sh: $b is not an executable" >&2
        exit 1
    }
done
for c in /usr/bin/time timeout python3; do
    command -v "$c" >/dev/null || {
        echo "compare.sh: $c is missing (scripts/setup.sh --bench)" >&2
        exit 1
    }
done
runs=${BENCH_RUNS:-3}
limit=${BENCH_LIMIT:-600}
shared=${QR_SHARED_DIR:-$repo/../shared}
doc=${BENCH_DOC:-$repo/docs/benchmarks.md}
log() { printf '[bench] %s\n' "$*" >&2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/quire-bench-compare.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT
"$after" keys generate -o "$tmp/bench.key" >/dev/null
"$after" sample-book "$tmp/sample.epub" >/dev/null

# name|path|extra process arguments
cases=(
    "sample.epub|$tmp/sample.epub|"
    "photobook|$HOME/.cache/quire-corpus/debian-wallpapers-photobook.epub|"
    "moby-dick.epub|$shared/corpus/epub/samples/moby-dick.epub|"
    "cplusplus.pdf, 1 page per slice|/usr/share/doc/c++-annotations/cplusplus.pdf|--profile lossless --slice-pages 1"
    "cplusplus.pdf, sized slices|/usr/share/doc/c++-annotations/cplusplus.pdf|--profile lossless"
    "pst-geo-doc.pdf, 10 pages per slice|/usr/share/doc/texlive-doc/generic/pst-geo/pst-geo-doc.pdf|--profile lossless --slice-pages 10"
)

start_date=$(date -u '+%Y-%m-%d %H:%M UTC')
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
: >"$tmp/results.tsv"
skipped=()
for c in "${cases[@]}"; do
    IFS='|' read -r name path extra <<<"$c"
    if [[ ! -f "$path" ]]; then
        skipped+=("$name ($path)")
        log "skipping $name: no $path"
        continue
    fi
    read -r -a args <<<"$extra"
    for ((i = 1; i <= runs; i++)); do
        for side in before after; do
            bin=$before
            [[ $side == after ]] && bin=$after
            out="$tmp/pkg-$side"
            rm -rf "$out"
            rc=0
            /usr/bin/time -f '%e %M' -o "$tmp/time.txt" timeout -k 10 "$limit" \
                "$bin" process "$path" -o "$out" --key-file "$tmp/bench.key" --json -q "${args[@]}" \
                >"$tmp/report.json" 2>"$tmp/err.txt" </dev/null || rc=$?
            if [[ $rc -ne 0 ]]; then
                log "$name ($side): exit $rc: $(tail -n 2 "$tmp/err.txt")"
                continue
            fi
            read -r wall rss < <(tail -n 1 "$tmp/time.txt")
            python3 - "$tmp/report.json" "$name" "$side" "$wall" "$rss" >>"$tmp/results.tsv" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s = r["seconds"]
print("\t".join([sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]] +
                ["%.3f" % s[k] for k in ("compress", "positions", "slice", "encrypt", "publish")] +
                [str(r["slices"]), str(r["sealed_bytes"])]))
PY
            log "$name ($side) run $i: ${wall} s"
        done
    done
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$tmp/results.tsv" >"$tmp/table.md" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
books = []
for r in rows:
    if r[0] not in books:
        books.append(r[0])
med = lambda xs: statistics.median(xs) if xs else float("nan")
print("| book | before s | after s | after / before | stages before (compress, slice, encrypt, publish) | stages after | peak RSS before / after MB | slices, sealed MB (after) |")
print("|---|---:|---:|---:|---|---|---:|---|")
for b in books:
    side = {s: [r for r in rows if r[0] == b and r[1] == s] for s in ("before", "after")}
    if not side["before"] or not side["after"]:
        continue
    w = {s: med([float(r[2]) for r in side[s]]) for s in side}
    rss = {s: max(int(r[3]) for r in side[s]) / 1024 for s in side}
    st = {s: ", ".join("%.2f" % med([float(r[i]) for r in side[s]]) for i in (4, 6, 7, 8)) for s in side}
    last = side["after"][-1]
    print("| %s | %.2f | %.2f | %.2f | %s | %s | %.0f / %.0f | %s, %.1f |" % (
        b, w["before"], w["after"], w["after"] / w["before"], st["before"], st["after"],
        rss["before"], rss["after"], last[9], int(last[10]) / 1e6))
PY

section="$tmp/section.md"
{
    echo "<!-- bench:compare:begin (written by bench/compare.sh; a rerun replaces this section) -->"
    echo "## Before and after${label:+: $label}"
    echo
    echo "- date: $start_date; machine: $(nproc) cores; load average (1/5/15 min) at start $load_start, at end $load_end (the machine is shared)"
    echo "- before: \`$before\` ($("$before" --version 2>/dev/null | head -n 1)); after: \`$after\` ($("$after" --version 2>/dev/null | head -n 1))"
    echo "- each book: \`quire process BOOK -o DIR --json\` (PDFs with the arguments shown), before and after alternating, $runs runs each; medians of wall time and of each stage; RSS the largest run"
    echo
    cat "$tmp/table.md"
    if ((${#skipped[@]} > 0)); then
        echo
        echo "Skipped (absent): ${skipped[*]}"
    fi
    echo
    echo "<!-- bench:compare:end -->"
} >"$section"
cat "$section"
if [[ $write_doc == 1 ]]; then
    bench_write_section "$doc" compare "$section"
    log "wrote $doc"
fi
