#!/usr/bin/env bash
# fuzz/run.sh TARGET SECONDS: one libFuzzer campaign over fuzz/fuzz_TARGET.c.
#
# Builds the libFuzzer targets with clang under ASan+UBSan, the qr library
# instrumented for coverage (-DQR_BUILD_FUZZERS=ON), in build-fuzz/
# (QR_FUZZ_BUILD_DIR overrides), then runs TARGET for SECONDS seeded from
# fuzz/corpora/TARGET/ and the shared corpus (../shared/corpus: the books for
# epub and slice_plan, the PDFs for pdf, and for container, opf, nav and image
# the matching files taken out of the books). Inputs the campaign finds that
# add coverage are merged, minimized, into fuzz/corpora/TARGET/, so the
# corpus replay under ctest (fuzz/TARGET) grows with each campaign. A crash,
# leak or timeout is written to fuzz/findings/TARGET/ (not committed: each
# one is fixed and its input kept in the corpus or as a unit test).
#
# The last line printed is a summary: runs, exec/s, coverage at start and
# end, inputs kept, findings. See docs/internals/fuzzing.md.
set -euo pipefail

usage() {
    echo "usage: fuzz/run.sh TARGET SECONDS   (TARGET: $(targets | tr '\n' ' '))" >&2
    exit 2
}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
targets() { for f in "$here"/fuzz_*.c; do basename "$f" .c | sed 's/^fuzz_//'; done; }

[ $# -eq 2 ] || usage
target=$1
seconds=$2
[ -f "$here/fuzz_$target.c" ] || usage
case $seconds in '' | *[!0-9]*) usage ;; esac

cc=${CC:-clang}
if ! command -v "$cc" >/dev/null || ! "$cc" --version | grep -q clang; then
    echo "fuzz/run.sh: needs clang with libFuzzer (apt-get install clang; scripts/setup.sh installs it)" >&2
    exit 1
fi
command -v unzip >/dev/null || { echo "fuzz/run.sh: needs unzip (scripts/setup.sh)" >&2; exit 1; }

build=${QR_FUZZ_BUILD_DIR:-$root/build-fuzz}
shared=${QR_SHARED_CORPUS:-$root/../shared/corpus}
corpus=$here/corpora/$target
findings=$root/fuzz/findings/$target
mkdir -p "$corpus" "$findings"

echo "== building fuzz_${target}_libfuzzer in $build" >&2
CC=$cc cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQR_BUILD_FUZZERS=ON \
    -DQR_STANDALONE_FUZZERS=OFF -DQR_BUILD_TESTS=OFF -DQR_SANITIZE=address,undefined >/dev/null
cmake --build "$build" --target "fuzz_${target}_libfuzzer" -j "${QR_FUZZ_JOBS:-2}" >/dev/null
bin=$build/fuzz/fuzz_${target}_libfuzzer

work=$(mktemp -d "${TMPDIR:-/tmp}/qr-fuzz-$target.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/new" "$work/seeds"

# Inputs larger than this are neither generated nor kept; shared seeds over it are skipped.
max_len=65536
case $target in epub | slice_plan | pdf) max_len=1048576 ;; esac

# Seeds from the shared corpus, when it is there (the corpus replay does not need it).
# Whole books are seeds up to max_len; files are taken out of books of any size.
book_max=$((64 << 20))
case $target in epub | slice_plan) book_max=$max_len ;; esac
n=0
if [ -d "$shared" ]; then
    while IFS= read -r -d '' book; do
        case $target in
        epub | slice_plan)
            cp "$book" "$work/seeds/$n.epub"
            n=$((n + 1))
            ;;
        container | opf | nav | image)
            x=$work/x$n
            mkdir -p "$x"
            unzip -qq -o "$book" -d "$x" 2>/dev/null || true
            while IFS= read -r -d '' f; do
                [ "$(stat -c %s "$f")" -le $max_len ] || continue
                case $target:$f in
                container:*/META-INF/container.xml | opf:*.opf | image:*.jpg | image:*.jpeg | \
                    image:*.png | image:*.gif | image:*.webp | image:*.svg)
                    cp "$f" "$work/seeds/$n-$(basename "$f")"
                    ;;
                nav:*.ncx) { printf '\001'; cat "$f"; } >"$work/seeds/$n-$(basename "$f")" ;;
                nav:*.xhtml | nav:*.html)
                    # The first byte picks the parser (even: nav document).
                    grep -q 'epub:type="toc"' "$f" && { printf '\000'; cat "$f"; } >"$work/seeds/$n-$(basename "$f")"
                    ;;
                esac
            done < <(find "$x" -type f -print0)
            rm -rf "$x"
            n=$((n + 1))
            ;;
        esac
    done < <(find "$shared" -type f -name '*.epub' -size -$((book_max / 1024 + 1))k -print0)
    if [ "$target" = pdf ]; then
        while IFS= read -r -d '' f; do
            cp "$f" "$work/seeds/$n.pdf"
            n=$((n + 1))
        done < <(find "$shared" -type f -name '*.pdf' -size -$((max_len / 1024 + 1))k -print0)
    fi
fi
echo "== $target: $(find "$corpus" -type f | wc -l) corpus inputs, $(find "$work/seeds" -type f | wc -l) shared seeds, ${seconds}s" >&2

# New inputs go to the first folder ($work/new); the others are read only.
# -timeout: an input that runs over 25 s is a finding (a hang).
set +e
"$bin" -max_total_time="$seconds" -max_len=$max_len -timeout=25 -rss_limit_mb=2560 \
    -print_final_stats=1 -artifact_prefix="$findings/" "$work/new" "$corpus" "$work/seeds" \
    >"$work/log" 2>&1
rc=$?
set -e
tail -n 40 "$work/log" >&2

# Keep only what adds edges beyond the committed corpus (hit counts left out, so the
# corpus stays small): the fewest, smallest inputs that cover them. Not kept: copies
# of the shared seeds (libFuzzer writes seeds that add coverage to the first folder;
# files are named by their SHA-1) and inputs over 64 KiB (mutated whole books: the
# books stay in ../shared/corpus, and the ctest replay stays quick).
(cd "$work/seeds" && find . -type f -exec sha1sum {} +) | while read -r sum _; do
    rm -f "$work/new/$sum"
done
find "$work/new" -type f -size +64k -delete
before=$(find "$corpus" -type f | wc -l)
"$bin" -merge=1 -use_counters=0 -max_len=$max_len -timeout=25 -rss_limit_mb=2560 "$corpus" "$work/new" \
    >"$work/merge.log" 2>&1 || { tail -n 20 "$work/merge.log" >&2; echo "fuzz/run.sh: merge failed" >&2; }
after=$(find "$corpus" -type f | wc -l)

stat_of() { grep -E "$1" "$work/log" | tail -n 1 | grep -oE "$2: *[0-9]+" | grep -oE '[0-9]+$' || echo '?'; }
runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$work/log" | grep -oE '[0-9]+$' || echo '?')
eps=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$work/log" | grep -oE '[0-9]+$' || echo '?')
cov0=$(stat_of 'INITED' cov)
cov1=$(grep -E '^#[0-9]+' "$work/log" | tail -n 1 | grep -oE 'cov: *[0-9]+' | grep -oE '[0-9]+$' || echo '?')
ft1=$(grep -E '^#[0-9]+' "$work/log" | tail -n 1 | grep -oE 'ft: *[0-9]+' | grep -oE '[0-9]+$' || echo '?')
# Crashes, leaks, timeouts and out-of-memory are findings; slow-unit-* files are
# inputs over 10 s (-report_slow_units), worth a look but not failures.
nfind=$(find "$findings" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
nslow=$(find "$findings" -type f -name 'slow-unit-*' | wc -l)
echo "summary: target=$target seconds=$seconds runs=$runs exec_per_sec=$eps cov_start=$cov0 cov_end=$cov1 ft_end=$ft1 kept=$((after - before)) findings=$nfind slow=$nslow exit=$rc"
# The check that libFuzzer sees the library: a campaign of any length grows coverage.
[ "$cov0" = '?' ] || [ "$cov1" = '?' ] || [ "$cov1" -gt "$cov0" ] ||
    echo "fuzz/run.sh: coverage did not grow past the seeds ($cov0 edges): is the library instrumented?" >&2
[ "$rc" -eq 0 ] || echo "fuzz/run.sh: libFuzzer stopped with a finding ($rc): see $findings/" >&2
exit "$rc"
