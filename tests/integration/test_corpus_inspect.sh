#!/usr/bin/env bash
# `quire inspect --json` over every EPUB of the shared corpus (MANIFEST.tsv).
#
# For every book: exits as `quire compress` would (0 for books quire opens,
# the same documented error id and status for the ones it refuses, the same
# table as test_corpus_compress.sh), prints one valid JSON document, and
# writes nothing: no file in its working directory or TMPDIR, the book and
# its folder untouched. A few books get their facts checked (title, spine
# length, fixed layout, obfuscated fonts, DRM, repair warnings).
#
# Skips (77) when the corpus is absent.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
qr_init corpus-inspect
qr_corpus

# facts FILE REPORT: book-specific checks on the JSON report; prints problems.
facts() {
    python3 - "$@" <<'PY'
import json, sys
name = sys.argv[1].rsplit("/", 1)[-1][:-len(".epub")]
r = json.load(open(sys.argv[2], encoding="utf-8"))
problems = []
def want(path, expected):
    v = r
    for k in path.split("."):
        if not isinstance(v, dict) or k not in v:
            problems.append("%s missing (expected %r)" % (path, expected))
            return
        v = v[k]
    if v != expected:
        problems.append("%s is %r, expected %r" % (path, v, expected))
def fonts(n, obf):
    f = r.get("fonts")
    if not isinstance(f, list) or len(f) != n or any(x.get("obfuscation") != obf for x in f):
        problems.append("expected %d fonts obfuscated %r, got %r" % (n, obf, f))
def warning(code):
    codes = [w.get("code") for w in r.get("warnings", [])]
    if code not in codes:
        problems.append("expected warning %s, got %r" % (code, codes))
if "error" not in r:
    want("format", "epub")
if name == "moby-dick":
    want("title", "Moby-Dick")
    want("spine.items", 144)
    want("version", "3.0")
    want("drm", "none")
    fonts(4, "none")
    want("cover", "OPS/images/9780316000000.jpg")
elif name == "wasteland-otf-obf":
    fonts(3, "idpf")
    want("identifier", "code.google.com.epub-samples.wasteland-otf-obfuscated")
    want("drm", "none")
elif name == "font-obfuscated-valid":
    fonts(1, "idpf")
elif name == "haruko-html-jpeg":
    want("layout", "fixed")
    want("page_progression", "rtl")
    want("spine.items", 13)
elif name == "regime-anticancer-arabic":
    want("page_progression", "rtl")
elif name == "debian-policy":
    warning("mimetype-not-first")
elif name == "mimetype-missing":
    warning("mimetype-missing")
elif name == "epub2-minimal":
    want("version", "2.0")
    want("navigation.ncx", True)
    want("navigation.nav", False)
elif name == "calibre-quick-start-eng":
    want("navigation.nav", False)
    want("navigation.ncx", True)
elif name == "encryption-unknown-algorithm":
    want("drm", "protected")
for p in problems:
    print(p)
PY
}

# snapshot FILE: what inspect must not change about a book and its folder.
snapshot() {
    local d
    d="$(dirname "$1")"
    stat -c '%n %s %Y %Z' "$1" "$d"
    ls -A "$d"
}

rows=()
mapfile -t rows < <(qr_manifest_epubs)
for row in "${rows[@]}"; do
    file="${row%%$'\t'*}"
    status="${row#*$'\t'}"
    expect="$(qr_expected "$file" "$status")"
    slug="${file//\//_}"
    slug="${slug%.epub}"
    dir="$QR_TMP/$slug"
    mkdir -p "$dir/cwd" "$dir/tmp"
    reasons="$dir/reasons"
    : >"$reasons"
    in="$QR_CORPUS/$file"
    run="$dir/inspect"

    before="$(snapshot "$in")"
    (cd "$dir/cwd" && TMPDIR="$dir/tmp" qr_run "$run" inspect "$in" --json)
    after="$(snapshot "$in")"
    [[ "$before" == "$after" ]] || echo "the book or its folder changed" >>"$reasons"
    left="$(qr_leftovers "$dir/cwd") $(qr_leftovers "$dir/tmp")"
    [[ -z "${left// /}" ]] || echo "inspect wrote files: $left" >>"$reasons"

    crash="$(qr_crash "$run")"
    rc="$(qr_rc "$run")"
    if [[ -n "$crash" ]]; then
        echo "$crash" >>"$reasons"
    elif ! qr_json_valid "$run.out"; then
        echo "stdout is not one valid JSON document (exit $rc): $(head -c 200 "$run.out")" >>"$reasons"
    elif [[ "$expect" == error:* ]]; then
        qr_check_error "$run" "${expect#error:}" >>"$reasons"
    elif [[ "$expect" == ok || "$expect" == warn ]]; then
        if [[ "$rc" != 0 ]]; then
            echo "exit $rc, expected 0 (compress succeeds on this book); $(qr_error_ids "$run" | tr '\n' ' ')" >>"$reasons"
        fi
        if qr_json_get "$run.out" error.id >/dev/null 2>&1; then
            echo "report has an error: $(qr_json_get "$run.out" error)" >>"$reasons"
        fi
        if [[ "$expect" == warn && "$(qr_json_get "$run.out" warnings)" == "[]" ]]; then
            echo "a lenient repair was expected, but the report has no warning" >>"$reasons"
        fi
        facts "$file" "$run.out" >>"$reasons"
    else
        echo "no expectation for MANIFEST status '$status': add it to qr_expected in lib.sh" >>"$reasons"
    fi
    if [[ "$expect" == error:* && -z "$crash" ]] && qr_json_valid "$run.out"; then
        facts "$file" "$run.out" >>"$reasons"
    fi
    qr_verdict "$file ($expect)" "$reasons"
done
qr_summary
