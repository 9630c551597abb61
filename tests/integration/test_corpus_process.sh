#!/usr/bin/env bash
# `quire process`, `verify` and `unpack` over every EPUB of the shared corpus.
#
# Books quire opens (valid, as shipped, warning, edge, and the broken ones it
# repairs leniently): process -o DIR succeeds; verify passes; the manifest
# lists every archive entry but mimetype in exactly one slice, slices follow
# reading order (first positions never decrease, the slices holding
# reading-order documents tile the positions without gaps), positions.json
# is monotonic and agrees with the manifest; unpack gives an EPUB whose text
# resources are byte-identical to the input's and in which epubcheck finds
# no error the input did not have. Every manifest validates against the
# RWPM schemas with ajv.
#
# Books quire must refuse: a clean failure with the documented id, and no
# manifest written. Skips (77) without the corpus; runs epubcheck two at a time.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
qr_init corpus-process
qr_corpus
qr_epubcheck_find
if ((${#QR_EPUBCHECK[@]} == 0)); then
    [[ "${CI:-}" != true ]] || qr_die "epubcheck is not installed (scripts/setup.sh installs it)"
    echo "note: epubcheck not found; the epubcheck comparison is skipped"
fi
export HOME="$QR_TMP/home"
mkdir -p "$HOME"
unset QUIRE_KEY_FILE XDG_CONFIG_HOME
key="$QR_TMP/service.key"
"$QUIRE_BIN" keys generate -o "$key" >/dev/null 2>&1 || qr_die "quire keys generate failed"
# ASan and a 100 MB photo book: give process more than the default timeout.
QR_TIMEOUT=900

# check_package IN PKG OUT: the manifest, slices, positions and unpacked text.
check_package() {
    python3 - "$@" <<'PY'
import json, os, sys, urllib.parse, zipfile
inp, pkg, out = sys.argv[1:4]
m = json.load(open(os.path.join(pkg, "manifest.json")))
coll = m.get("urn:quire:slices") or {}
links = coll.get("links") or []
where = {}
ro = {l["href"] for l in m.get("readingOrder", [])}
last, prev_first = 0, 0
for i, l in enumerate(links):
    p = l.get("properties", {})
    if l.get("href") != "slices/%04d.qs" % i:
        print("slice %d has href %r" % (i, l.get("href")))
    f = os.path.join(pkg, l.get("href", ""))
    if not os.path.isfile(f) or os.path.getsize(f) != p.get("size"):
        print("slice %d: file missing or size differs from the manifest" % i)
    for r in p.get("resources", []):
        where.setdefault(urllib.parse.unquote(r), []).append(i)
    if "firstPosition" in p:
        first, lp = p["firstPosition"], p["lastPosition"]
        if first < prev_first or lp < first:
            print("slice %d: positions %d..%d out of order (previous first %d)" % (i, first, lp, prev_first))
        prev_first = first
        if any(r in ro for r in p.get("resources", [])):
            if first != last + 1:
                print("slice %d starts at position %d, the previous text slice ended at %d" % (i, first, last))
            last = lp
zi = zipfile.ZipFile(inp)
names = []
for info in zi.infolist():
    n = info.filename
    if n.endswith("/") or n == "mimetype":
        continue
    names.append(n)
for n in sorted(set(names)):
    k = len(where.get(n.replace("\\", "/"), []))
    if k != 1:
        print("%s is in %d slices" % (n, k))
pos = json.load(open(os.path.join(pkg, "positions.json")))
ps = [x["locations"]["position"] for x in pos.get("positions", [])]
if ps != list(range(1, len(ps) + 1)) or pos.get("total") != len(ps):
    print("positions.json is not 1..total in order")
if links and last and last != len(ps):
    print("text slices end at position %d, positions.json has %d" % (last, len(ps)))
pages = m["metadata"].get("numberOfPages")
if not isinstance(pages, int) or pages < 1:
    print("metadata.numberOfPages is %r" % pages)
zo = zipfile.ZipFile(out)
first = zo.infolist()[0]
if first.filename != "mimetype" or first.compress_type != zipfile.ZIP_STORED:
    print("unpacked EPUB does not start with a stored mimetype")
got = {i.filename for i in zo.infolist()}
def is_image(b):
    """Raster images (by content: names and media types lie) may be recompressed."""
    return b[:3] == b"\xff\xd8\xff" or b[:8] == b"\x89PNG\r\n\x1a\n" or b[:4] == b"GIF8" or (
        b[:4] == b"RIFF" and b[8:12] == b"WEBP")
seen = set()
for info in reversed(zi.infolist()):
    n = info.filename.replace("\\", "/")
    if info.filename.endswith("/") or n == "mimetype" or n in seen:
        continue
    seen.add(n)
    if n not in got:
        print("unpacked EPUB lacks %s" % n)
    elif not is_image(zi.read(info)) and zi.read(info) != zo.read(n):
        print("text resource %s is not byte-identical after unpack" % n)
PY
}

jobs="$QR_TMP/epubcheck.jobs"
: >"$jobs"
manifests=()
rows=()
mapfile -t rows < <(qr_manifest_epubs)
for row in "${rows[@]}"; do
    file="${row%%$'\t'*}"
    status="${row#*$'\t'}"
    expect="$(qr_expected "$file" "$status")"
    slug="${file//\//_}"
    slug="${slug%.epub}"
    dir="$QR_TMP/$slug"
    mkdir -p "$dir"
    reasons="$dir/reasons"
    : >"$reasons"
    in="$QR_CORPUS/$file"
    if [[ "$expect" == unknown ]]; then
        echo "no expectation for MANIFEST status '$status' (qr_expected in lib.sh)" >>"$reasons"
        continue
    fi
    qr_run "$dir/process" process "$in" -o "$dir/pkg" --key-file "$key" --json
    crash="$(qr_crash "$dir/process")"
    if [[ -n "$crash" ]]; then
        echo "process: $crash" >>"$reasons"
        continue
    fi
    if [[ "$expect" == error:* ]]; then
        qr_check_error "$dir/process" "${expect#error:}" >>"$reasons"
        [[ ! -e "$dir/pkg/manifest.json" ]] || echo "failed but wrote a manifest" >>"$reasons"
        continue
    fi
    if [[ "$(qr_rc "$dir/process")" != 0 ]]; then
        echo "process exit $(qr_rc "$dir/process"): $(qr_error_ids "$dir/process" | tr '\n' ' ')$(head -c 300 "$dir/process.err" | tr '\n' ' ')" >>"$reasons"
        continue
    fi
    manifests+=("$dir/pkg/manifest.json")
    qr_run "$dir/verify" verify "$dir/pkg" --key-file "$key"
    [[ "$(qr_rc "$dir/verify")" == 0 ]] || echo "verify exit $(qr_rc "$dir/verify"): $(head -c 300 "$dir/verify.err" | tr '\n' ' ')" >>"$reasons"
    qr_run "$dir/unpack" unpack "$dir/pkg" --key-file "$key" -o "$dir/unpacked.epub"
    if [[ "$(qr_rc "$dir/unpack")" != 0 || ! -f "$dir/unpacked.epub" ]]; then
        echo "unpack exit $(qr_rc "$dir/unpack"): $(head -c 300 "$dir/unpack.err" | tr '\n' ' ')" >>"$reasons"
        continue
    fi
    check_package "$in" "$dir/pkg" "$dir/unpacked.epub" >>"$reasons" 2>&1 ||
        echo "package check crashed" >>"$reasons"
    if ((${#QR_EPUBCHECK[@]} > 0)); then
        printf '%s\n%s\n%s\n%s\n' "$in" "$dir/ec-input" "$dir/unpacked.epub" "$dir/ec-unpacked" >>"$jobs"
    fi
done

echo "process phase: ${SECONDS}s"
if [[ -s "$jobs" ]]; then
    echo "running $(($(wc -l <"$jobs") / 2)) epubcheck jobs, 2 at a time"
    export QR_TMP
    lib="$(dirname "${BASH_SOURCE[0]}")/lib.sh"
    # Failures are looked at per book below (a missing id file or an incomplete log).
    # shellcheck disable=SC2016
    xargs -d '\n' -n 2 -P 2 bash -c 'source "$0"; qr_epubcheck_find; qr_epubcheck "$1" "$2" || true' \
        "$lib" <"$jobs"
    echo "epubcheck phase: ${SECONDS}s"
fi

# The schema validator: one node run over every manifest.
ajv_out="$QR_TMP/ajv.out"
qr_validate_manifests "$ajv_out" "${manifests[@]+"${manifests[@]}"}"

for row in "${rows[@]}"; do
    file="${row%%$'\t'*}"
    slug="${file//\//_}"
    slug="${slug%.epub}"
    dir="$QR_TMP/$slug"
    reasons="$dir/reasons"
    if [[ -f "$dir/ec-input" && -f "$dir/ec-unpacked" ]]; then
        new="$(comm -13 "$dir/ec-input" "$dir/ec-unpacked" | tr '\n' ' ')"
        if [[ -n "$new" ]]; then
            echo "epubcheck errors the input did not have: $new" >>"$reasons"
            grep -E '^(FATAL|ERROR)' "$dir/ec-unpacked.log" | head -n 3 | sed 's/^/  /' >>"$reasons"
        fi
    elif [[ -f "$dir/unpacked.epub" ]] && ((${#QR_EPUBCHECK[@]} > 0)); then
        echo "epubcheck did not run to completion: $(tail -n 2 "$dir/ec-unpacked.log" 2>/dev/null | tr '\n' ' ')" >>"$reasons"
    fi
    if [[ -s "$ajv_out" ]]; then
        grep -F "$dir/pkg/manifest.json: " "$ajv_out" | grep -v ': valid$' >>"$reasons" || true
    fi
    qr_verdict "$file ($(qr_expected "$file" "${row#*$'\t'}"))" "$reasons"
done
qr_summary
