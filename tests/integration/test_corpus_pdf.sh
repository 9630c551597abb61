#!/usr/bin/env bash
# `quire process`, `verify` and `unpack` over every PDF of the shared corpus.
#
# PDFs quire must deliver (valid, as shipped, and the one encrypted with an
# empty user password): process -o DIR succeeds (the empty-password file with
# a warning); verify passes; unpack --slices-dir leaves slice PDFs that all
# pass `qpdf --check` (exit 0, or 3 = warnings only) and one PDF with the
# input's page count (`qpdf --show-npages`) whose text, page by page
# (`pdftotext -layout`, pages split at form feeds), equals the input's;
# positions.json has one position per page and numberOfPages is the page
# count; the slices' page ranges tile the document; every manifest validates
# against the RWPM schemas with ajv (as test_corpus_process.sh does).
#
# Slices carry only what their pages need: together they are at most 1.5x (+64 KiB) what
# `qpdf --empty --pages IN a-b --` (which drops unreferenced resources) writes for the same
# ranges. Slices are sized toward the 256 KiB default target: one of more than one page is at
# most 4x the target. Files listed in known_oversized fail that last check for a known
# reason; the test says so, and fails if one of them passes (so the list is kept true).
#
# Damaged files: a success (then the same package checks, without the text
# comparison) or a clean failure naming pdf-damaged or unsupported-format.
# Password-protected files: drm-protected. Never a crash, a sanitizer report
# or a hang (every run has a timeout). Skips (77) without the corpus or qpdf.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
qr_init corpus-pdf
qr_corpus
for tool in qpdf pdftotext; do
    command -v "$tool" >/dev/null || qr_skip "$tool is not installed (apt-get install qpdf poppler-utils)"
done
export HOME="$QR_TMP/home"
mkdir -p "$HOME"
unset QUIRE_KEY_FILE XDG_CONFIG_HOME
key="$QR_TMP/service.key"
"$QUIRE_BIN" keys generate -o "$key" >/dev/null 2>&1 || qr_die "quire keys generate failed"
# ASan and a 10 MB manual: give process more than the default timeout.
QR_TIMEOUT=600

# Files whose multi-page slices are known to pass 4x the target (none now: massxpert-manual,
# whose pages share one /Resources naming every image, is estimated per page as it is split).
known_oversized=()
OVERSIZED="pages is over 4x the target"

# pdf_expected FILE STATUS: what quire must do with a corpus PDF.
#   ok       exit 0, full checks including the text
#   warn     exit 0 with at least one warning, full checks
#   lenient  exit 0 (package checks, no text comparison) or error pdf-damaged|unsupported-format
#   error:A|B
pdf_expected() {
    local file="$1" status="$2"
    case "$(basename "$file" .pdf)" in
    not-a-pdf-5-bytes) echo "error:unsupported-format|pdf-damaged" ;;
    encrypted-aes128-empty-password) echo "warn" ;;
    *)
        case "$status" in
        valid* | "as shipped") echo "ok" ;;
        encrypted) echo "error:drm-protected" ;;
        broken) echo "lenient" ;;
        *) echo "unknown" ;;
        esac
        ;;
    esac
}

# check_package IN PKG OUT SLICES TEXT: manifest, positions, slices and (TEXT=1) page text.
check_package() {
    python3 - "$@" <<'PY'
import json, os, subprocess, sys
inp, pkg, out, slices, text = sys.argv[1:6]

def npages(path):
    r = subprocess.run(["qpdf", "--show-npages", path], capture_output=True, text=True)
    if r.returncode not in (0, 3):
        return None
    try:
        return int(r.stdout.strip())
    except ValueError:
        return None

m = json.load(open(os.path.join(pkg, "manifest.json")))
md = m.get("metadata", {})
want = npages(inp)
pages = md.get("numberOfPages")
if md.get("conformsTo") != "https://readium.org/webpub-manifest/profiles/pdf":
    print("conformsTo is %r" % md.get("conformsTo"))
ro = m.get("readingOrder", [])
if len(ro) != 1 or ro[0].get("type") != "application/pdf" or "#" in ro[0].get("href", "#"):
    print("readingOrder is not one application/pdf link without a fragment: %r" % ro)
if want is not None and pages != want:
    print("numberOfPages %r, qpdf --show-npages says %d" % (pages, want))
pos = json.load(open(os.path.join(pkg, "positions.json")))
ps = [x["locations"]["position"] for x in pos.get("positions", [])]
if ps != list(range(1, len(ps) + 1)) or pos.get("total") != len(ps) or len(ps) != pages:
    print("positions.json: %d positions, total %r, numberOfPages %r" % (len(ps), pos.get("total"), pages))
links = m.get("urn:quire:slices", {}).get("links", [])
last = 0
quire_bytes = ref_bytes = 0
for i, l in enumerate(links):
    p = l.get("properties", {})
    if l.get("href") != "slices/%04d.qs" % i:
        print("slice %d has href %r" % (i, l.get("href")))
    if p.get("firstPage") != last + 1 or p.get("lastPage", 0) < p.get("firstPage", 1):
        print("slice %d: pages %r-%r after page %d" % (i, p.get("firstPage"), p.get("lastPage"), last))
    if p.get("firstPosition") != p.get("firstPage") or p.get("lastPosition") != p.get("lastPage"):
        print("slice %d: positions differ from pages" % i)
    last = p.get("lastPage", last)
    if p.get("lastPage", 0) > p.get("firstPage", 0) and p.get("plainLength", 0) > 4 * 262144:
        print("slice %d of %d pages is over 4x the target: %d bytes" % (
            i, p["lastPage"] - p["firstPage"] + 1, p["plainLength"]))
    f = os.path.join(slices, "%04d.pdf" % i)
    if not os.path.isfile(f):
        print("unpack --slices-dir left no %s" % os.path.basename(f))
        continue
    r = subprocess.run(["qpdf", "--check", f], capture_output=True, text=True)
    if r.returncode not in (0, 3):
        print("qpdf --check %04d.pdf exit %d: %s" % (i, r.returncode, (r.stdout + r.stderr).strip().splitlines()[-1:]))
    n = npages(f)
    if n != p.get("lastPage", 0) - p.get("firstPage", 0) + 1:
        print("slice %d has %r pages, the manifest says %r-%r" % (i, n, p.get("firstPage"), p.get("lastPage")))
    ref = os.path.join(os.path.dirname(out), "ref.pdf")
    r = subprocess.run(["qpdf", "--empty", "--pages", inp, "%s-%s" % (p.get("firstPage"), p.get("lastPage")), "--", ref],
                       capture_output=True)
    if r.returncode in (0, 3) and os.path.isfile(ref):
        quire_bytes += os.path.getsize(f)
        ref_bytes += os.path.getsize(ref)
if last != pages:
    print("slices end at page %d, numberOfPages is %r" % (last, pages))
if ref_bytes and quire_bytes > 1.5 * ref_bytes + 65536:
    print("slices carry objects their pages do not use: %d bytes of slice PDFs, qpdf --pages writes %d for the same ranges"
          % (quire_bytes, ref_bytes))
got = npages(out)
if got != want:
    print("unpacked PDF has %r pages, the input %r" % (got, want))
if text == "1" and got == want:
    def pages_text(path):
        r = subprocess.run(["pdftotext", "-layout", path, "-"], capture_output=True)
        return r.returncode, r.stdout.split(b"\f")
    rc_in, a = pages_text(inp)
    rc_out, b = pages_text(out)
    if rc_in == 0 and rc_out != 0:
        print("pdftotext fails on the unpacked PDF (exit %d)" % rc_out)
    elif rc_in == 0:
        for k, (x, y) in enumerate(zip(a, b)):
            if x != y:
                print("page %d: text differs (%d bytes in, %d out): %r vs %r" % (k + 1, len(x), len(y), x[:80], y[:80]))
                break
        else:
            if len(a) != len(b):
                print("pdftotext gives %d pages in, %d out" % (len(a), len(b)))
PY
}

# warnings FILE: the number of warnings in a --json report.
warnings() {
    python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1])).get("warnings", [])))' "$1" 2>/dev/null || echo 0
}

rows=()
while IFS=$'\t' read -r file _ status _; do
    [[ "$file" == pdf/* && -f "$QR_CORPUS/$file" ]] || continue
    if [[ -n "${QR_CORPUS_ONLY:-}" ]] && ! [[ "$file" =~ $QR_CORPUS_ONLY ]]; then
        continue
    fi
    rows+=("$file"$'\t'"$status")
done < <(tail -n +2 "$QR_CORPUS/MANIFEST.tsv")
((${#rows[@]} > 0)) || qr_skip "no PDF rows in $QR_CORPUS/MANIFEST.tsv"

manifests=()
for row in "${rows[@]}"; do
    file="${row%%$'\t'*}"
    status="${row#*$'\t'}"
    expect="$(pdf_expected "$file" "$status")"
    slug="${file//\//_}"
    slug="${slug%.pdf}"
    dir="$QR_TMP/$slug"
    mkdir -p "$dir"
    reasons="$dir/reasons"
    : >"$reasons"
    in="$QR_CORPUS/$file"
    if [[ "$expect" == unknown ]]; then
        echo "no expectation for MANIFEST status '$status'" >>"$reasons"
        continue
    fi
    qr_run "$dir/process" process "$in" -o "$dir/pkg" --key-file "$key" --json --work-dir "$dir"
    crash="$(qr_crash "$dir/process")"
    if [[ -n "$crash" ]]; then
        echo "process: $crash" >>"$reasons"
        continue
    fi
    rc="$(qr_rc "$dir/process")"
    if [[ "$expect" == error:* || ("$expect" == lenient && "$rc" != 0) ]]; then
        want="${expect#error:}"
        [[ "$expect" != lenient ]] || want="pdf-damaged|unsupported-format"
        qr_check_error "$dir/process" "$want" >>"$reasons"
        [[ ! -e "$dir/pkg/manifest.json" ]] || echo "failed but wrote a manifest" >>"$reasons"
        continue
    fi
    if [[ "$rc" != 0 ]]; then
        echo "process exit $rc: $(qr_error_ids "$dir/process" | tr '\n' ' ')$(head -c 300 "$dir/process.err" | tr '\n' ' ')" >>"$reasons"
        continue
    fi
    if [[ "$expect" == warn && "$(warnings "$dir/process.out")" == 0 ]]; then
        echo "succeeded without a warning" >>"$reasons"
    fi
    manifests+=("$dir/pkg/manifest.json")
    qr_run "$dir/verify" verify "$dir/pkg" --key-file "$key" --work-dir "$dir"
    crash="$(qr_crash "$dir/verify")"
    [[ -z "$crash" ]] || echo "verify: $crash" >>"$reasons"
    [[ "$(qr_rc "$dir/verify")" == 0 ]] || echo "verify exit $(qr_rc "$dir/verify"): $(head -c 300 "$dir/verify.err" | tr '\n' ' ')" >>"$reasons"
    qr_run "$dir/unpack" unpack "$dir/pkg" --key-file "$key" -o "$dir/unpacked.pdf" \
        --slices-dir "$dir/slices" --work-dir "$dir"
    crash="$(qr_crash "$dir/unpack")"
    [[ -z "$crash" ]] || echo "unpack: $crash" >>"$reasons"
    if [[ "$(qr_rc "$dir/unpack")" != 0 || ! -f "$dir/unpacked.pdf" ]]; then
        echo "unpack exit $(qr_rc "$dir/unpack"): $(head -c 300 "$dir/unpack.err" | tr '\n' ' ')" >>"$reasons"
        continue
    fi
    text=1
    [[ "$expect" != lenient ]] || text=0
    check_package "$in" "$dir/pkg" "$dir/unpacked.pdf" "$dir/slices" "$text" >"$dir/check" 2>&1 ||
        echo "package check crashed" >>"$reasons"
    known=0
    for k in "${known_oversized[@]}"; do [[ "$k" != "$file" ]] || known=1; done
    if ((known)); then
        if grep -qF "$OVERSIZED" "$dir/check"; then
            echo "note: $file: known: $(grep -F "$OVERSIZED" "$dir/check" | head -n 1)"
        else
            echo "$file is in known_oversized but no slice is oversized: remove it from the list" >>"$reasons"
        fi
        grep -vF "$OVERSIZED" "$dir/check" >>"$reasons" || true
    else
        cat "$dir/check" >>"$reasons"
    fi
    # Work directories are private and removed: nothing but our own files is left beside them.
    left="$(find "$dir" -maxdepth 1 -name 'quire-*' | head -n 3 | tr '\n' ' ')"
    [[ -z "$left" ]] || echo "work directories left behind: $left" >>"$reasons"
done
echo "process phase: ${SECONDS}s"

# The schema validator: one node run over every manifest.
ajv_out="$QR_TMP/ajv.out"
qr_validate_manifests "$ajv_out" "${manifests[@]+"${manifests[@]}"}"

for row in "${rows[@]}"; do
    file="${row%%$'\t'*}"
    slug="${file//\//_}"
    slug="${slug%.pdf}"
    dir="$QR_TMP/$slug"
    if [[ -s "$ajv_out" && -f "$dir/pkg/manifest.json" ]]; then
        grep -F "$dir/pkg/manifest.json: " "$ajv_out" | grep -v ': valid$' >>"$dir/reasons" || true
        grep -qxF "$dir/pkg/manifest.json: valid" "$ajv_out" ||
            echo "ajv did not report the manifest valid" >>"$dir/reasons"
    fi
    qr_verdict "$file ($(pdf_expected "$file" "${row#*$'\t'}"))" "$dir/reasons"
done
qr_summary
