#!/usr/bin/env bash
# EPUB image-compression benchmark: `quire compress` against the tools it replaces, side by
# side in one run, so that every ratio comes from numbers taken on the same machine minutes
# apart.
#
#   lossless: quire compress --profile lossless   vs  calibre ebook-polish --compress-images
#   tablet:   quire compress --profile tablet     vs  unzip + mogrify -resize 2560x2560> -quality 82
#                                                     -strip + re-zip (ImageMagick)
#                                                 vs  unzip + vips thumbnail 2560 (Q=82, strip),
#                                                     2 at a time + re-zip (vips CLI)
#
# Measures wall time and peak RSS (GNU time: the largest RSS of any process of the command,
# children included), output size, and whether the output still opens (unzip -t, same entry
# names as the input, mimetype first). Every tool runs under `timeout`; a killed run is
# reported as "> limit". Writes a markdown table between markers into docs/benchmarks.md and
# prints it. Not a test: nothing is asserted.
#
# usage: bench/compress.sh [--baseline-only] [--no-write] [--make-photobook] [--help]
#   --baseline-only   do not run quire (the table is marked as baseline only)
#   --no-write        print the table, leave docs/benchmarks.md alone
#   --make-photobook  build the photobook first if it is absent (make-photobook.sh; apt download)
#
# Environment (defaults in brackets):
#   QR_SHARED_DIR          directory holding corpus/ [<repo>/../shared]
#   QR_CORPUS              the corpus itself [$QR_SHARED_DIR/corpus]
#   QR_PHOTOBOOK           the 92 MiB photobook [${XDG_CACHE_HOME:-~/.cache}/quire-corpus/
#                          debian-wallpapers-photobook.epub]
#   QUIRE_BIN              quire binary [<repo>/build-bench/quire, else <repo>/build/quire]
#   BENCH_INPUTS           space-separated EPUB paths, replacing the default list
#   BENCH_TOOLS            subset of "quire calibre magick vips" [all four]
#   BENCH_CALIBRE_LIMIT    seconds per calibre run [900]
#   BENCH_LIMIT            seconds per run of every other tool [600]
#   BENCH_KILL_AFTER       seconds between TERM and KILL when a limit is hit [10]
#   BENCH_RUNS             runs per tool and input; the median wall time is reported [3]
#   BENCH_REPEAT_UNDER     only runs shorter than this many seconds are repeated [60]
#   BENCH_DOC              markdown file the table goes into [<repo>/docs/benchmarks.md]
#   TMPDIR                 where outputs and unpacked copies go (about 3x the largest input)
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ---------------------------------------------------------------------------------------------
# Internal sub-commands: the two shell pipelines, run by this same script under time/timeout so
# that their wall time and peak RSS cover every step (unzip, the image tool, zip).
# ---------------------------------------------------------------------------------------------
MAX_EDGE=2560
QUALITY=82

find_images() { # DIR: NUL-separated JPEG and PNG paths, by extension, as the seed's scripts did
    find "$1" -type f \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' \) -print0
}

rezip() { # DIR OUT: OCF zip, mimetype first and stored
    (cd "$1" && rm -f "$2" && zip -X0q "$2" mimetype && zip -Xr9Dq "$2" . -x mimetype)
}

case "${1:-}" in
__magick) # IN OUT WORKDIR
    rm -rf "$4" && mkdir -p "$4" && unzip -q "$2" -d "$4"
    find_images "$4" | xargs -0 -r mogrify -resize "${MAX_EDGE}x${MAX_EDGE}>" -quality "$QUALITY" -strip
    rezip "$4" "$3"
    exit 0
    ;;
__vips) # IN OUT WORKDIR
    rm -rf "$4" && mkdir -p "$4" && unzip -q "$2" -d "$4"
    find_images "$4" | xargs -0 -r -n1 -P2 bash "$0" __vips1
    rezip "$4" "$3"
    exit 0
    ;;
__vips1) # IMAGE: replaced in place by its thumbnail
    f=$2
    case "${f,,}" in
    *.png) opts="[compression=9,strip]" ext=png ;;
    *) opts="[Q=$QUALITY,strip,optimize_coding]" ext=jpg ;;
    esac
    tmp="$f.bench-tmp.$ext"
    vips thumbnail "$f" "$tmp$opts" "$MAX_EDGE" --size down
    mv -f "$tmp" "$f"
    exit 0
    ;;
esac

# ---------------------------------------------------------------------------------------------
# Options and environment
# ---------------------------------------------------------------------------------------------
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
baseline_only=0
write_doc=1
make_photobook=0
for arg in "$@"; do
    case "$arg" in
    --baseline-only) baseline_only=1 ;;
    --no-write) write_doc=0 ;;
    --make-photobook) make_photobook=1 ;;
    -h | --help)
        sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "compress.sh: unknown option $arg (see --help)" >&2
        exit 2
        ;;
    esac
done

shared=${QR_SHARED_DIR:-$here/../../shared}
corpus=${QR_CORPUS:-$shared/corpus}
photobook=${QR_PHOTOBOOK:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/quire-corpus/debian-wallpapers-photobook.epub}
calibre_limit=${BENCH_CALIBRE_LIMIT:-900}
tool_limit=${BENCH_LIMIT:-600}
kill_after=${BENCH_KILL_AFTER:-10}
runs=${BENCH_RUNS:-3}
repeat_under=${BENCH_REPEAT_UNDER:-60}
tools=${BENCH_TOOLS:-quire calibre magick vips}
doc=${BENCH_DOC:-$repo/docs/benchmarks.md}

quire=${QUIRE_BIN:-}
if [ -z "$quire" ]; then
    for c in "$repo/build-bench/quire" "$repo/build/quire"; do
        if [ -x "$c" ]; then
            quire=$c
            break
        fi
    done
fi

log() { printf '[bench] %s\n' "$*" >&2; }
has_tool() { case " $tools " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
drop_tool() {
    tools=" $tools "
    tools=${tools// $1 / }
}

[ -x /usr/bin/time ] || {
    log "error: /usr/bin/time (GNU time) is missing: scripts/setup.sh --bench"
    exit 1
}
for c in timeout unzip zip awk; do
    command -v "$c" >/dev/null || {
        log "error: $c is missing: scripts/setup.sh --bench"
        exit 1
    }
done

if [ "$baseline_only" -eq 0 ] && has_tool quire; then
    if [ -z "$quire" ] || [ ! -x "$quire" ]; then
        log "no quire binary (set QUIRE_BIN or build build-bench/quire): baseline only"
        baseline_only=1
    elif ! "$quire" compress --help >/dev/null 2>&1; then
        log "$quire has no working 'compress' command: baseline only"
        baseline_only=1
    fi
fi
if [ "$baseline_only" -eq 1 ]; then
    drop_tool quire
fi
if has_tool calibre && ! command -v ebook-polish >/dev/null; then
    log "ebook-polish (calibre) is missing: skipping calibre (scripts/setup.sh --bench)"
    drop_tool calibre
fi
if has_tool magick && ! command -v mogrify >/dev/null; then
    log "mogrify (ImageMagick) is missing: skipping it (scripts/setup.sh --bench)"
    drop_tool magick
fi
if has_tool vips && ! command -v vips >/dev/null; then
    log "vips (libvips-tools) is missing: skipping the vips CLI (scripts/setup.sh --bench)"
    drop_tool vips
fi

if [ "$make_photobook" -eq 1 ] && [ ! -f "$photobook" ]; then
    if [ -x "$corpus/make-photobook.sh" ]; then
        log "building the photobook into $photobook"
        "$corpus/make-photobook.sh" "$photobook"
    else
        log "no $corpus/make-photobook.sh: cannot build the photobook"
    fi
fi

inputs=()
if [ -n "${BENCH_INPUTS:-}" ]; then
    for f in $BENCH_INPUTS; do inputs+=("$f"); done
else
    inputs=("$corpus/epub/real-world/debian-policy.epub"
        "$corpus/epub/samples/moby-dick.epub"
        "$corpus/epub/samples/haruko-html-jpeg.epub"
        "$corpus/epub/samples/accessible_epub_3.epub"
        "$photobook")
fi
present=()
skipped=()
for f in "${inputs[@]}"; do
    if [ -f "$f" ]; then
        present+=("$f")
    else
        log "skipping absent input $f"
        skipped+=("$(basename "$f")")
    fi
done
[ ${#present[@]} -gt 0 ] || {
    log "no input found (corpus: $corpus; photobook: $photobook)"
    exit 1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/quire-bench.XXXXXX")
timed_pid=""
cleanup() { rm -rf "$tmp"; }
# On INT/TERM, stop the running tool too: GNU time's child is `timeout`, which passes the signal
# on to the tool's whole process group.
on_signal() {
    local p
    if [ -n "$timed_pid" ]; then
        for p in $(pgrep -P "$timed_pid" 2>/dev/null); do kill -TERM "$p" 2>/dev/null || true; done
        wait "$timed_pid" 2>/dev/null || true
    fi
    exit "$1"
}
trap cleanup EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM

# ---------------------------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------------------------
declare -A WALL RSS BYTES STATUS OPENS
M_WALL=0 M_RSS=0 M_STATUS=ok

# run_timed LIMIT LOGFILE CMD...: sets M_WALL (s), M_RSS (KiB), M_STATUS (ok|timeout|failed N)
run_timed() {
    local limit=$1 logf=$2 rc=0 t0 t1
    shift 2
    rm -f "$tmp/time.txt"
    t0=$(date +%s%N)
    /usr/bin/time -f '%e %M' -o "$tmp/time.txt" \
        timeout -k "$kill_after" "$limit" "$@" >"$logf" 2>&1 </dev/null &
    timed_pid=$!
    wait "$timed_pid" || rc=$?
    t1=$(date +%s%N)
    timed_pid=""
    # wall time from the clock (ms resolution; GNU time's %e has only 10 ms), RSS from GNU time
    read -r _ M_RSS < <(tail -n 1 "$tmp/time.txt")
    M_WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", (b - a) / 1e9}')
    case "$rc" in
    0) M_STATUS=ok ;;
    124 | 137) M_STATUS=timeout ;;
    *) M_STATUS="failed $rc" ;;
    esac
}

# check_output IN OUT: "yes", or what is wrong with OUT
check_output() {
    local in=$1 out=$2
    [ -s "$out" ] || {
        echo "no output"
        return
    }
    unzip -tq "$out" >/dev/null 2>&1 || {
        echo "unzip -t fails"
        return
    }
    [ "$(unzip -Z1 "$out" | head -n 1)" = mimetype ] || {
        echo "mimetype not first"
        return
    }
    local a b
    a=$(unzip -Z1 "$in" | grep -v '/$' | LC_ALL=C sort)
    b=$(unzip -Z1 "$out" | grep -v '/$' | LC_ALL=C sort)
    if [ "$a" = "$b" ]; then
        echo yes
    else
        echo "yes, $(comm -3 <(printf '%s\n' "$a") <(printf '%s\n' "$b") | wc -l) entry names differ"
    fi
}

# tool_cmd TOOL IN OUT: prints nothing, sets CMD array
tool_cmd() {
    local tool=$1 in=$2 out=$3
    case "$tool" in
    quire-lossless) CMD=("$quire" compress "$in" -o "$out" --profile lossless --json) ;;
    quire-tablet) CMD=("$quire" compress "$in" -o "$out" --profile tablet --json) ;;
    calibre) CMD=(env QT_QPA_PLATFORM=offscreen ebook-polish --compress-images "$in" "$out") ;;
    magick) CMD=(bash "$0" __magick "$in" "$out" "$tmp/unpacked") ;;
    vips) CMD=(bash "$0" __vips "$in" "$out" "$tmp/unpacked") ;;
    esac
}

median() { LC_ALL=C sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

# bench_one IN TOOL
bench_one() {
    local in=$1 tool=$2 name limit out walls="" maxrss=0 n
    name=$(basename "$in")
    limit=$tool_limit
    [ "$tool" = calibre ] && limit=$calibre_limit
    out="$tmp/out-$tool.epub"
    for ((n = 1; n <= runs; n++)); do
        rm -rf "$out" "$tmp/unpacked"
        tool_cmd "$tool" "$in" "$out"
        log "$name: $tool (run $n, limit ${limit}s)"
        run_timed "$limit" "$tmp/$tool.log" "${CMD[@]}"
        walls+="$M_WALL"$'\n'
        [ "$M_RSS" -gt "$maxrss" ] && maxrss=$M_RSS
        [ "$M_STATUS" = ok ] || break
        awk -v w="$M_WALL" -v u="$repeat_under" 'BEGIN {exit !(w >= u)}' && break
    done
    local key="$name|$tool"
    STATUS[$key]=$M_STATUS
    RSS[$key]=$maxrss
    if [ "$M_STATUS" = ok ]; then
        WALL[$key]=$(printf '%s' "$walls" | median)
        BYTES[$key]=$(stat -c %s "$out")
        OPENS[$key]=$(check_output "$in" "$out")
    else
        WALL[$key]=$M_WALL
        BYTES[$key]=
        OPENS[$key]=$([ -s "$out" ] && check_output "$in" "$out" || echo "no output")
        log "$name: $tool: $M_STATUS after ${M_WALL}s; last lines of its output:"
        tail -n 5 "$tmp/$tool.log" >&2 || true
    fi
    log "$name: $tool: ${WALL[$key]}s, peak RSS $((maxrss / 1024)) MB, ${BYTES[$key]:-no} output bytes, opens: ${OPENS[$key]}"
    rm -rf "$out" "$tmp/unpacked"
}

run_list=()
if has_tool quire; then run_list+=(quire-lossless quire-tablet); fi
if has_tool magick; then run_list+=(magick); fi
if has_tool vips; then run_list+=(vips); fi
if has_tool calibre; then run_list+=(calibre); fi

# quire's version, taken before the run: the tree may move on while the benchmark runs
ver_quire="not measured"
if [ "$baseline_only" -eq 0 ] && [ -n "$quire" ]; then
    ver_quire="$("$quire" --version 2>/dev/null | sed 's/^quire //') (binary built $(date -u -r "$quire" '+%H:%M UTC'); tree at git $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$repo" diff --quiet HEAD 2>/dev/null || echo ' with uncommitted changes'))"
fi

start_date=$(date -u '+%Y-%m-%d %H:%M UTC')
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
for in in "${present[@]}"; do
    cat "$in" >/dev/null # same warm page cache for every tool
    for tool in "${run_list[@]}"; do
        bench_one "$in" "$tool"
    done
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------
mb() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1048576}'; }

# wall_cell KEY: "12.3", "> 900 (killed)", "failed 1"
wall_cell() {
    local k=$1
    case "${STATUS[$k]:-}" in
    ok) awk -v w="${WALL[$k]}" 'BEGIN {printf (w < 10 ? "%.3f" : "%.1f"), w}' ;;
    timeout) printf '> %s (killed)' "$([ "${k#*|}" = calibre ] && echo "$calibre_limit" || echo "$tool_limit")" ;;
    "") printf 'not run' ;;
    *) printf '%s' "${STATUS[$k]}" ;;
    esac
}

tool_label() {
    case "$1" in
    quire-lossless) echo "quire compress --profile lossless" ;;
    quire-tablet) echo "quire compress --profile tablet" ;;
    calibre) echo "calibre ebook-polish --compress-images" ;;
    magick) echo "unzip + mogrify -resize ${MAX_EDGE}x${MAX_EDGE}> -quality $QUALITY -strip + zip" ;;
    vips) echo "unzip + vips thumbnail $MAX_EDGE Q=$QUALITY strip (2 at a time) + zip" ;;
    esac
}
tool_profile() {
    case "$1" in
    quire-lossless | calibre) echo lossless ;;
    *) echo tablet ;;
    esac
}

ver_calibre=$(ebook-polish --version 2>/dev/null | sed -n 's/.*(calibre \(.*\))/\1/p' | head -n 1)
ver_magick=$(mogrify -version 2>/dev/null | sed -n '1s/^Version: ImageMagick \([^ ]*\).*/\1/p')
ver_vips=$(vips --version 2>/dev/null | sed 's/^vips-//')
ver_libvips=$(pkg-config --modversion vips 2>/dev/null || true)
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
mem=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
# shellcheck source=/dev/null
os=$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")

table="$tmp/table.md"
{
    echo "<!-- bench:compress:begin (written by bench/compress.sh; a rerun replaces this section) -->"
    echo "## EPUB compression: quire vs calibre, ImageMagick and the vips CLI"
    echo
    if [ "$baseline_only" -eq 1 ]; then
        echo "**BASELINE ONLY: quire was not measured in this run** (no quire binary with a working"
        echo "\`compress\` command). The ratios and the aim check need a run with quire."
        echo
    fi
    echo "- date: $start_date; machine: $(nproc) cores ($cpu), $mem RAM, $os, kernel $(uname -r)"
    echo "- load average (1/5/15 min) at start $load_start, at end $load_end (the machine is shared; builds may run beside the benchmark)"
    echo "- versions: quire $ver_quire; calibre ${ver_calibre:-absent}; ImageMagick ${ver_magick:-absent}; vips CLI ${ver_vips:-absent}; libvips (pkg-config) ${ver_libvips:-absent}"
    echo "- limits: calibre ${calibre_limit} s, other tools ${tool_limit} s (\`timeout -k $kill_after\`); runs shorter than ${repeat_under} s are repeated $runs times and the median wall time is shown; peak RSS is the largest of any process of the run (for the shell pipelines: of any step) over all runs"
    [ ${#skipped[@]} -eq 0 ] || echo "- absent inputs, skipped: ${skipped[*]}"
    echo
    echo "### Measurements"
    echo
    echo "| input | profile | tool | wall s | peak RSS MB | output bytes | output / input | opens |"
    echo "|---|---|---|---:|---:|---:|---:|---|"
    for in in "${present[@]}"; do
        name=$(basename "$in")
        insize=$(stat -c %s "$in")
        first=1
        for tool in "${run_list[@]}"; do
            k="$name|$tool"
            if [ $first -eq 1 ]; then cell="$name ($(mb "$insize") MiB)"; else cell=""; fi
            first=0
            if [ -n "${BYTES[$k]:-}" ]; then
                bytes=${BYTES[$k]}
                ratio=$(awk -v o="$bytes" -v i="$insize" 'BEGIN {printf "%.1f %%", 100 * o / i}')
            else
                bytes="–" ratio="–"
            fi
            rss=$(awk -v r="${RSS[$k]:-0}" 'BEGIN {printf "%.0f", r / 1024}')
            printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$cell" "$(tool_profile "$tool")" \
                "$(tool_label "$tool")" "$(wall_cell "$k")" "$rss" "$bytes" "$ratio" "${OPENS[$k]:-–}"
        done
    done
    echo
    if [ "$baseline_only" -eq 0 ] && has_tool quire; then
        echo "### Ratios (same run)"
        echo
        echo "speedup = tool wall time / quire wall time; size = quire output bytes / tool output bytes"
        echo "(below 1.00: quire's book is smaller). Aim per comparison: speedup ≥ 5 and size ≤ 1.00."
        echo
        aim_rows=()
        echo "| input | quire profile | vs | speedup | size | aim met |"
        echo "|---|---|---|---:|---:|---|"
        for in in "${present[@]}"; do
            name=$(basename "$in")
            for pair in quire-lossless:calibre quire-tablet:magick quire-tablet:vips; do
                q=${pair%%:*} t=${pair#*:}
                has_tool "$t" || continue
                qk="$name|$q" tk="$name|$t"
                if [ "${STATUS[$qk]:-}" != ok ]; then
                    printf '| %s | %s | %s | – | – | no: quire %s |\n' "$name" "${q#quire-}" "$t" "${STATUS[$qk]:-not run}"
                    continue
                fi
                qw=${WALL[$qk]}
                # The speed aims: the photobook issue's 4x ImageMagick and 2x the vips CLI; 5x calibre.
                case "$t" in magick) aim=4 ;; vips) aim=2 ;; *) aim=5 ;; esac
                qw=$(awk -v w="$qw" 'BEGIN {print (w < 0.001 ? 0.001 : w)}')
                case "${STATUS[$tk]:-}" in
                ok)
                    sp=$(awk -v a="${WALL[$tk]}" -v b="$qw" 'BEGIN {printf "%.1fx", a / b}')
                    sz=$(awk -v a="${BYTES[$qk]}" -v b="${BYTES[$tk]}" 'BEGIN {printf "%.3f", a / b}')
                    met=$(awk -v a="${WALL[$tk]}" -v b="$qw" -v x="${BYTES[$qk]}" -v y="${BYTES[$tk]}" -v m="$aim" \
                        'BEGIN {s = a / b >= m; z = x <= y; u = "under " m "x"; print (s && z) ? "yes" : (s ? "no: larger output" : (z ? "no: " u : "no: " u ", larger output"))}')
                    ;;
                timeout)
                    lim=$([ "$t" = calibre ] && echo "$calibre_limit" || echo "$tool_limit")
                    sp=$(awk -v a="$lim" -v b="$qw" 'BEGIN {printf "> %.0fx", a / b}')
                    sz="– (no output)"
                    met=$(awk -v a="$lim" -v b="$qw" -v m="$aim" 'BEGIN {print (a / b >= m) ? "speed yes; size n/a (tool killed at limit)" : "no"}')
                    ;;
                *)
                    sp="–" sz="–" met="n/a: $t ${STATUS[$tk]:-not run}"
                    ;;
                esac
                printf '| %s | %s | %s | %s | %s | %s |\n' "$name" "${q#quire-}" "$t" "$sp" "$sz" "$met"
                [ "$name" = "$(basename "$photobook")" ] && aim_rows+=("vs $t: $met")
            done
        done
        echo
        pb=$(basename "$photobook")
        pbt="$pb|quire-tablet" pbl="$pb|quire-lossless"
        if [ -n "${STATUS[$pbt]:-}" ]; then
            r1=${RSS[$pbt]:-0} r2=${RSS[$pbl]:-0}
            rmax=$((r1 > r2 ? r1 : r2))
            echo "**Aim check on the photobook** (at least 4x faster than ImageMagick, 2x the vips CLI and"
            echo "5x calibre, at equal or smaller output, and under 300 MB peak RSS):"
            echo
            for a in "${aim_rows[@]}"; do echo "- $a"; done
            echo "- peak RSS of quire: $((rmax / 1024)) MB (tablet $((r1 / 1024)), lossless $((r2 / 1024))): $([ $((rmax / 1024)) -lt 300 ] && echo "yes, under 300 MB" || echo "no, NOT under 300 MB")"
        else
            echo "The photobook was not measured: no peak-RSS check against the 300 MB aim."
        fi
        echo
    fi
    echo "<!-- bench:compress:end -->"
} >"$table"

cat "$table"

if [ "$write_doc" -eq 1 ]; then
    mkdir -p "$(dirname "$doc")"
    if [ ! -f "$doc" ]; then
        {
            echo "# Benchmarks"
            echo
            echo "Numbers measured by the scripts in \`bench/\` (see bench/README.md). Each section is"
            echo "written by its script between markers; a rerun replaces it. Absolute times move from run"
            echo "to run on a shared machine; the ratios within one section come from one run."
            echo
        } >"$doc"
    fi
    bench_write_section "$doc" compress "$table"
    log "wrote $doc"
fi
