#!/usr/bin/env bash
# libcurl is loaded on the first request, not linked (docs/internals/curlmod.md): the binary
# needs neither libcurl nor libsystemd and exports none of its curl functions; a local book into
# a local store never loads libcurl (the dynamic linker's own trace says so); a book fetched over
# http loads it once and processes; the worker and `quire version` load it at start; a libcurl
# that cannot be loaded ($QUIRE_LIBCURL) fails what needs it with one internal error, and only
# that: the local book still processes.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
qr_init curl_load
command -v readelf >/dev/null || qr_skip "readelf (binutils) not installed"
python3 -c 'import http.server' 2>/dev/null || qr_skip "python3 with http.server not installed"
t="$QR_TMP"
export QUIRE_KEY_FILE="$t/keys.json"
"$QUIRE_BIN" keys generate -o "$QUIRE_KEY_FILE" >/dev/null 2>&1 || qr_die "keys generate failed"
unset QUIRE_NET_ALLOW QUIRE_NET_ALLOW_HTTP QUIRE_LIBCURL

reasons=()
needed="$(readelf -d "$QUIRE_BIN" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')"
[[ "$needed" == *libcurl* ]] && reasons+=("the binary links libcurl: $needed")
[[ "$needed" == *libsystemd* ]] && reasons+=("the binary links libsystemd: $needed")
[[ "$needed" == *libqpdf* ]] || reasons+=("readelf saw no libqpdf either: $needed")
exported="$(readelf --dyn-syms -W "$QUIRE_BIN" | awk '$7 != "UND" && $8 ~ /^curl_/ {print $8}' | tr '\n' ' ')"
[[ -z "$exported" ]] || reasons+=("the binary exports libcurl's names: $exported")
qr_case "quire links neither libcurl nor libsystemd, and exports no curl_ function" "${reasons[@]}"

python3 "$(dirname "${BASH_SOURCE[0]}")/../tools/text_pdf.py" "$t/text.pdf"
mkdir -p "$t/www"
cp "$t/text.pdf" "$t/www/book.pdf"
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

# loads PREFIX: how many times the dynamic linker mapped libcurl.so.4 in that run (in
# `quire version` the libvips module's own libraries may be the ones that map it).
loads() { grep -c 'file=libcurl\.so\.4 .*generating link map' "$1.err" || true; }

reasons=()
LD_DEBUG=files QUIRE_LOG_LEVEL=debug qr_run "$t/local" process "$t/text.pdf" -o "$t/local.pkg" --slice-pages 1 -q
[[ "$(qr_rc "$t/local")" == 0 && -f "$t/local.pkg/manifest.json" ]] ||
    reasons+=("local PDF: exit $(qr_rc "$t/local"): $(grep -v 'file=\|^ *[0-9]*: *$' "$t/local.err" | tail -n 3)")
n="$(loads "$t/local")"
[[ "$n" == 0 ]] || reasons+=("libcurl was opened $n times for a local book into a local store")
grep -q 'file=libqpdf' "$t/local.err" || reasons+=("LD_DEBUG=files traced nothing (no libqpdf line)")
qr_case "a local PDF into a local store never loads libcurl" "${reasons[@]}"

reasons=()
LD_DEBUG=files QUIRE_LOG_LEVEL=debug QUIRE_NET_ALLOW=127.0.0.1/32 QUIRE_NET_ALLOW_HTTP=1 \
    qr_run "$t/remote" process "http://127.0.0.1:$HPORT/book.pdf" -o "$t/remote.pkg" --slice-pages 1 -q
[[ "$(qr_rc "$t/remote")" == 0 && -f "$t/remote.pkg/manifest.json" ]] ||
    reasons+=("http source: exit $(qr_rc "$t/remote"): $(grep -v 'file=\|^ *[0-9]*: *$' "$t/remote.err" | tail -n 3)")
n="$(loads "$t/remote")"
[[ "$n" == 1 ]] || reasons+=("libcurl was opened $n times for one http source, want 1")
grep -q '"msg":"loaded libcurl\.so\.4 (libcurl [0-9.]*)"' "$t/remote.err" ||
    reasons+=("no 'loaded libcurl.so.4 (libcurl X)' debug line")
qr_case "an http source loads libcurl once and processes" "${reasons[@]}"

reasons=()
LD_DEBUG=files qr_run "$t/ver" version
n="$(loads "$t/ver")"
[[ "$n" == 1 ]] || reasons+=("quire version opened libcurl $n times, want 1")
grep -qE '^  libcurl +[0-9]+\.[0-9]+' "$t/ver.out" || reasons+=("version says $(grep libcurl "$t/ver.out")")
qr_case "quire version loads libcurl and reports its version" "${reasons[@]}"

missing="$t/missing/libcurl.so.4"
want="internal: cannot load libcurl ($missing)"
reasons=()
QUIRE_LIBCURL="$missing" QUIRE_NET_ALLOW=127.0.0.1/32 QUIRE_NET_ALLOW_HTTP=1 \
    qr_run "$t/r2" process "http://127.0.0.1:$HPORT/book.pdf" -o "$t/r2.pkg" -q
[[ "$(qr_rc "$t/r2")" != 0 ]] || reasons+=("http source without libcurl: exit 0")
grep -qF "$want" "$t/r2.err" || reasons+=("http source: no '$want' in: $(tail -n 3 "$t/r2.err")")
[[ -e "$t/r2.pkg/manifest.json" ]] && reasons+=("http source: a package was published")
QUIRE_LIBCURL="$missing" qr_run "$t/l2" process "$t/text.pdf" -o "$t/l2.pkg" --slice-pages 1 -q
[[ "$(qr_rc "$t/l2")" == 0 && -f "$t/l2.pkg/manifest.json" ]] ||
    reasons+=("local PDF without libcurl: exit $(qr_rc "$t/l2"): $(tail -n 3 "$t/l2.err")")
QUIRE_LIBCURL="$missing" qr_run "$t/v2" version --check
[[ "$(qr_rc "$t/v2")" == 1 ]] || reasons+=("version --check without libcurl: exit $(qr_rc "$t/v2")")
grep -qE '^  libcurl +unavailable +needs >= [0-9.]+  NOT LOADED$' "$t/v2.out" ||
    reasons+=("version without libcurl says: $(grep libcurl "$t/v2.out")")
QUIRE_LIBCURL="$missing" qr_run "$t/w2" worker --redis "redis://127.0.0.1:$(qr_free_port)" --queues q
[[ "$(qr_rc "$t/w2")" != 0 ]] || reasons+=("worker without libcurl: exit 0")
grep -qF "$want" "$t/w2.err" || reasons+=("worker: no '$want' in: $(tail -n 3 "$t/w2.err")")
qr_case "without libcurl: requests, the worker and version --check fail with one internal error; a local book processes" \
    "${reasons[@]}"
qr_summary
