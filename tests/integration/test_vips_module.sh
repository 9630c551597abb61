#!/usr/bin/env bash
# libvips lives in quire-vips.so, loaded on the first image (docs/internals/vipsmod.md):
# the binary does not link it; the module exports its table only; a PDF without images never
# loads it (it processes even when the module is missing); an EPUB with images loads it once;
# a missing or foreign module fails the book with one clear internal error, and
# `quire version --check` fails.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
qr_init vips_module
command -v readelf >/dev/null || qr_skip "readelf (binutils) not installed"
t="$QR_TMP"
trap qr_cleanup EXIT
module="$(dirname "$QUIRE_BIN")/quire-vips.so"
export QUIRE_KEY_FILE="$t/keys.json"
"$QUIRE_BIN" keys generate -o "$QUIRE_KEY_FILE" >/dev/null 2>&1 || qr_die "keys generate failed"

reasons=()
needed="$(readelf -d "$QUIRE_BIN" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')"
[[ "$needed" == *libvips* ]] && reasons+=("the binary links libvips: $needed")
[[ "$needed" == *libsodium* ]] || reasons+=("readelf saw no libsodium either: $needed")
[[ -f "$module" ]] || reasons+=("no module at $module")
exports="$(readelf --dyn-syms -W "$module" 2>/dev/null | awk '$5 == "GLOBAL" && $7 != "UND" {print $8}' | sort -u | tr '\n' ' ')"
[[ "$exports" == "qr_vipsmod_table " ]] || reasons+=("the module exports '$exports', want only qr_vipsmod_table")
mneeded="$(readelf -d "$module" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')"
[[ "$mneeded" == *libvips* ]] || reasons+=("the module does not link libvips: $mneeded")
qr_case "quire does not link libvips; quire-vips.so does, and exports its table only" "${reasons[@]}"

# A two-page PDF with text only.
python3 "$(dirname "${BASH_SOURCE[0]}")/../tools/text_pdf.py" "$t/text.pdf"

reasons=()
QUIRE_LOG_LEVEL=debug qr_run "$t/pdf" process "$t/text.pdf" -o "$t/pdf.pkg" --slice-pages 1 -q
[[ "$(qr_rc "$t/pdf")" == 0 ]] || reasons+=("text PDF: exit $(qr_rc "$t/pdf"): $(tail -n 3 "$t/pdf.err")")
[[ -f "$t/pdf.pkg/manifest.json" ]] || reasons+=("text PDF: no manifest.json")
grep -q 'quire-vips.so' "$t/pdf.err" && reasons+=("the module was loaded for a PDF without images")
QUIRE_VIPS_MODULE="$t/missing/quire-vips.so" qr_run "$t/pdf2" process "$t/text.pdf" -o "$t/pdf2.pkg" --slice-pages 1 -q
[[ "$(qr_rc "$t/pdf2")" == 0 && -f "$t/pdf2.pkg/manifest.json" ]] ||
    reasons+=("text PDF with the module missing: exit $(qr_rc "$t/pdf2"): $(tail -n 3 "$t/pdf2.err")")
qr_case "a PDF without images never loads libvips, and processes without the module" "${reasons[@]}"

reasons=()
qr_run "$t/sample" sample-book "$t/book.epub" --chapters 3 --images 2
[[ "$(qr_rc "$t/sample")" == 0 ]] || qr_die "sample-book failed: $(tail -n 3 "$t/sample.err")"
QUIRE_LOG_LEVEL=debug qr_run "$t/epub" process "$t/book.epub" -o "$t/epub.pkg" -q
[[ "$(qr_rc "$t/epub")" == 0 ]] || reasons+=("EPUB: exit $(qr_rc "$t/epub"): $(tail -n 3 "$t/epub.err")")
n="$(grep -c '"msg":"loaded .*/quire-vips.so (libvips [0-9.]*)"' "$t/epub.err" || true)"
[[ "$n" == 1 ]] || reasons+=("the module was loaded $n times for one EPUB, want 1")
qr_case "an EPUB with images loads the module once and processes" "${reasons[@]}"

reasons=()
for what in missing foreign; do
    case "$what" in
    missing) m="$t/missing/quire-vips.so" want="cannot load the libvips module $m" ;;
    foreign) # a real shared library, not quire's: zlib
        m="$(find /lib /usr/lib -name 'libz.so.1.*' -type f | head -n 1)"
        want="has no qr_vipsmod_table: not a quire module" ;;
    esac
    QUIRE_VIPS_MODULE="$m" qr_run "$t/$what" process "$t/book.epub" -o "$t/$what.pkg" -q
    rc="$(qr_rc "$t/$what")"
    [[ "$rc" != 0 ]] || reasons+=("$what module: the EPUB processed anyway")
    grep -qF "$want" "$t/$what.err" || reasons+=("$what module: no '$want' in: $(tail -n 3 "$t/$what.err")")
    grep -q '"msg":"internal: ' "$t/$what.err" || reasons+=("$what module: not an internal error: $(tail -n 2 "$t/$what.err")")
    [[ -e "$t/$what.pkg/manifest.json" ]] && reasons+=("$what module: a package was published")
    QUIRE_VIPS_MODULE="$m" qr_run "$t/$what.v" version --check
    [[ "$(qr_rc "$t/$what.v")" == 1 ]] || reasons+=("$what module: version --check exit $(qr_rc "$t/$what.v")")
    grep -qE '^  libvips +unavailable +needs >= [0-9.]+  NOT LOADED$' "$t/$what.v.out" ||
        reasons+=("$what module: version says $(grep libvips "$t/$what.v.out")")
done
qr_case "a missing or foreign module fails the book with one internal error; version --check fails" "${reasons[@]}"
qr_summary
