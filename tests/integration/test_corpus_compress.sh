#!/usr/bin/env bash
# `quire compress` over every EPUB of the shared corpus (MANIFEST.tsv).
#
# Openable books (valid, as shipped, warning, edge) and the broken ones quire
# repairs leniently: compress with the default profile (tablet) and with
# lossless succeeds; the output keeps the OCF rules (mimetype first, stored,
# no extra field), every entry name, every text and font byte, the unique
# identifier and encryption.xml; images keep their format and never grow;
# lossless keeps pixels; epubcheck finds no error id in the output that it
# did not find in the input. The --json report agrees with the file written.
#
# Broken books quire must refuse: a clean failure with the documented id and
# exit status, no output file. Never a crash, a sanitizer report or a hang.
#
# Skips (77) when the corpus is absent. Runs epubcheck two at a time.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
qr_init corpus-compress
qr_corpus
qr_epubcheck_find
if ((${#QR_EPUBCHECK[@]} == 0)); then
    if [[ "${CI:-}" == true ]]; then
        qr_die "epubcheck is not installed (scripts/setup.sh installs it)"
    fi
    echo "note: epubcheck not found; the epubcheck comparison is skipped"
fi

PROFILES=(tablet lossless)
jobs="$QR_TMP/epubcheck.jobs"
: >"$jobs"
rows=()
mapfile -t rows < <(qr_manifest_epubs)
lib="$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export QR_TMP

# run_epubchecks PARALLEL < JOBS: epubcheck on "epub\nids-file" pairs.
# Failures are looked at per file below (a .log saying "did not complete").
run_epubchecks() {
    # shellcheck disable=SC2016
    xargs -d '\n' -n 2 -P "$1" bash -c 'source "$0"; qr_epubcheck_find; qr_epubcheck "$1" "$2" || true' "$lib"
}

# epubcheck the inputs on one core while quire and the comparisons run.
input_jobs="$QR_TMP/epubcheck-input.jobs"
: >"$input_jobs"
for row in "${rows[@]}"; do
    file="${row%%$'\t'*}"
    expect="$(qr_expected "$file" "${row#*$'\t'}")"
    if [[ "$expect" == ok || "$expect" == warn ]] && ((${#QR_EPUBCHECK[@]} > 0)); then
        slug="${file//\//_}"
        mkdir -p "$QR_TMP/${slug%.epub}"
        printf '%s\n%s\n' "$QR_CORPUS/$file" "$QR_TMP/${slug%.epub}/ec-input" >>"$input_jobs"
    fi
done
input_pid=""
if [[ -s "$input_jobs" ]]; then
    run_epubchecks 1 <"$input_jobs" &
    input_pid=$!
fi

# check_report REPORT IN OUT PROFILE EXPECT STATUS: the --json report of a success.
check_report() {
    python3 - "$@" <<'PY'
import json, os, sys
path, inp, out, profile, expect, status = sys.argv[1:7]
try:
    r = json.load(open(path, encoding="utf-8"))
except ValueError as e:
    print("--json report is not valid JSON: %s" % e)
    sys.exit()
def need(k, t):
    if not isinstance(r.get(k), t):
        print("report field %s missing or not %s: %r" % (k, t.__name__ if isinstance(t, type) else t, r.get(k)))
        return False
    return True
if need("bytes_out", int) and r["bytes_out"] != os.path.getsize(out):
    print("report bytes_out %d != output size %d" % (r["bytes_out"], os.path.getsize(out)))
if need("bytes_in", int) and r["bytes_in"] != os.path.getsize(inp):
    print("report bytes_in %d != input size %d" % (r["bytes_in"], os.path.getsize(inp)))
if need("profile", str) and r["profile"] != profile:
    print("report profile %r, expected %r" % (r["profile"], profile))
if need("input", str) and os.path.realpath(r["input"]) != os.path.realpath(inp):
    print("report input %r" % r["input"])
if need("output", str) and os.path.realpath(r["output"]) != os.path.realpath(out):
    print("report output %r" % r["output"])
if need("by_type", list):
    for t in r["by_type"]:
        if not all(isinstance(t.get(k), int) for k in ("count", "bytes_in", "bytes_out")) or not isinstance(t.get("type"), str):
            print("report by_type row malformed: %r" % t)
if need("images", dict):
    im = r["images"]
    if not (isinstance(im.get("total"), int) and isinstance(im.get("changed"), int) and 0 <= im["changed"] <= im["total"]):
        print("report images malformed: %r" % im)
if need("warnings", list):
    for w in r["warnings"]:
        if not isinstance(w, dict) or not isinstance(w.get("code"), str) or not w["code"]:
            print("report warning without a code: %r" % w)
    if expect == "warn" and not r["warnings"]:
        print("a lenient repair was expected, but the report has no warning")
    # The images of a conforming book are all decodable and encodable.
    if status.startswith("valid"):
        for w in r["warnings"]:
            if isinstance(w, dict) and w.get("code") in ("image-decode", "image-encode", "image-too-large"):
                print("image left unprocessed in a valid book: %s %s: %s" % (w["code"], w.get("context"), w.get("message")))
PY
}

for row in "${rows[@]}"; do
    file="${row%%$'\t'*}"
    status="${row#*$'\t'}"
    expect="$(qr_expected "$file" "$status")"
    slug="${file//\//_}"
    slug="${slug%.epub}"
    dir="$QR_TMP/$slug"
    mkdir -p "$dir/out" "$dir/work"
    reasons="$dir/reasons"
    : >"$reasons"
    in="$QR_CORPUS/$file"
    echo "$file" >"$dir/name"

    if [[ "$expect" == unknown ]]; then
        echo "no expectation for MANIFEST status '$status': add it to qr_expected in lib.sh" >>"$reasons"
        continue
    fi
    if [[ "$expect" == error:* ]]; then
        run_profiles=(tablet)
    else
        run_profiles=("${PROFILES[@]}")
    fi
    for profile in "${run_profiles[@]}"; do
        out="$dir/out/$profile.epub"
        args=(compress "$in" -o "$out" --json --work-dir "$dir/work")
        # The default profile is tablet: run it without --profile.
        if [[ "$profile" != tablet ]]; then
            args+=(--profile "$profile")
        fi
        run="$dir/$profile"
        qr_run "$run" "${args[@]}"
        crash="$(qr_crash "$run")"
        if [[ -n "$crash" ]]; then
            echo "[$profile] $crash" >>"$reasons"
            continue
        fi
        rc="$(qr_rc "$run")"
        if [[ "$expect" == error:* ]]; then
            qr_check_error "$run" "${expect#error:}" | sed "s/^/[$profile] /" >>"$reasons"
            left="$(qr_leftovers "$dir/out" | tr '\n' ' ')$(qr_leftovers "$dir/work" | tr '\n' ' ')"
            [[ -z "$left" ]] || echo "[$profile] failed but left files behind: $left" >>"$reasons"
            continue
        fi
        if [[ "$rc" != 0 ]]; then
            echo "[$profile] exit $rc, expected success; $(qr_error_ids "$run" | tr '\n' ' ')$(head -c 300 "$run.err" | tr '\n' ' ')" >>"$reasons"
            continue
        fi
        if [[ ! -f "$out" ]]; then
            echo "[$profile] exit 0 but no output file" >>"$reasons"
            continue
        fi
        left="$(qr_leftovers "$dir/out" "$profile.epub" tablet.epub lossless.epub | tr '\n' ' ')$(qr_leftovers "$dir/work" | tr '\n' ' ')"
        [[ -z "$left" ]] || echo "[$profile] temporary files left behind: $left" >>"$reasons"
        check_report "$run.out" "$in" "$out" "$profile" "$expect" "$status" | sed "s/^/[$profile] /" >>"$reasons"
        qr_compare_epub "$in" "$out" "$profile" | sed "s/^/[$profile] /" >>"$reasons"
        # epubcheck takes seconds per run: check a byte-identical output once.
        if [[ "$profile" == lossless && -f "$dir/out/tablet.epub" ]] && cmp -s "$out" "$dir/out/tablet.epub"; then
            echo "$dir/ec-tablet" >"$dir/ec-$profile.same"
        elif ((${#QR_EPUBCHECK[@]} > 0)); then
            printf '%s\n%s\n' "$out" "$dir/ec-$profile" >>"$jobs"
        fi
    done
done

echo "compress phase: ${SECONDS}s"
if [[ -n "$input_pid" ]]; then
    wait "$input_pid" || true
    echo "epubcheck of $(($(wc -l <"$input_jobs") / 2)) inputs done: ${SECONDS}s"
fi
if [[ -s "$jobs" ]]; then
    run_epubchecks 2 <"$jobs"
    echo "epubcheck of $(($(wc -l <"$jobs") / 2)) outputs done: ${SECONDS}s"
fi

for row in "${rows[@]}"; do
    file="${row%%$'\t'*}"
    slug="${file//\//_}"
    slug="${slug%.epub}"
    dir="$QR_TMP/$slug"
    reasons="$dir/reasons"
    if [[ -f "$dir/ec-input" ]] && grep -q 'did not complete' "$dir/ec-input.log"; then
        echo "epubcheck did not run to completion on the input: $(tail -n 2 "$dir/ec-input.log" | tr '\n' ' ')" >>"$reasons"
    elif [[ -f "$dir/ec-input" ]]; then
        for profile in "${PROFILES[@]}"; do
            ec="$dir/ec-$profile"
            [[ -f "$dir/out/$profile.epub" ]] || continue
            if [[ -f "$ec.same" ]]; then
                ec="$(cat "$ec.same")"
            fi
            if [[ ! -f "$ec" ]] || grep -q 'did not complete' "$ec.log"; then
                echo "[$profile] epubcheck did not run to completion: $(tail -n 2 "$ec.log" 2>/dev/null | tr '\n' ' ')" >>"$reasons"
                continue
            fi
            new="$(comm -13 "$dir/ec-input" "$ec" | tr '\n' ' ')"
            if [[ -n "$new" ]]; then
                echo "[$profile] epubcheck errors the input did not have: $new" >>"$reasons"
                grep -E '^(FATAL|ERROR)' "$ec.log" | head -n 3 | sed "s/^/[$profile]   /" >>"$reasons"
            fi
        done
    fi
    qr_verdict "$file ($(qr_expected "$file" "${row#*$'\t'}"))" "$reasons"
done
qr_summary
