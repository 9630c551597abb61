#!/usr/bin/env bash
# `quire compress` and `quire inspect` over every PDF of the shared corpus
# (MANIFEST.tsv: status and password columns).
#
# Valid PDFs: compress exits 0 under tablet and lossless, the output passes
# `qpdf --check` (exit 0, or 3 = warnings only), has the input's page count
# (`qpdf --show-npages`) and is at most a few bytes larger than the input;
# inspect --json exits 0 with format "pdf" and the same page count.
# Damaged PDFs: either exit 0 with warning pdf-repaired and a checked output,
# or a clean failure naming pdf-damaged or unsupported-format (bad-xref.pdf,
# whose defect qpdf 11.3 does not notice, may pass without a warning).
# Encrypted with a password: drm-protected (exit 3). Encrypted with an empty
# user password: exit 0, warning pdf-encrypted-empty-password, an output
# that is not encrypted. Never a crash, sanitizer report or hang.
# Skips (77) without the corpus or qpdf.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
qr_init corpus-pdf-compress
qr_corpus
command -v qpdf >/dev/null || qr_skip "qpdf is not installed (apt-get install qpdf)"

# has_warning REPORT CODE: true if the JSON report lists a warning with CODE.
has_warning() {
    python3 - "$1" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1], encoding="utf-8"))
sys.exit(0 if any(w.get("code") == sys.argv[2] for w in r.get("warnings", [])) else 1)
PY
}

# check_output IN OUT: problems with a compressed PDF, one per line.
check_output() {
    local in="$1" out="$2" st=0 want got
    [[ -s "$out" ]] || {
        echo "no output written"
        return
    }
    qpdf --check "$out" >/dev/null 2>&1 || st=$?
    [[ "$st" == 0 || "$st" == 3 ]] || echo "qpdf --check on the output exits $st"
    want="$(qpdf --show-npages "$in" 2>/dev/null || true)"
    got="$(qpdf --show-npages "$out" 2>/dev/null || true)"
    [[ -z "$want" || "$want" == "$got" ]] || echo "output has '$got' pages, input $want"
    qpdf --show-encryption "$out" 2>/dev/null | grep -q "File is not encrypted" ||
        echo "output is encrypted"
}

rows=()
mapfile -t rows < <(awk -F'\t' 'NR > 1 && $1 ~ /\.pdf$/ { print $1 "\t" $3 "\t" $8 }' \
    "$QR_CORPUS/MANIFEST.tsv")
((${#rows[@]} > 0)) || qr_die "no PDF rows in MANIFEST.tsv"
for row in "${rows[@]}"; do
    IFS=$'\t' read -r file status password <<<"$row"
    in="$QR_CORPUS/$file"
    [[ -f "$in" ]] || continue
    slug="${file//\//_}"
    slug="${slug%.pdf}"
    dir="$QR_TMP/$slug"
    mkdir -p "$dir"
    reasons="$dir/reasons"
    : >"$reasons"

    profiles=(tablet)
    [[ "$status" == valid* ]] && profiles+=(lossless)
    for profile in "${profiles[@]}"; do
        run="$dir/compress-$profile"
        out="$dir/out-$profile.pdf"
        qr_run "$run" compress "$in" -o "$out" --profile "$profile" --json
        crash="$(qr_crash "$run")"
        rc="$(qr_rc "$run")"
        if [[ -n "$crash" ]]; then
            echo "$profile: $crash" >>"$reasons"
            continue
        fi
        if [[ "$status" == encrypted && -n "$password" ]]; then
            qr_check_error "$run" drm-protected | sed "s/^/$profile: /" >>"$reasons"
            [[ ! -e "$out" ]] || echo "$profile: an output was written" >>"$reasons"
        elif [[ "$status" == encrypted ]]; then
            if [[ "$rc" != 0 ]]; then
                echo "$profile: exit $rc: $(head -c 300 "$run.err")" >>"$reasons"
                continue
            fi
            has_warning "$run.out" pdf-encrypted-empty-password ||
                echo "$profile: no pdf-encrypted-empty-password warning" >>"$reasons"
            check_output "$in" "$out" | sed "s/^/$profile: /" >>"$reasons"
        elif [[ "$status" == broken ]]; then
            if [[ "$rc" == 0 ]]; then
                if [[ "$file" != */bad-xref.pdf ]]; then
                    has_warning "$run.out" pdf-repaired ||
                        echo "$profile: exit 0 without a pdf-repaired warning" >>"$reasons"
                fi
                check_output "$in" "$out" | sed "s/^/$profile: /" >>"$reasons"
            else
                qr_check_error "$run" "pdf-damaged|unsupported-format" |
                    sed "s/^/$profile: /" >>"$reasons"
            fi
        else
            if [[ "$rc" != 0 ]]; then
                echo "$profile: exit $rc: $(head -c 300 "$run.err")" >>"$reasons"
                continue
            fi
            check_output "$in" "$out" | sed "s/^/$profile: /" >>"$reasons"
            insize="$(stat -c %s "$in")"
            outsize="$(stat -c %s "$out")"
            ((outsize <= insize + 16)) ||
                echo "$profile: output grew from $insize to $outsize bytes" >>"$reasons"
        fi
    done

    run="$dir/inspect"
    qr_run "$run" inspect "$in" --json
    crash="$(qr_crash "$run")"
    rc="$(qr_rc "$run")"
    if [[ -n "$crash" ]]; then
        echo "inspect: $crash" >>"$reasons"
    elif ! qr_json_valid "$run.out"; then
        echo "inspect: stdout is not one JSON document (exit $rc)" >>"$reasons"
    elif [[ "$status" == encrypted && -n "$password" ]]; then
        qr_check_error "$run" drm-protected | sed 's/^/inspect: /' >>"$reasons"
    elif [[ "$rc" == 0 ]]; then
        fmt="$(qr_json_get "$run.out" format)"
        [[ "$fmt" == pdf ]] || echo "inspect: format is '$fmt'" >>"$reasons"
        want="$(qpdf --show-npages "$in" 2>/dev/null || true)"
        got="$(qr_json_get "$run.out" pages)"
        [[ -z "$want" || "$want" == "$got" ]] ||
            echo "inspect: $got pages, qpdf says $want" >>"$reasons"
        if [[ "$status" == encrypted ]]; then
            has_warning "$run.out" pdf-encrypted-empty-password ||
                echo "inspect: no pdf-encrypted-empty-password warning" >>"$reasons"
        fi
    elif [[ "$status" == broken ]]; then
        qr_check_error "$run" "pdf-damaged|unsupported-format" | sed 's/^/inspect: /' >>"$reasons"
    else
        echo "inspect: exit $rc: $(head -c 300 "$run.err")" >>"$reasons"
    fi
    qr_verdict "$file" "$reasons"
done
qr_summary
