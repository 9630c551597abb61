#!/usr/bin/env bash
# Growth benchmark: `quire process` on generated books from about 10 MB to 1 GB (quire
# sample-book, 3200x2400 photographs), one after the other in one run: wall time, seconds per
# MB, and peak RSS (GNU time %M), to show time close to linear in the book's size and memory
# flat. The largest package then goes through `quire verify` and `quire unpack`, whose wall
# time and peak RSS are reported too. Writes a markdown section between markers into
# docs/benchmarks.md and an SVG plot (docs/benchmarks-growth.svg), and prints the section.
# Measures only; asserts nothing.
#
# usage: bench/growth.sh [--no-write] [--help]
#
# Environment (defaults in brackets):
#   QUIRE_BIN      quire binary, a Release build [<repo>/build-bench/quire, rebuilt first]
#   GROWTH_SIZES   target sizes in MB, space-separated [10 30 100 300 1000]
#   GROWTH_PROFILE compression profile [tablet]
#   GROWTH_DIR     scratch directory, which needs about 3x the largest size free [/var/tmp]
#   BENCH_LIMIT    seconds per run [1800]
#   BENCH_DOC      markdown file the section goes into [<repo>/docs/benchmarks.md]
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
write_doc=1
for arg in "$@"; do
    case "$arg" in
    --no-write) write_doc=0 ;;
    -h | --help)
        sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "growth.sh: unknown option $arg (see --help)" >&2
        exit 2
        ;;
    esac
done

sizes=${GROWTH_SIZES:-10 30 100 300 1000}
profile=${GROWTH_PROFILE:-tablet}
limit=${BENCH_LIMIT:-1800}
doc=${BENCH_DOC:-$repo/docs/benchmarks.md}
svg=$(dirname "$doc")/benchmarks-growth.svg
quire=${QUIRE_BIN:-}
if [[ -z "$quire" ]]; then
    cmake -S "$repo" -B "$repo/build-bench" -DCMAKE_BUILD_TYPE=Release -DQR_BUILD_TESTS=OFF >/dev/null
    cmake --build "$repo/build-bench" -j "$(nproc)" --target quire >/dev/null
    quire=$repo/build-bench/quire
fi
for c in /usr/bin/time timeout python3; do
    command -v "$c" >/dev/null || {
        echo "growth.sh: $c is required (apt-get install time python3)" >&2
        exit 1
    }
done

tmp=$(mktemp -d "${GROWTH_DIR:-/var/tmp}/quire-growth.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT
log() { printf '[growth] %s\n' "$*" >&2; }
"$quire" keys generate -o "$tmp/keys.json" >/dev/null 2>&1
results=$tmp/results.tsv
: >"$results"
start_date=$(date -u '+%Y-%m-%d %H:%M UTC')
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

# run NAME CMD...: wall seconds and peak RSS KB of CMD into $tmp/NAME.time; its exit status.
run() {
    local name=$1
    shift
    /usr/bin/time -f '%e %M' -o "$tmp/$name.time" timeout -k 10 "$limit" "$@" \
        >"$tmp/$name.out" 2>"$tmp/$name.err"
}

last=""
for mb in $sizes; do
    # A 3200x2400 photograph is about 5.8 MB in the sample book (JPEG and PNG alternating).
    images=$(((mb * 10 + 57) / 58))
    ((images > 0)) || images=1
    chapters=$((images < 4 ? 4 : images))
    book=$tmp/book-$mb.epub
    log "$mb MB: generating ($images images)"
    "$quire" sample-book "$book" --chapters "$chapters" --images "$images" --size 3200x2400 \
        --seed "$mb" >/dev/null 2>&1
    bytes=$(stat -c %s "$book")
    sync
    log "$mb MB: processing $((bytes / 1000000)) MB"
    rm -rf "$tmp/pkg"
    status=ok
    run "process-$mb" "$quire" process "$book" -o "$tmp/pkg" --profile "$profile" \
        --key-file "$tmp/keys.json" --json -q || status="failed ($(tail -n 1 "$tmp/process-$mb.err"))"
    read -r wall rss <"$tmp/process-$mb.time" || true
    slices=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["slices"])' \
        "$tmp/process-$mb.out" 2>/dev/null || echo 0)
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$mb" "$bytes" "$wall" "$rss" "$slices" "$status" >>"$results"
    log "$mb MB: $wall s, $((rss / 1024)) MB peak, $slices slices, $status"
    if [[ -n "$last" ]]; then
        rm -f "$tmp/book-$last.epub"
    fi
    last=$mb
done

# The largest package: verify, then unpack back into an EPUB.
verify_line="not run"
unpack_line="not run"
if [[ -d "$tmp/pkg" ]]; then
    if run verify "$quire" verify "$tmp/pkg" --key-file "$tmp/keys.json"; then
        read -r vw vr <"$tmp/verify.time"
        verify_line="passed in $vw s, peak RSS $((vr / 1024)) MB"
    else
        verify_line="FAILED: $(tail -n 1 "$tmp/verify.err")"
    fi
    if run unpack "$quire" unpack "$tmp/pkg" -o "$tmp/unpacked.epub" --key-file "$tmp/keys.json"; then
        read -r uw ur <"$tmp/unpack.time"
        unpack_line="passed in $uw s, peak RSS $((ur / 1024)) MB, $(($(stat -c %s "$tmp/unpacked.epub") / 1000000)) MB written"
    else
        unpack_line="FAILED: $(tail -n 1 "$tmp/unpack.err")"
    fi
fi
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

section=$tmp/section.md
python3 - "$results" "$tmp/plot.svg" >"$tmp/table.md" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
ok = [r for r in rows if r[5] == "ok"]
print("| target MB | book MB | process s | s per MB | peak RSS MB | slices | status |")
print("|---:|---:|---:|---:|---:|---:|---|")
for mb, b, wall, rss, slices, status in rows:
    mbs = int(b) / 1e6
    try:
        per = "%.3f" % (float(wall) / mbs)
    except ValueError:
        per = ""
    print("| %s | %.1f | %s | %s | %.0f | %s | %s |" % (mb, mbs, wall, per, int(rss or 0) / 1024, slices, status))
if len(ok) >= 2:
    x0, x1 = int(ok[0][1]) / 1e6, int(ok[-1][1]) / 1e6
    t0, t1 = float(ok[0][2]), float(ok[-1][2])
    r0, r1 = int(ok[0][3]) / 1024, int(ok[-1][3]) / 1024
    print()
    print("From %.0f to %.0f MB (x%.0f): time x%.1f, peak RSS x%.2f (%.0f -> %.0f MB)." % (
        x0, x1, x1 / x0, t1 / t0, r1 / r0, r0, r1))
# The plot: seconds and peak RSS against book size, both axes linear.
W, H, L, B = 640, 320, 60, 40
pts = [(int(r[1]) / 1e6, float(r[2]), int(r[3]) / 1024) for r in ok]
if pts:
    xm = max(p[0] for p in pts) * 1.05
    tm = max(p[1] for p in pts) * 1.1
    rm = max(max(p[2] for p in pts) * 1.1, 100)
    X = lambda v: L + (W - 2 * L) * v / xm
    Yt = lambda v: H - B - (H - 2 * B) * v / tm
    Yr = lambda v: H - B - (H - 2 * B) * v / rm
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">' % (W, H),
           '<rect width="100%" height="100%" fill="white"/>',
           '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (L, H - B, W - L, H - B),
           '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (L, B, L, H - B),
           '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (W - L, B, W - L, H - B),
           '<text x="%d" y="%d" text-anchor="middle">book size (MB)</text>' % (W / 2, H - 8),
           '<text x="14" y="%d" transform="rotate(-90 14 %d)" text-anchor="middle" fill="#1f5fa8">process (s)</text>' % (H / 2, H / 2),
           '<text x="%d" y="%d" transform="rotate(90 %d %d)" text-anchor="middle" fill="#b04020">peak RSS (MB)</text>' % (W - 14, H / 2, W - 14, H / 2)]
    for i in range(5):
        xv = xm * i / 4
        out.append('<text x="%.0f" y="%d" text-anchor="middle">%.0f</text>' % (X(xv), H - B + 14, xv))
        out.append('<text x="%d" y="%.0f" text-anchor="end" fill="#1f5fa8">%.0f</text>' % (L - 4, Yt(tm * i / 4) + 4, tm * i / 4))
        out.append('<text x="%d" y="%.0f" fill="#b04020">%.0f</text>' % (W - L + 4, Yr(rm * i / 4) + 4, rm * i / 4))
    out.append('<polyline fill="none" stroke="#1f5fa8" stroke-width="2" points="%s"/>' % " ".join("%.1f,%.1f" % (X(p[0]), Yt(p[1])) for p in pts))
    out.append('<polyline fill="none" stroke="#b04020" stroke-width="2" stroke-dasharray="5,3" points="%s"/>' % " ".join("%.1f,%.1f" % (X(p[0]), Yr(p[2])) for p in pts))
    for p in pts:
        out.append('<circle cx="%.1f" cy="%.1f" r="3" fill="#1f5fa8"/>' % (X(p[0]), Yt(p[1])))
        out.append('<circle cx="%.1f" cy="%.1f" r="3" fill="#b04020"/>' % (X(p[0]), Yr(p[2])))
    out.append('</svg>')
    open(sys.argv[2], "w").write("\n".join(out) + "\n")
PY
{
    echo "<!-- bench:growth:begin (written by bench/growth.sh; a rerun replaces this section) -->"
    echo "## Growth: books from 10 MB to 1 GB"
    echo
    echo "- date: $start_date; machine: $(nproc) cores; load average at start $load_start, at end $load_end (the machine is shared)"
    echo "- quire $("$quire" --version 2>/dev/null | sed 's/^quire //'): \`quire process BOOK --profile $profile\` on books from"
    echo "  \`quire sample-book --size 3200x2400\` (text chapters, photographs as JPEG and PNG), one run each"
    echo
    cat "$tmp/table.md"
    echo
    echo "![process time and peak RSS against book size](benchmarks-growth.svg)"
    echo
    echo "The largest package: \`quire verify\` $verify_line; \`quire unpack\` $unpack_line."
    echo "<!-- bench:growth:end -->"
} >"$section"
cat "$section"
if ((write_doc)); then
    bench_write_section "$doc" growth "$section"
    [[ -f "$tmp/plot.svg" ]] && cp "$tmp/plot.svg" "$svg"
    log "wrote $doc and $svg"
fi
