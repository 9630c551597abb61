#!/usr/bin/env bash
# `quire process`, `quire verify` and `quire unpack` on the generated sample
# book. Needs no corpus.
#
# The first run needs no key set-up: with no --key-file and no
# QUIRE_KEY_FILE, quire creates a per-user development key (mode 0600) and
# names it on stderr. -o DIR writes a package directory; --store DIR
# publishes under books/<book_id>/<revision>/, and re-running the same job
# writes nothing. verify passes; unpack gives back every entry with text
# byte-identical to the input. Damage gives its own id and exit status: a
# flipped byte, a truncated, swapped or missing slice, an edited manifest, a
# wrong key file. The manifest validates against the RWPM schemas with ajv
# (installed by scripts/setup.sh; skipped when node is absent, required in CI).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
qr_init process

t="$QR_TMP"
export HOME="$t/home"
mkdir -p "$HOME"
unset QUIRE_KEY_FILE XDG_CONFIG_HOME

# ok PREFIX: a reason unless the run at PREFIX exited 0 cleanly.
ok() {
    local crash
    crash="$(qr_crash "$1")"
    if [[ -n "$crash" ]]; then
        echo "$crash"
    elif [[ "$(qr_rc "$1")" != 0 ]]; then
        echo "exit $(qr_rc "$1"): $(head -c 400 "$1.err" | tr '\n' ' ')"
    fi
}

# texts_identical IN OUT: prints every non-image entry of IN that OUT lacks or changed.
texts_identical() {
    python3 - "$1" "$2" <<'PY'
import sys, zipfile
a, b = zipfile.ZipFile(sys.argv[1]), zipfile.ZipFile(sys.argv[2])
names = {i.filename for i in b.infolist()}
if b.infolist()[0].filename != "mimetype" or b.infolist()[0].compress_type != zipfile.ZIP_STORED:
    print("mimetype is not the first, stored entry")
for i in a.infolist():
    if i.filename.endswith("/"):
        continue
    if i.filename not in names:
        print("entry lost: " + i.filename)
    else:
        x = a.read(i)
        image = x[:3] == b"\xff\xd8\xff" or x[:8] == b"\x89PNG\r\n\x1a\n"
        if not image and x != b.read(i.filename):
            print("text changed: " + i.filename)
PY
}

book="$t/sample.epub"
qr_run "$t/sample" sample-book "$book" --chapters 8 --images 6 --size 900x700
[[ "$(qr_rc "$t/sample")" == 0 ]] || qr_die "sample-book failed: $(cat "$t/sample.err")"

# ---- first run: development key, package directory --------------------------
pkg="$t/pkg"
qr_run "$t/p1" process "$book" -o "$pkg" --json
devkey="$HOME/.config/quire/dev-keys.json"
reasons=("$(ok "$t/p1")")
[[ -f "$devkey" ]] || reasons+=("no development key at $devkey")
[[ -f "$devkey" && "$(stat -c %a "$devkey")" == 600 ]] || reasons+=("development key is not mode 600")
grep -qF "$devkey" "$t/p1.err" || reasons+=("stderr does not name the development key")
for f in manifest.json manifest.json.sig key.json positions.json cover.jpg slices/0000.qs; do
    [[ -f "$pkg/$f" ]] || reasons+=("package lacks $f")
done
qr_json_valid "$t/p1.out" || reasons+=("--json output is not JSON")
nslices="$(qr_json_get "$t/p1.out" slices 2>/dev/null || echo 0)"
[[ "$nslices" == "$(find "$pkg/slices" -name '*.qs' | wc -l)" ]] || reasons+=("report says $nslices slices")
for k in compress positions slice encrypt publish total; do
    qr_json_get "$t/p1.out" "seconds.$k" >/dev/null 2>&1 || reasons+=("report lacks seconds.$k")
done
qr_case "process -o DIR with a development key" "${reasons[@]}"

qr_run "$t/v1" verify "$pkg"
reasons=("$(ok "$t/v1")")
grep -q OK "$t/v1.out" || reasons+=("verify printed no OK")
qr_case "verify the package" "${reasons[@]}"

qr_run "$t/u1" unpack "$pkg" -o "$t/unpacked.epub"
reasons=("$(ok "$t/u1")")
if [[ -f "$t/unpacked.epub" ]]; then
    reasons+=("$(texts_identical "$book" "$t/unpacked.epub")")
    reasons+=("$(qr_compare_epub "$book" "$t/unpacked.epub" tablet)")
else
    reasons+=("no unpacked EPUB")
fi
qr_case "unpack gives back the book" "${reasons[@]}"

# ---- a store: layout and idempotent re-runs --------------------------------
store="$t/store"
qr_run "$t/s1" process "$book" --store "$store" --book-id sample --json
reasons=("$(ok "$t/s1")")
rev="$(qr_json_get "$t/s1.out" revision 2>/dev/null || true)"
dir="$store/books/sample/$rev"
[[ -n "$rev" && -f "$dir/manifest.json" ]] || reasons+=("no manifest under books/sample/<revision>")
qr_case "process --store publishes under books/<id>/<revision>/" "${reasons[@]}"

stamp="$(find "$store" -type f -printf '%p %T@\n' | sort)"
qr_run "$t/s2" process "$book" --store "$store" --book-id sample --json
reasons=("$(ok "$t/s2")")
[[ "$(qr_json_get "$t/s2.out" already_published 2>/dev/null)" == true ]] || reasons+=("re-run did not report already_published")
[[ "$(qr_json_get "$t/s2.out" revision 2>/dev/null)" == "$rev" ]] || reasons+=("re-run chose another revision")
[[ "$(find "$store" -type f -printf '%p %T@\n' | sort)" == "$stamp" ]] || reasons+=("re-run rewrote objects")
qr_case "re-running the same job writes nothing" "${reasons[@]}"

rm -f "$dir/slices/0001.qs"
qr_run "$t/s3" process "$book" --store "$store" --book-id sample --json
reasons=("$(ok "$t/s3")")
[[ "$(qr_json_get "$t/s3.out" already_published 2>/dev/null)" == false ]] || reasons+=("damaged package reported as published")
qr_run "$t/v3" verify "$store" --prefix "books/sample/$rev"
reasons+=("$(ok "$t/v3")")
qr_case "a damaged package is rewritten on re-run" "${reasons[@]}"

# ---- tampering -------------------------------------------------------------
# check_id PREFIX ID STATUS: qr_check_error, with the exit status given here
# (lib.sh's qr_id_exit maps no status for the QR_EAUTH/QR_ECRYPTO classes).
check_id() {
    qr_check_error "$1" "$2" | grep -v "docs/errors.md says ?" || true
    [[ "$(qr_rc "$1")" == "$3" ]] || echo "exit status $(qr_rc "$1"), expected $3 for $2"
}

# tamper NAME ID CONTEXT SETUP...: copies the package, runs SETUP in it, then
# checks verify and unpack fail with ID naming CONTEXT and unpack writes nothing.
tamper() {
    local name="$1" id="$2" ctx="$3" status=8
    shift 3
    [[ "$id" != slice-missing ]] || status=6
    local d="$t/tamper-${name// /-}"
    rm -rf "$d"
    cp -r "$pkg" "$d"
    (cd "$d" && "$@")
    qr_run "$d.verify" verify "$d"
    qr_run "$d.unpack" unpack "$d" -o "$d.epub"
    local reasons=()
    reasons+=("$(check_id "$d.verify" "$id" "$status")")
    reasons+=("$(check_id "$d.unpack" "$id" "$status" | sed 's/^/unpack: /')")
    grep -qF "$ctx" "$d.verify.err" || reasons+=("error does not name $ctx: $(head -c 300 "$d.verify.err")")
    [[ ! -e "$d.epub" ]] || reasons+=("unpack wrote an EPUB from a damaged package")
    qr_case "tamper: $name -> $id" "${reasons[@]}"
}
# The SETUP commands below are called through tamper's "$@".
# shellcheck disable=SC2317
flip() {
    python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[len(b)//2]^=1; open(p,"wb").write(b)' "$1"
}
# shellcheck disable=SC2317
truncate_by() {
    truncate -s "-$2" "$1"
}
# shellcheck disable=SC2317
edit_manifest() {
    python3 -c 'import json; m=json.load(open("manifest.json")); m["metadata"]["title"]="Edited"; json.dump(m, open("manifest.json","w"))'
}
other_key() {
    "$QUIRE_BIN" keys generate -o "$t/other.key" >/dev/null 2>&1 || true
}
tamper "flipped byte" slice-hash-mismatch slices/0001.qs flip slices/0001.qs
tamper "truncated slice" slice-hash-mismatch slices/0002.qs truncate_by slices/0002.qs 64
tamper "swapped slices" slice-hash-mismatch slices/0001.qs cp slices/0002.qs slices/0001.qs
tamper "missing slice" slice-missing slices/0001.qs rm slices/0001.qs
tamper "edited manifest" manifest-signature-invalid manifest.json edit_manifest
tamper "missing signature" manifest-signature-invalid manifest.json.sig rm manifest.json.sig
qr_run "$t/sample2" sample-book "$t/other.epub" --chapters 4 --images 2 --size 400x300 --seed 7
qr_run "$t/p2" process "$t/other.epub" -o "$t/pkg2" --slice-kb 16
cp "$t/pkg2/slices/0001.qs" "$t/other-book-slice.qs" || true
tamper "slice of another book" slice-hash-mismatch slices/0001.qs cp "$t/other-book-slice.qs" slices/0001.qs
other_key
if [[ -f "$t/other.key" ]]; then
    qr_run "$t/wk" verify "$pkg" --key-file "$t/other.key"
    reasons=("$(check_id "$t/wk" wrong-key 8)")
    grep -qF key.json "$t/wk.err" || reasons+=("error does not name key.json")
    qr_case "tamper: wrong key file -> wrong-key" "${reasons[@]}"
else
    qr_fail "tamper: wrong key file" "quire keys generate failed"
fi

# ---- usage errors ----------------------------------------------------------
qr_run "$t/use1" process "$book"
qr_run "$t/use2" process "$book" -o "$t/x" --store "$t/y"
qr_run "$t/use3" verify "$t/does-not-exist"
reasons=()
[[ "$(qr_rc "$t/use1")" == 2 ]] || reasons+=("no -o/--store: exit $(qr_rc "$t/use1")")
[[ "$(qr_rc "$t/use2")" == 2 ]] || reasons+=("both -o and --store: exit $(qr_rc "$t/use2")")
reasons+=("$(qr_check_error "$t/use3" source-not-found)")
qr_case "usage errors" "${reasons[@]}"

# ---- the manifest against the RWPM schemas ---------------------------------
if ! command -v node >/dev/null; then
    [[ "${CI:-}" != true ]] || qr_die "node is required in CI"
    echo "note: node not found; manifest schema validation skipped"
else
    schema="$(qr_npm_dir tests/manifest-schema ajv-formats/package.json)" || exit 1
    python3 - "$pkg/manifest.json" "$t/broken.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
del m["readingOrder"][0]["type"]
json.dump(m, open(sys.argv[2], "w"))
PY
    reasons=()
    QR_SHARED_DIR="${QR_SHARED_DIR:-$QR_SRCDIR/../shared}" node "$schema/validate.js" \
        "$pkg/manifest.json" "$dir/manifest.json" >"$t/ajv.out" 2>&1 ||
        reasons+=("$(cat "$t/ajv.out")")
    # The validator must be able to fail: a readingOrder link without a type.
    if QR_SHARED_DIR="${QR_SHARED_DIR:-$QR_SRCDIR/../shared}" node "$schema/validate.js" \
        "$t/broken.json" >"$t/ajv-broken.out" 2>&1; then
        reasons+=("the validator accepted a readingOrder link without a type")
    fi
    qr_case "manifests validate against the RWPM schemas (ajv)" "${reasons[@]}"
fi
qr_summary
