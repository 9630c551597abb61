#!/usr/bin/env bash
# Two kinds of publisher EPUB that reading systems open, built here at test
# time: a folder zipped instead of its contents (every entry under
# "Quirks Book/"), and file names that match their references only after
# Unicode NFC normalisation (the archive holds "Kapitel-über" decomposed while
# the OPF and nav write it precomposed, and "café-crème" the other way round),
# and both at once. Each goes through `quire process` (exit 0 with the
# archive-root-folder / href-nfc-mismatch warnings), `verify` and `unpack`
# (and `compress`, which repackages the same way):
# the unpacked EPUB is flat, keeps the archive's bytes for every name, has
# every text resource byte-identical, and its manifest's links name entries
# that are really there. epubcheck finds in it no error that the same book
# written flat and consistently (reference.epub, clean) or, for the names,
# the flat input itself does not have.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
qr_init epub-quirks
t="$QR_TMP"
export HOME="$t/home"
mkdir -p "$HOME"
unset QUIRE_KEY_FILE XDG_CONFIG_HOME
qr_epubcheck_find
if ((${#QR_EPUBCHECK[@]} == 0)); then
    [[ "${CI:-}" != true ]] || qr_die "epubcheck is not installed (scripts/setup.sh installs it)"
    echo "note: epubcheck not found; the epubcheck comparison is skipped"
fi
key="$t/service.key"
"$QUIRE_BIN" keys generate -o "$key" >/dev/null 2>&1 || qr_die "quire keys generate failed"

# The books: reference.epub (flat, names as referenced), folder.epub (the same
# under one folder), nfc.epub (names in the other Unicode form), both.epub.
python3 - "$t" <<'PY'
import sys, unicodedata, zipfile
out = sys.argv[1]
nfc = lambda s: unicodedata.normalize("NFC", s)
nfd = lambda s: unicodedata.normalize("NFD", s)
CH1, CH2 = "Kapitel-\u00fcber.xhtml", "caf\u00e9-cr\u00e8me.xhtml"

def files(kind):
    a1, a2, r1, r2 = CH1, CH2, CH1, CH2  # archive names, references
    if kind == "nfc":
        a1, r1 = nfd(CH1), nfc(CH1)  # stored decomposed, referenced precomposed
        a2, r2 = nfc(CH2), nfd(CH2)  # and the reverse
    opf = f'''<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="uid" xml:lang="de">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
    <dc:identifier id="uid">urn:uuid:5b0d7c2e-8a55-4f6e-9b8e-2f1c0f4f6a11</dc:identifier>
    <dc:title>Quirks</dc:title>
    <dc:language>de</dc:language>
    <meta property="dcterms:modified">2026-01-01T00:00:00Z</meta>
  </metadata>
  <manifest>
    <item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>
    <item id="c1" href="text/{r1}" media-type="application/xhtml+xml"/>
    <item id="c2" href="text/{r2}" media-type="application/xhtml+xml"/>
    <item id="css" href="style.css" media-type="text/css"/>
  </manifest>
  <spine><itemref idref="c1"/><itemref idref="c2"/></spine>
</package>
'''
    nav = f'''<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops" xml:lang="de" lang="de">
<head><title>Inhalt</title></head>
<body><nav epub:type="toc" id="toc"><h1>Inhalt</h1><ol>
<li><a href="text/{r1}">Kapitel</a></li>
<li><a href="text/{r2}">Caf&#233;</a></li>
</ol></nav></body></html>
'''
    def chap(title, other, para):
        body = "".join(f"<p>{para} {i}.</p>\n" for i in range(40))
        return f'''<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="de" lang="de">
<head><title>{title}</title><link rel="stylesheet" type="text/css" href="../style.css"/></head>
<body><h1>{title}</h1>
{body}<p><a href="{other}">weiter</a></p>
</body></html>
'''
    return [
        ("META-INF/container.xml", '''<?xml version="1.0" encoding="UTF-8"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles>
</container>
'''),
        ("OEBPS/content.opf", opf),
        ("OEBPS/nav.xhtml", nav),
        ("OEBPS/style.css", "body { margin: 1em; }\n"),
        ("OEBPS/text/" + a1, chap("\u00dcber", r2, "Ein Absatz \u00fcber das Kapitel")),
        ("OEBPS/text/" + a2, chap("Caf\u00e9", r1, "Ein Absatz im Caf\u00e9")),
    ]

def write(name, kind, prefix=""):
    """As `zip -r`: the folder's own entries first when there is a prefix."""
    with zipfile.ZipFile(f"{out}/{name}", "w") as z:
        done = set()
        def folders(path):
            parts = path.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                d = "/".join(parts[:i]) + "/"
                if d not in done:
                    done.add(d)
                    z.writestr(zipfile.ZipInfo(d), b"")
        if prefix:
            folders(prefix)
        z.writestr(zipfile.ZipInfo(prefix + "mimetype"), b"application/epub+zip",
                   compress_type=zipfile.ZIP_STORED)
        for path, text in files(kind):
            if prefix:
                folders(prefix + path)
            z.writestr(prefix + path, text.encode(), compress_type=zipfile.ZIP_DEFLATED)

write("reference.epub", "ref")
write("folder.epub", "ref", "Quirks Book/")
write("nfc.epub", "nfc")
write("both.epub", "nfc", "Quirks Book/")
PY

# check IN FLAT PKG OUT: the unpacked OUT against the input IN, whose entries
# (less the folder) must come out under the same bytes as in FLAT.
check() {
    python3 - "$@" <<'PY'
import json, os, sys, urllib.parse, zipfile
inp, flat, pkg, out = sys.argv[1:5]
prefix = "Quirks Book/" if "Quirks Book/mimetype" in zipfile.ZipFile(inp).namelist() else ""
zi, zf, zo = zipfile.ZipFile(inp), zipfile.ZipFile(flat), zipfile.ZipFile(out)
first = zo.infolist()[0]
if first.filename != "mimetype" or first.compress_type != zipfile.ZIP_STORED:
    print("the unpacked EPUB does not start with a stored mimetype")
want = {n for n in zf.namelist() if not n.endswith("/")}
got = set(zo.namelist())
for n in sorted(want - got):
    print("the unpacked EPUB lacks %r" % n)
for n in sorted(got - want):
    print("the unpacked EPUB has %r, which is not the archive's name" % n)
for info in zi.infolist():
    n = info.filename
    if n.endswith("/") or not n.startswith(prefix) or n[len(prefix):] == "mimetype":
        continue
    if n[len(prefix):] in got and zi.read(n) != zo.read(n[len(prefix):]):
        print("%r is not byte-identical after unpack" % n[len(prefix):])
m = json.load(open(os.path.join(pkg, "manifest.json")))
links = m.get("readingOrder", []) + m.get("toc", [])
if len(m.get("readingOrder", [])) != 2:
    print("readingOrder has %d documents, not 2" % len(m.get("readingOrder", [])))
for l in links:
    href = urllib.parse.unquote(l["href"].split("#")[0])
    if href not in got:
        print("manifest link %r names no entry of the book" % href)
PY
}

# warnings PREFIX CODE...: a reason for each CODE not among the --json warnings
# (href-nfc-mismatch: once for each of the two names).
warnings() {
    python3 - "$@" <<'PY'
import collections, json, sys
prefix, codes = sys.argv[1], sys.argv[2:]
doc = json.load(open(prefix + ".out"))
seen = collections.Counter(w.get("code") for w in doc.get("warnings", []))
for c in codes:
    want = 2 if c == "href-nfc-mismatch" else 1
    if seen[c] != want:
        print("warning %s recorded %d times, not %d" % (c, seen[c], want))
PY
}

ok() {
    local crash
    crash="$(qr_crash "$1")"
    if [[ -n "$crash" ]]; then
        echo "$crash"
    elif [[ "$(qr_rc "$1")" != 0 ]]; then
        echo "exit $(qr_rc "$1"): $(head -c 400 "$1.err" | tr '\n' ' ')"
    fi
}

ec() {
    ((${#QR_EPUBCHECK[@]} > 0)) || return 0
    qr_epubcheck "$1" "$2" || echo "epubcheck did not complete on $1: $(tail -n 2 "$2.log" | tr '\n' ' ')"
}

reasons=()
if ((${#QR_EPUBCHECK[@]} > 0)); then
    reasons+=("$(ec "$t/reference.epub" "$t/ec-reference")")
    reasons+=("$(ec "$t/nfc.epub" "$t/ec-nfc-input")")
    [[ ! -s "$t/ec-reference" ]] ||
        reasons+=("the reference book is not clean: $(tr '\n' ' ' <"$t/ec-reference")")
    ec "$t/folder.epub" "$t/ec-folder-input" >/dev/null
    grep -q 'RSC-002' "$t/ec-folder-input" ||
        reasons+=("epubcheck does not find the zipped folder broken ($(tr '\n' ' ' <"$t/ec-folder-input")): the test book is wrong")
fi
python3 - "$t/nfc.epub" <<'PY' || reasons+=("nfc.epub: its references match the archive's names as bytes: the test book is wrong")
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
opf = z.read("OEBPS/content.opf").decode()
names = [n[len("OEBPS/"):] for n in z.namelist() if n.startswith("OEBPS/text/")]
sys.exit(1 if any('href="%s"' % n in opf for n in names) else 0)
PY
qr_case "the test books" "${reasons[@]}"

for book in folder nfc both; do
    case $book in
    folder) flat=reference codes=(archive-root-folder) ;;
    nfc) flat=nfc codes=(href-nfc-mismatch) ;;
    both) flat=nfc codes=(archive-root-folder href-nfc-mismatch) ;;
    esac
    d="$t/$book"
    mkdir -p "$d"
    base="$t/ec-reference"
    [[ "$flat" == reference ]] || base="$t/ec-nfc-input"
    reasons=()
    qr_run "$d/process" process "$t/$book.epub" -o "$d/pkg" --key-file "$key" --json
    reasons+=("$(ok "$d/process")")
    if [[ "$(qr_rc "$d/process")" == 0 ]]; then
        reasons+=("$(warnings "$d/process" "${codes[@]}")")
        qr_run "$d/verify" verify "$d/pkg" --key-file "$key"
        reasons+=("$(ok "$d/verify")")
        qr_run "$d/unpack" unpack "$d/pkg" --key-file "$key" -o "$d/unpacked.epub"
        reasons+=("$(ok "$d/unpack")")
    fi
    if [[ -f "$d/unpacked.epub" ]]; then
        reasons+=("$(check "$t/$book.epub" "$t/$flat.epub" "$d/pkg" "$d/unpacked.epub" 2>&1)")
        if ((${#QR_EPUBCHECK[@]} > 0)); then
            reasons+=("$(ec "$d/unpacked.epub" "$d/ec")")
            new="$(comm -13 "$base" "$d/ec" | tr '\n' ' ')"
            [[ -z "$new" ]] || reasons+=("epubcheck errors the flat book does not have: $new")
        fi
    fi
    qr_case "$book.epub: process, verify, unpack, epubcheck" "${reasons[@]}"

    # compress repackages the same way: flat, the archive's names, no new epubcheck error.
    reasons=()
    qr_run "$d/compress" compress "$t/$book.epub" -o "$d/compressed.epub"
    reasons+=("$(ok "$d/compress")")
    if [[ -f "$d/compressed.epub" ]]; then
        reasons+=("$(python3 - "$t/$flat.epub" "$d/compressed.epub" <<'PY'
import sys, zipfile
want = {n for n in zipfile.ZipFile(sys.argv[1]).namelist() if not n.endswith("/")}
got = set(zipfile.ZipFile(sys.argv[2]).namelist())
if got != want:
    print("compressed entries differ from the flat book's: missing %r, extra %r" % (sorted(want - got), sorted(got - want)))
PY
)")
        if ((${#QR_EPUBCHECK[@]} > 0)); then
            reasons+=("$(ec "$d/compressed.epub" "$d/ec-compressed")")
            new="$(comm -13 "$base" "$d/ec-compressed" | tr '\n' ' ')"
            [[ -z "$new" ]] || reasons+=("epubcheck errors the flat book does not have: $new")
        fi
    fi
    qr_case "$book.epub: compress" "${reasons[@]}"
done
qr_summary
