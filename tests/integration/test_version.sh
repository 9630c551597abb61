#!/usr/bin/env bash
# quire version: the run-time version of every native library it loaded,
# cross-checked against the versions of the same libraries pkg-config reports
# on this machine (the build and the run share them here); --json carries the
# minimum of each; --check passes; quire --version stays one line.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
qr_init version
command -v pkg-config >/dev/null || qr_skip "pkg-config not installed"
t="$QR_TMP"
trap qr_cleanup EXIT

qr_run "$t/v" version --json
reasons=()
[[ "$(qr_rc "$t/v")" == 0 ]] || reasons+=("exit $(qr_rc "$t/v"): $(cat "$t/v.err")")
# library name in quire version -> pkg-config module
pairs="libvips:vips qpdf:libqpdf libcurl:libcurl libzip:libzip libxml2:libxml-2.0 libsodium:libsodium libcrypto:libcrypto jansson:jansson libmicrohttpd:libmicrohttpd hiredis:hiredis"
for p in $pairs; do
    name="${p%%:*}" mod="${p#*:}"
    want="$(pkg-config --modversion "$mod")"
    got="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["libraries"][sys.argv[2]]["version"])' "$t/v.out" "$name")"
    # hiredis reports the version in its loaded file's name (0.14 for 0.14.1; trixie's 1.2.0
    # ships libhiredis.so.1.1.0): the same major version is what can be checked.
    if [[ "$name" == hiredis ]]; then
        [[ "${want%%.*}" == "${got%%.*}" ]] || reasons+=("$name: quire says $got, pkg-config $mod says $want")
    else
        [[ "$want" == "$got" || "$want" == "$got".* ]] || reasons+=("$name: quire says $got, pkg-config $mod says $want")
    fi
done
python3 - "$t/v.out" >"$t/v.check" <<'PY' || reasons+=("$(cat "$t/v.check")")
import json, sys
v = json.load(open(sys.argv[1]))
bad = [n for n, l in v["libraries"].items() if l["minimum"] is not None and not l["ok"]]
if not v["version"] or not v["commit"] or "libmicrohttpd" not in v["libraries"] or "libsystemd" in v["libraries"] or bad:
    print("unexpected version report: %r" % v)
    sys.exit(1)
PY
qr_case "version --json names every library at its run-time version" "${reasons[@]}"

reasons=()
qr_run "$t/c" version --check
[[ "$(qr_rc "$t/c")" == 0 ]] || reasons+=("--check exit $(qr_rc "$t/c"): $(cat "$t/c.err")")
grep -qE '^  libvips +[0-9.]+ +needs >= [0-9.]+$' "$t/c.out" || reasons+=("no libvips line: $(cat "$t/c.out")")
[[ "$("$QUIRE_BIN" --version)" == "quire "* ]] || reasons+=("--version is '$("$QUIRE_BIN" --version)'")
qr_case "version --check passes; --version is one line" "${reasons[@]}"
qr_summary
