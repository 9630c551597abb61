#!/usr/bin/env bash
# PDF slicing benchmark: quire's page-range slicing against pdftk and qpdf, side by side in one
# run, so that every ratio comes from numbers taken on the same machine minutes apart.
#
#   pdftk A burst output DIR/p%04d.pdf             (one page per file)
#   qpdf --split-pages=N A DIR/p.pdf               (N pages per file; N = 1 and BENCH_PAGES)
#   qpdf --object-streams=generate --split-pages=N A DIR/p.pdf   (the same, writing object
#                                                  streams as quire's slices do: like for like)
#   quire process A -o DIR --profile lossless --slice-pages N -j T --json   (T = 1 and 2)
#
# For quire two times are reported: the slice stage of its --json report (plan the ranges, cut
# each standalone slice PDF from the open document in memory), which is the work pdftk and qpdf
# do, and the whole `quire process` run (compression, slicing, encryption, publishing), which
# the second ratio table holds against the tools' whole runs. Wall time is the clock around the command, peak
# RSS is GNU time's %M. Output size: the sum of the slice files (quire: slice PDFs before
# encryption); overhead = that sum / the input size (quire also / its compressed PDF, the file
# it slices). Writes a markdown section between markers into docs/benchmarks.md and prints it.
# Measures only; asserts nothing.
#
# usage: bench/pdf.sh [--no-write] [--help]
#
# Environment (defaults in brackets):
#   QUIRE_BIN        quire binary, a Release build [default: <repo>/build-bench/quire, rebuilt first]
#   QR_SHARED_DIR    directory holding corpus/ [<repo>/../shared]
#   BENCH_INPUTS     space-separated PDF paths, replacing the default list (the corpus's valid
#                    PDFs, cplusplus.pdf of c++-annotations and pst-geo-doc.pdf of
#                    texlive-pstricks-doc)
#   BENCH_PAGES      the larger pages-per-slice value [10]
#   BENCH_LIMIT      seconds per run [300]
#   BENCH_RUNS       runs of a measurement shorter than 2 s; the median is reported [3]
#   BENCH_DOC        markdown file the section goes into [<repo>/docs/benchmarks.md]
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
        echo "pdf.sh: unknown option $arg (see --help)" >&2
        exit 2
        ;;
    esac
done

shared=${QR_SHARED_DIR:-$repo/../shared}
corpus=$shared/corpus
big_n=${BENCH_PAGES:-10}
limit=${BENCH_LIMIT:-300}
runs=${BENCH_RUNS:-3}
doc=${BENCH_DOC:-$repo/docs/benchmarks.md}
quire=${QUIRE_BIN:-}
# Without QUIRE_BIN, build-bench is (re)built first (Release): a stale binary measures old code.
if [[ -z "$quire" ]] && command -v cmake >/dev/null; then
    cmake -S "$repo" -B "$repo/build-bench" -DCMAKE_BUILD_TYPE=Release -DQR_BUILD_TESTS=OFF >/dev/null &&
        cmake --build "$repo/build-bench" -j "$(nproc)" --target quire >/dev/null ||
        echo "[bench] warning: building build-bench failed; using what is there" >&2
fi
if [[ -z "$quire" ]]; then
    for c in "$repo/build-bench/quire" "$repo/build/quire"; do
        if [[ -x "$c" ]]; then
            quire=$c
            break
        fi
    done
fi

log() { printf '[bench] %s\n' "$*" >&2; }
for c in /usr/bin/time timeout qpdf pdftk python3; do
    command -v "$c" >/dev/null || {
        log "error: $c is missing (apt-get install time qpdf pdftk-java)"
        exit 1
    }
done
[[ -n "$quire" && -x "$quire" ]] || {
    log "error: no quire binary (set QUIRE_BIN or build build-bench/quire, Release)"
    exit 1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/quire-bench-pdf.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT

inputs=()
if [[ -n "${BENCH_INPUTS:-}" ]]; then
    read -r -a inputs <<<"$BENCH_INPUTS"
else
    if [[ -f "$corpus/MANIFEST.tsv" ]]; then
        while IFS=$'\t' read -r file _ status _; do
            [[ "$file" == pdf/* ]] || continue
            case "$status" in valid* | "as shipped") inputs+=("$corpus/$file") ;; esac
        done < <(tail -n +2 "$corpus/MANIFEST.tsv")
    else
        log "no corpus at $corpus: only the Debian documentation PDFs"
    fi
    inputs+=(/usr/share/doc/c++-annotations/cplusplus.pdf)
    geo=$(dpkg -L texlive-pstricks-doc 2>/dev/null | awk '/\/pst-geo-doc\.pdf(\.gz)?$/ && !n++' || true)
    if [[ "$geo" == *.gz ]]; then
        gunzip -c "$geo" >"$tmp/pst-geo-doc.pdf"
        geo=$tmp/pst-geo-doc.pdf
    fi
    inputs+=("${geo:-/usr/share/doc/texlive-doc/generic/pst-geo/pst-geo-doc.pdf}")
fi
present=()
for f in "${inputs[@]}"; do
    if [[ -f "$f" ]]; then present+=("$f"); else log "skipping absent input $f"; fi
done
((${#present[@]} > 0)) || {
    log "no input found"
    exit 1
}
"$quire" keys generate -o "$tmp/bench.key" >/dev/null

# run_timed LOG CMD...: sets M_WALL (s), M_RSS (KiB), M_RC
run_timed() {
    local logf=$1 t0 t1
    shift
    M_RC=0
    t0=$(date +%s%N)
    /usr/bin/time -f '%e %M' -o "$tmp/time.txt" timeout -k 10 "$limit" "$@" >"$logf" 2>&1 </dev/null || M_RC=$?
    t1=$(date +%s%N)
    read -r _ M_RSS < <(tail -n 1 "$tmp/time.txt")
    M_WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", (b - a) / 1e9}')
}

median() { LC_ALL=C sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
dir_bytes() { find "$1" -type f -name '*.pdf' -printf '%s\n' | awk '{s += $1} END {print s + 0}'; }
dir_files() { find "$1" -type f -name '*.pdf' | wc -l; }

# Results: one line per measurement in $tmp/results.tsv:
# input tool pages threads wall rss files bytes slice_s compressed_bytes status
results=$tmp/results.tsv
: >"$results"

# measure INPUT TOOL N THREADS
measure() {
    local in=$1 tool=$2 n=$3 th=$4 out=$tmp/out walls="" slices="" maxrss=0 k
    local files=0 bytes=0 comp=0 status=ok
    for ((k = 1; k <= runs; k++)); do
        rm -rf "$out"
        mkdir -p "$out"
        case "$tool" in
        pdftk) run_timed "$tmp/log" pdftk "$in" burst output "$out/p%04d.pdf" ;;
        qpdf) run_timed "$tmp/log" qpdf --split-pages="$n" "$in" "$out/p.pdf" ;;
        qpdf-os) run_timed "$tmp/log" qpdf --object-streams=generate --split-pages="$n" "$in" "$out/p.pdf" ;;
        quire) run_timed "$tmp/log" "$quire" process "$in" -o "$out/pkg" --key-file "$tmp/bench.key" \
            --profile lossless --slice-pages "$n" -j "$th" --json -q --work-dir "$tmp" ;;
        esac
        # qpdf exits 3 when it had warnings but wrote its output
        if [[ "$M_RC" != 0 && ! ("$tool" == qpdf* && "$M_RC" == 3) ]]; then
            status="failed $M_RC"
            [[ "$M_RC" != 124 && "$M_RC" != 137 ]] || status="killed at ${limit}s"
            log "$(basename "$in"): $tool n=$n j=$th: $status: $(tail -n 2 "$tmp/log" | tr '\n' ' ')"
            break
        fi
        walls+="$M_WALL"$'\n'
        ((M_RSS > maxrss)) && maxrss=$M_RSS
        if [[ "$tool" == quire ]]; then
            read -r s f b c < <(python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
print(r["seconds"]["slice"], r["slices"], r["plain_bytes"], r["compressed_bytes"])' "$tmp/log")
            slices+="$s"$'\n'
            files=$f bytes=$b comp=$c
        else
            files=$(dir_files "$out")
            bytes=$(dir_bytes "$out")
        fi
        awk -v w="$M_WALL" 'BEGIN {exit !(w >= 2)}' && break
    done
    local wall="-" slice="-"
    if [[ "$status" == ok ]]; then
        wall=$(printf '%s' "$walls" | median)
        [[ -z "$slices" ]] || slice=$(printf '%s' "$slices" | median)
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$in" "$tool" "$n" "$th" "$wall" \
        "$maxrss" "$files" "$bytes" "$slice" "$comp" "$status" >>"$results"
    log "$(basename "$in"): $tool n=$n j=$th: wall $wall s, slice stage $slice s, $((maxrss / 1024)) MB, $files files, $bytes bytes"
    rm -rf "$out"
}

start_date=$(date -u '+%Y-%m-%d %H:%M UTC')
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
for in in "${present[@]}"; do
    cat "$in" >/dev/null # same warm page cache for every tool
    measure "$in" pdftk 1 1
    for n in 1 "$big_n"; do
        measure "$in" qpdf "$n" 1
        measure "$in" qpdf-os "$n" 1
        measure "$in" quire "$n" 1
        measure "$in" quire "$n" 2
    done
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

ver_quire="$("$quire" --version 2>/dev/null | sed 's/^quire //' || true) (binary built $(date -u -r "$quire" '+%H:%M UTC'); tree at git $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?'))"
# awk reads all its input: a reader that stops early would kill the writer with SIGPIPE.
ver_qpdf=$(qpdf --version 2>/dev/null | awk 'NR == 1 {sub(/^qpdf version /, ""); print}' || true)
ver_pdftk=$(pdftk --version 2>/dev/null | awk 'tolower($0) ~ /pdftk/ && !n++ {sub(/^pdftk /, ""); print}' || true)
cpu=$(awk -F': ' '/^model name/ && !n++ {print $2}' /proc/cpuinfo)
section=$tmp/section.md
python3 - "$results" "$big_n" >"$tmp/tables.md" <<'PY'
import os, subprocess, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
big = sys.argv[2]
def pages(path):
    r = subprocess.run(["qpdf", "--show-npages", path], capture_output=True, text=True)
    try:
        return int(r.stdout.strip())
    except ValueError:
        return 0
inputs = []
for r in rows:
    if r[0] not in inputs:
        inputs.append(r[0])
get = {(r[0], r[1], r[2], r[3]): r for r in rows}
def f(x, fmt="%.3f"):
    try:
        return fmt % float(x)
    except ValueError:
        return x
print("### Measurements")
print()
print("Wall s for quire is its slice stage; the whole `quire process` run is the next column.")
print()
print("| input | tool | pages/slice | threads | wall s | quire process s | peak RSS MB | files | output bytes | output / input | output / quire's compressed PDF |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for i in inputs:
    size = os.path.getsize(i)
    first = True
    for r in rows:
        if r[0] != i:
            continue
        _, tool, n, th, wall, rss, files, b, slice_s, comp, status = r
        name = "%s (%d pages, %.1f MB)" % (os.path.basename(i), pages(i), size / 1e6) if first else ""
        first = False
        label = {"pdftk": "pdftk burst", "qpdf": "qpdf --split-pages",
                 "qpdf-os": "qpdf --object-streams=generate --split-pages",
                 "quire": "quire process --slice-pages"}[tool]
        if status != "ok":
            print("| %s | %s | %s | %s | %s | | | | | | |" % (name, label, n, th, status))
            continue
        shown = slice_s if tool == "quire" else wall
        total = f(wall) if tool == "quire" else ""
        ov = "%.2f" % (int(b) / size) if size else "-"
        ovc = "%.2f" % (int(b) / int(comp)) if tool == "quire" and int(comp) else ""
        print("| %s | %s | %s | %s | %s | %s | %.0f | %s | %s | %s | %s |" % (
            name, label, n, th, f(shown), total, int(rss) / 1024, files, b, ov, ovc))
print()
print("### Ratios (same run)")
print()
print("speedup = the other tool's wall time / quire's slice stage. Aims: at least 5x pdftk's burst;")
print("quire with 1 thread within 1.3x of qpdf --split-pages (speedup >= 0.77), and faster than it")
print("with 2 threads (speedup > 1). `qpdf-os` is qpdf writing object streams, as quire's slices")
print("are written (smaller files, more work): the like-for-like comparison; the aims are checked")
print("against plain qpdf.")
print()
print("| input | pages/slice | vs | quire 1 thread | quire 2 threads | aim met |")
print("|---|---:|---|---:|---:|---|")
def wall(k):
    r = get.get(k)
    if not r or r[10] != "ok":
        return None
    return float(r[8] if r[1] == "quire" else r[4])
for i in inputs:
    name = os.path.basename(i)
    for n, other in (("1", "pdftk"), ("1", "qpdf"), ("1", "qpdf-os"), (big, "qpdf"), (big, "qpdf-os")):
        t = wall((i, other, n, "1"))
        q1 = wall((i, "quire", n, "1"))
        q2 = wall((i, "quire", n, "2"))
        if t is None or q1 is None or q2 is None:
            print("| %s | %s | %s | - | - | not measured |" % (name, n, other))
            continue
        s1 = t / max(q1, 1e-3)
        s2 = t / max(q2, 1e-3)
        if other == "pdftk":
            met = "yes" if max(s1, s2) >= 5 else "no: under 5x"
        elif other == "qpdf-os":
            met = "(like for like; no aim)"
        else:
            a = s1 >= 1 / 1.3
            b = s2 > 1
            met = "yes" if a and b else "no: " + ", ".join(
                x for x, ok in (("1 thread over 1.3x qpdf", a), ("2 threads not faster than qpdf", b)) if not ok)
        print("| %s | %s | %s | %.2fx | %.2fx | %s |" % (name, n, other, s1, s2, met))
print()
print("### The whole `quire process` against the tools (same run)")
print()
print("ratio = quire's whole run (compress, slice, seal, publish) / the tool's wall time (lower is")
print("better), with quire on one thread and on two (`-j 2`, its default on a 2-core machine: one")
print("thread cuts slices while the other seals and publishes). Aims: within 1.3x of qpdf")
print("--split-pages at the same granularity, and at least 3x faster than pdftk burst (ratio <= 0.33);")
print("\"aim met\" is judged on one thread, and on two where one misses it.")
print()
print("| input | pages/slice | vs | quire s, 1 thread | quire s, 2 threads | tool s | ratio, 1 thread | ratio, 2 threads | aim met |")
print("|---|---:|---|---:|---:|---:|---:|---:|---|")
def whole(k):
    r = get.get(k)
    if not r or r[10] != "ok":
        return None
    return float(r[4])
for i in inputs:
    name = os.path.basename(i)
    for n, other in (("1", "pdftk"), ("1", "qpdf"), (big, "qpdf")):
        t = whole((i, other, n, "1"))
        q = whole((i, "quire", n, "1"))
        q2 = whole((i, "quire", n, "2"))
        if t is None or q is None:
            print("| %s | %s | %s | - | - | - | - | - | not measured |" % (name, n, other))
            continue
        ratio = q / max(t, 1e-3)
        ratio2 = q2 / max(t, 1e-3) if q2 is not None else None
        aim = 1 / 3 if other == "pdftk" else 1.3
        if ratio <= aim:
            met = "yes"
        elif ratio2 is not None and ratio2 <= aim:
            met = "on 2 threads (1 thread: over %.2fx)" % aim
        else:
            met = "no: over %.2fx" % aim
        print("| %s | %s | %s | %.3f | %s | %.3f | %.2fx | %s | %s |" % (
            name, n, other, q, "%.3f" % q2 if q2 is not None else "-", t, ratio,
            "%.2fx" % ratio2 if ratio2 is not None else "-", met))
PY
{
    echo "<!-- bench:pdf:begin (written by bench/pdf.sh; a rerun replaces this section) -->"
    echo "## PDF slicing: quire vs pdftk burst and qpdf --split-pages"
    echo
    echo "- date: $start_date; machine: $(nproc) cores ($cpu)"
    echo "- load average (1/5/15 min) at start $load_start, at end $load_end (the machine is shared)"
    echo "- versions: quire $ver_quire; qpdf $ver_qpdf; pdftk $ver_pdftk"
    echo "- runs shorter than 2 s are repeated $runs times and the median is shown; limit ${limit}s per run"
    echo "- quire: \`quire process IN -o DIR --profile lossless --slice-pages N -j T --json\`; its slice stage"
    echo "  plans the ranges and cuts each standalone slice PDF from the open document, in memory"
    echo
    cat "$tmp/tables.md"
    echo
    echo "<!-- bench:pdf:end -->"
} >"$section"
cat "$section"

if [[ "$write_doc" == 1 ]]; then
    bench_write_section "$doc" pdf "$section"
    log "wrote $doc"
fi
