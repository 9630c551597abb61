#!/usr/bin/env bash
# libcurl, libzip, libxml2 and libcrypto are loaded on first use, not linked
# (docs/internals/dlmod.md): the binary needs none of them (nor libsystemd) and exports none of
# their names; a PDF into a local store maps none of them (the dynamic linker's own trace says
# so), libcrypto excepted on a processor without the SHA extensions, where SHA-256 runs through
# it; a book fetched over http maps libcurl once, an EPUB maps libzip and libxml2 once;
# `quire version` loads them all; a library that cannot be loaded ($QUIRE_LIBCURL,
# $QUIRE_LIBZIP, $QUIRE_LIBXML2) fails what needs it with one internal error, and only that: the
# PDF still processes; without libcrypto ($QUIRE_LIBCRYPTO) SHA-256 falls back to libsodium.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
qr_init dlmod
command -v readelf >/dev/null || qr_skip "readelf (binutils) not installed"
python3 -c 'import http.server' 2>/dev/null || qr_skip "python3 with http.server not installed"
t="$QR_TMP"
export QUIRE_KEY_FILE="$t/keys.json"
"$QUIRE_BIN" keys generate -o "$QUIRE_KEY_FILE" >/dev/null 2>&1 || qr_die "keys generate failed"
unset QUIRE_NET_ALLOW QUIRE_NET_ALLOW_HTTP QUIRE_LIBCURL QUIRE_LIBZIP QUIRE_LIBXML2 QUIRE_LIBCRYPTO
# SHA-256 runs on the SHA extensions where the processor has them, else through libcrypto.
sha_ni=0
grep -qw sha_ni /proc/cpuinfo 2>/dev/null && sha_ni=1

reasons=()
needed="$(readelf -d "$QUIRE_BIN" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')"
for lib in libcurl libzip libxml2 libcrypto libsystemd; do
    [[ "$needed" == *"$lib"* ]] && reasons+=("the binary links $lib: $needed")
done
[[ "$needed" == *libqpdf* ]] || reasons+=("readelf saw no libqpdf either: $needed")
exported="$(readelf --dyn-syms -W "$QUIRE_BIN" |
    awk '$7 != "UND" && $8 ~ /^(curl_|zip_|xml|html|__xml|SHA256_|OpenSSL_)/ {print $8}' | tr '\n' ' ')"
[[ -z "$exported" ]] || reasons+=("the binary exports their names: $exported")
qr_case "quire links neither libcurl, libzip, libxml2, libcrypto nor libsystemd, and exports none of their names" \
    "${reasons[@]}"

python3 "$(dirname "${BASH_SOURCE[0]}")/../tools/text_pdf.py" "$t/text.pdf"
mkdir -p "$t/www"
cp "$t/text.pdf" "$t/www/book.pdf"
qr_run "$t/sample" sample-book "$t/book.epub" --chapters 2 --images 1
[[ "$(qr_rc "$t/sample")" == 0 ]] || qr_die "sample-book failed: $(tail -n 3 "$t/sample.err")"
HPORT="$(qr_free_port)"
python3 -m http.server "$HPORT" --bind 127.0.0.1 --directory "$t/www" >"$t/http.log" 2>&1 &
hpid=$!
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
    kill "$hpid" 2>/dev/null || true
    qr_cleanup
}
trap cleanup EXIT
# shellcheck disable=SC2317  # called through qr_wait_for
port_up() { bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
qr_wait_for 10 port_up "$HPORT" || qr_die "http.server did not start: $(tail -n 5 "$t/http.log")"

# maps PREFIX LIB: how many times the dynamic linker mapped LIB (a file name prefix, "libzip.so")
# in that run; in some runs the libvips module's own libraries are the ones that map it.
maps() { grep -cE "file=${2//./\\.}[.0-9]* .*generating link map" "$1.err" || true; }
# last PREFIX: the run's last lines that are not the linker's trace.
last() { grep -v 'file=\|^ *[0-9]*:' "$1.err" | tail -n 3; }

reasons=()
LD_DEBUG=files qr_run "$t/local" process "$t/text.pdf" -o "$t/local.pkg" --slice-pages 1 -q
[[ "$(qr_rc "$t/local")" == 0 && -f "$t/local.pkg/manifest.json" ]] ||
    reasons+=("local PDF: exit $(qr_rc "$t/local"): $(last "$t/local")")
for lib in libcurl.so libzip.so libxml2.so; do
    n="$(maps "$t/local" "$lib")"
    [[ "$n" == 0 ]] || reasons+=("$lib was mapped $n times for a PDF into a local store")
done
grep -q 'file=libqpdf' "$t/local.err" || reasons+=("LD_DEBUG=files traced nothing (no libqpdf line)")
n="$(maps "$t/local" libcrypto.so)"
[[ "$n" == $((1 - sha_ni)) ]] ||
    reasons+=("libcrypto was mapped $n times for a PDF into a local store (SHA-NI: $sha_ni)")
qr_case "a PDF into a local store maps neither libcurl, libzip nor libxml2 (nor libcrypto with SHA-NI)" \
    "${reasons[@]}"

reasons=()
LD_DEBUG=files QUIRE_LOG_LEVEL=debug QUIRE_NET_ALLOW=127.0.0.1/32 QUIRE_NET_ALLOW_HTTP=1 \
    qr_run "$t/remote" process "http://127.0.0.1:$HPORT/book.pdf" -o "$t/remote.pkg" --slice-pages 1 -q
[[ "$(qr_rc "$t/remote")" == 0 && -f "$t/remote.pkg/manifest.json" ]] ||
    reasons+=("http source: exit $(qr_rc "$t/remote"): $(last "$t/remote")")
n="$(maps "$t/remote" libcurl.so)"
[[ "$n" == 1 ]] || reasons+=("libcurl was mapped $n times for one http source, want 1")
grep -q '"msg":"loaded libcurl\.so\.4 (libcurl\.so\.4)"' "$t/remote.err" ||
    reasons+=("no 'loaded libcurl.so.4 (libcurl.so.4)' debug line")
qr_case "an http source maps libcurl once and processes" "${reasons[@]}"

reasons=()
LD_DEBUG=files QUIRE_LOG_LEVEL=debug qr_run "$t/epub" process "$t/book.epub" -o "$t/epub.pkg" -q
[[ "$(qr_rc "$t/epub")" == 0 && -f "$t/epub.pkg/manifest.json" ]] ||
    reasons+=("EPUB: exit $(qr_rc "$t/epub"): $(last "$t/epub")")
for lib in libzip.so libxml2.so; do
    n="$(maps "$t/epub" "$lib")"
    [[ "$n" == 1 ]] || reasons+=("$lib was mapped $n times for one EPUB, want 1")
done
grep -q '"msg":"loaded libzip\.so\.[0-9]* (libzip\.so\.[0-9]*)"' "$t/epub.err" ||
    reasons+=("no 'loaded libzip.so.N' debug line")
qr_run "$t/verify" verify "$t/epub.pkg"
[[ "$(qr_rc "$t/verify")" == 0 ]] || reasons+=("verify: exit $(qr_rc "$t/verify"): $(tail -n 2 "$t/verify.err")")
qr_case "an EPUB maps libzip and libxml2 once, processes and verifies" "${reasons[@]}"

reasons=()
LD_DEBUG=files qr_run "$t/ver" version
for lib in libcurl libzip libxml2 libcrypto; do
    grep -qE "^  $lib +[0-9]+\.[0-9]+" "$t/ver.out" || reasons+=("version says $(grep "$lib" "$t/ver.out")")
done
qr_case "quire version loads them and reports their versions" "${reasons[@]}"

missing="$t/missing/lib.so"
reasons=()
QUIRE_LIBCURL="$missing" QUIRE_NET_ALLOW=127.0.0.1/32 QUIRE_NET_ALLOW_HTTP=1 \
    qr_run "$t/r2" process "http://127.0.0.1:$HPORT/book.pdf" -o "$t/r2.pkg" -q
want="internal: cannot load libcurl.so.4 ($missing)"
[[ "$(qr_rc "$t/r2")" != 0 ]] || reasons+=("http source without libcurl: exit 0")
grep -qF "$want" "$t/r2.err" || reasons+=("http source: no '$want' in: $(tail -n 3 "$t/r2.err")")
[[ -e "$t/r2.pkg/manifest.json" ]] && reasons+=("http source: a package was published")
QUIRE_LIBCURL="$missing" qr_run "$t/w2" worker --redis "redis://127.0.0.1:$(qr_free_port)" --queues q
[[ "$(qr_rc "$t/w2")" != 0 ]] || reasons+=("worker without libcurl: exit 0")
grep -qF "$want" "$t/w2.err" || reasons+=("worker: no '$want' in: $(tail -n 3 "$t/w2.err")")
for v in LIBZIP:libzip LIBXML2:libxml2; do
    var="QUIRE_${v%%:*}" lib="${v#*:}"
    env "$var=$missing" "$QUIRE_BIN" process "$t/book.epub" -o "$t/e-$lib.pkg" -q \
        >"$t/e-$lib.out" 2>"$t/e-$lib.err" </dev/null && reasons+=("EPUB without $lib: exit 0")
    grep -qE "internal: cannot load $lib\.so\.[0-9]+ \($missing\)" "$t/e-$lib.err" ||
        reasons+=("EPUB without $lib: $(tail -n 2 "$t/e-$lib.err")")
    [[ -e "$t/e-$lib.pkg/manifest.json" ]] && reasons+=("EPUB without $lib: a package was published")
    env "$var=$missing" "$QUIRE_BIN" version --check >"$t/v-$lib.out" 2>&1 && reasons+=("version --check without $lib: exit 0")
    grep -qE "^  $lib +unavailable +needs >= [0-9.]+  NOT LOADED$" "$t/v-$lib.out" ||
        reasons+=("version without $lib says: $(grep "$lib" "$t/v-$lib.out" | head -n 1)")
done
QUIRE_LIBCURL="$missing" QUIRE_LIBZIP="$missing" QUIRE_LIBXML2="$missing" \
    qr_run "$t/l2" process "$t/text.pdf" -o "$t/l2.pkg" --slice-pages 1 -q
[[ "$(qr_rc "$t/l2")" == 0 && -f "$t/l2.pkg/manifest.json" ]] ||
    reasons+=("PDF without the three: exit $(qr_rc "$t/l2"): $(tail -n 3 "$t/l2.err")")
qr_case "a library that cannot be loaded fails what needs it with one internal error; a PDF processes" \
    "${reasons[@]}"

reasons=()
QUIRE_LIBCRYPTO="$missing" qr_run "$t/c2" process "$t/text.pdf" -o "$t/c2.pkg" --slice-pages 1 -q
[[ "$(qr_rc "$t/c2")" == 0 && -f "$t/c2.pkg/manifest.json" ]] ||
    reasons+=("PDF without libcrypto: exit $(qr_rc "$t/c2"): $(tail -n 3 "$t/c2.err")")
qr_run "$t/c2v" verify "$t/c2.pkg"
[[ "$(qr_rc "$t/c2v")" == 0 ]] || reasons+=("verify: exit $(qr_rc "$t/c2v"): $(tail -n 2 "$t/c2v.err")")
if [[ "$sha_ni" == 0 ]]; then
    grep -qF "cannot load libcrypto.so.3 ($missing)" "$t/c2.err" ||
        reasons+=("no warning that libcrypto could not be loaded: $(tail -n 3 "$t/c2.err")")
fi
QUIRE_LIBCRYPTO="$missing" "$QUIRE_BIN" version --check >"$t/v-crypto.out" 2>&1 &&
    reasons+=("version --check without libcrypto: exit 0")
grep -qE "^  libcrypto +unavailable +needs >= [0-9.]+  NOT LOADED$" "$t/v-crypto.out" ||
    reasons+=("version without libcrypto says: $(grep libcrypto "$t/v-crypto.out" | head -n 1)")
qr_case "without libcrypto SHA-256 falls back: the PDF processes and verifies; version --check fails" \
    "${reasons[@]}"
qr_summary
