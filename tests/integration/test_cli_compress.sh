#!/usr/bin/env bash
# `quire compress` and `quire inspect` on books made at test time: the
# generated sample book (`quire sample-book`) and small hostile EPUBs written
# with python3's zipfile. Needs no corpus.
#
# Profiles: tablet and phone make the book smaller and bound the long edge
# of every image; lossless keeps every pixel. The --json report matches the
# file written. Usage errors, a missing input, an unwritable output and
# input == output fail cleanly. Hostile books (path traversal, absolute
# names, a zip bomb, too many entries, DRM, billion laughs, XXE) end with
# their documented id and exit status, leave no output behind and leak
# nothing of /etc/passwd.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
qr_init cli-compress

t="$QR_TMP"
work="$t/work"
mkdir -p "$work"

# no_crash PREFIX: the crash reason of a run, if any.
no_crash() {
    qr_crash "$1"
}

# ---- the sample books --------------------------------------------------------

qr_run "$t/sample" sample-book "$t/s.epub"
qr_run "$t/small" sample-book "$t/small.epub" --images 4 --size 640x480 --seed 7
if [[ "$(qr_rc "$t/sample")" != 0 || "$(qr_rc "$t/small")" != 0 ]]; then
    qr_fail "sample-book" "exit $(qr_rc "$t/sample")/$(qr_rc "$t/small"): $(head -c 400 "$t/sample.err" "$t/small.err")"
    qr_summary
fi

# ---- --help and usage errors -------------------------------------------------

for cmd in compress inspect; do
    qr_run "$t/help-$cmd" "$cmd" --help
    r=()
    [[ "$(qr_rc "$t/help-$cmd")" == 0 ]] || r+=("exit $(qr_rc "$t/help-$cmd")")
    grep -q "usage: quire $cmd" "$t/help-$cmd.out" || r+=("no usage line on stdout")
    qr_case "$cmd --help exits 0 with usage" "${r[@]}"
done

qr_run "$t/badprofile" compress "$t/s.epub" -o "$t/bad.epub" --profile nosuch
r=("$(no_crash "$t/badprofile")")
[[ "$(qr_rc "$t/badprofile")" == 2 ]] || r+=("exit $(qr_rc "$t/badprofile"), expected 2")
[[ ! -e "$t/bad.epub" ]] || r+=("wrote $t/bad.epub")
qr_case "compress --profile nosuch exits 2" "${r[@]}"

qr_run "$t/noout" compress "$t/s.epub"
r=("$(no_crash "$t/noout")")
[[ "$(qr_rc "$t/noout")" == 2 ]] || r+=("exit $(qr_rc "$t/noout"), expected 2")
qr_case "compress without -o exits 2" "${r[@]}"

# ---- profiles on the sample book -----------------------------------------------

in_size="$(stat -c %s "$t/s.epub")"
for profile in tablet phone lossless; do
    out="$t/s-$profile.epub"
    run="$t/s-$profile"
    qr_run "$run" compress "$t/s.epub" -o "$out" --profile "$profile" --json --work-dir "$work"
    r=("$(no_crash "$run")")
    rc="$(qr_rc "$run")"
    if [[ "$rc" != 0 || ! -f "$out" ]]; then
        r+=("exit $rc, output $([[ -f "$out" ]] && echo present || echo absent): $(head -c 300 "$run.err")")
        qr_case "compress --profile $profile on the sample book" "${r[@]}"
        continue
    fi
    mapfile -t -O "${#r[@]}" r < <(qr_compare_epub "$t/s.epub" "$out" "$profile")
    if ! qr_json_valid "$run.out"; then
        r+=("--json report is not valid JSON")
    else
        out_size="$(stat -c %s "$out")"
        [[ "$(qr_json_get "$run.out" bytes_out)" == "$out_size" ]] ||
            r+=("report bytes_out $(qr_json_get "$run.out" bytes_out) != file size $out_size")
        [[ "$(qr_json_get "$run.out" bytes_in)" == "$in_size" ]] ||
            r+=("report bytes_in $(qr_json_get "$run.out" bytes_in) != input size $in_size")
        [[ "$(qr_json_get "$run.out" profile)" == "$profile" ]] ||
            r+=("report profile is $(qr_json_get "$run.out" profile)")
        # The per-type rows add up to the images reported and to the entries written.
        mapfile -t -O "${#r[@]}" r < <(python3 - "$run.out" "$out" <<'PY'
import json, sys, zipfile
r = json.load(open(sys.argv[1]))
imgs = sum(t["count"] for t in r["by_type"] if t["type"].startswith("image/") and t["type"] != "image/svg+xml")
if imgs != r["images"]["total"]:
    print("by_type counts %d images, images.total is %d" % (imgs, r["images"]["total"]))
changed = sum(t.get("changed", 0) for t in r["by_type"] if t["type"].startswith("image/"))
if changed != r["images"]["changed"]:
    print("by_type changed images %d, images.changed is %d" % (changed, r["images"]["changed"]))
# by_type counts stored (compressed) bytes.
content = sum(t["bytes_out"] for t in r["by_type"])
real = sum(i.compress_size for i in zipfile.ZipFile(sys.argv[2]).infolist())
if content != real:
    print("by_type bytes_out add up to %d, the entries of the output store %d" % (content, real))
if not isinstance(r.get("wall_seconds"), (int, float)) or not isinstance(r.get("peak_rss_bytes"), int) or r["peak_rss_bytes"] <= 0:
    print("wall_seconds / peak_rss_bytes missing")
PY
        )
    fi
    left="$(qr_leftovers "$work" | tr '\n' ' ')"
    [[ -z "$left" ]] || r+=("work directory not cleaned: $left")
    case "$profile" in
    tablet | phone)
        edge=2560
        [[ "$profile" == phone ]] && edge=1600
        out_size="$(stat -c %s "$out")"
        ((out_size < in_size)) || r+=("output $out_size bytes is not smaller than the input $in_size")
        mapfile -t -O "${#r[@]}" r < <(qr_epub_images "$out" | awk -v e="$edge" '
            { n++; long = ($3 > $4) ? $3 : $4; if (long > e) print "image " $1 " is " $3 "x" $4 ", long edge over " e }
            END { if (n == 0) print "no images found in the output" }')
        ;;
    lossless)
        # Pixels on the small book (pure-python PNG decoding is slow), sizes on both.
        mapfile -t -O "${#r[@]}" r < <(diff <(qr_epub_images "$t/s.epub" | cut -d' ' -f1-4) \
            <(qr_epub_images "$out" | cut -d' ' -f1-4) | sed -n 's/^> /size changed: /p')
        qr_run "$t/small-lossless" compress "$t/small.epub" -o "$t/small-lossless.epub" --profile lossless
        if [[ "$(qr_rc "$t/small-lossless")" != 0 ]]; then
            r+=("lossless on the small book: exit $(qr_rc "$t/small-lossless")")
        else
            prc=0
            diffs="$(qr_same_pixels "$t/small.epub" "$t/small-lossless.epub" 2>"$t/pixels.notes")" || prc=$?
            if ((prc == 2)); then
                echo "note: no image decoder for the pixel comparison; sizes only"
            elif [[ -n "$diffs" ]]; then
                r+=("$diffs")
            fi
        fi
        ;;
    esac
    qr_case "compress --profile $profile on the sample book ($in_size -> $(stat -c %s "$out") bytes)" "${r[@]}"
done

# Default profile is tablet.
qr_run "$t/default" compress "$t/small.epub" -o "$t/default.epub" --json
r=("$(no_crash "$t/default")")
[[ "$(qr_rc "$t/default")" == 0 ]] || r+=("exit $(qr_rc "$t/default")")
[[ "$(qr_json_get "$t/default.out" profile 2>/dev/null)" == tablet ]] || r+=("default profile is not tablet")
qr_case "compress without --profile uses tablet" "${r[@]}"

# ---- missing input, bad output paths, input == output -------------------------

qr_run "$t/missing" compress "$t/nosuch.epub" -o "$t/nosuch-out.epub" --json
r=("$(no_crash "$t/missing")")
mapfile -t -O "${#r[@]}" r < <(qr_check_error "$t/missing" source-not-found)
[[ "$(qr_rc "$t/missing")" == 5 ]] || r+=("exit $(qr_rc "$t/missing"), expected 5")
[[ ! -e "$t/nosuch-out.epub" ]] || r+=("wrote an output")
qr_case "compress of a missing input exits 5 (source-not-found)" "${r[@]}"

qr_run "$t/missing-inspect" inspect "$t/nosuch.epub" --json
r=("$(no_crash "$t/missing-inspect")")
mapfile -t -O "${#r[@]}" r < <(qr_check_error "$t/missing-inspect" source-not-found)
qr_case "inspect of a missing input exits 5 (source-not-found)" "${r[@]}"

qr_run "$t/nodir" compress "$t/small.epub" -o "$t/no/such/dir/out.epub"
r=("$(no_crash "$t/nodir")")
rc="$(qr_rc "$t/nodir")"
[[ "$rc" == 2 || "$rc" == 6 ]] || r+=("exit $rc, expected 6 (write-failed/io) or 2")
ids="$(qr_error_ids "$t/nodir" | tr '\n' ' ')"
for id in $ids; do
    qr_id_documented "$id" || r+=("undocumented error id $id")
done
[[ -n "$ids" || "$rc" == 2 ]] || r+=("no error line naming an id")
[[ ! -e "$t/no" ]] || r+=("created $t/no")
qr_case "compress to a non-existent directory fails cleanly (exit $rc, ${ids:-no id})" "${r[@]}"

cp "$t/small.epub" "$t/same.epub"
qr_run "$t/same" compress "$t/same.epub" -o "$t/same.epub"
r=("$(no_crash "$t/same")")
rc="$(qr_rc "$t/same")"
if [[ "$rc" == 0 ]]; then
    # Handled safely: the file is now a faithful compression of the original.
    mapfile -t -O "${#r[@]}" r < <(qr_compare_epub "$t/small.epub" "$t/same.epub" tablet)
elif cmp -s "$t/small.epub" "$t/same.epub"; then
    [[ "$rc" == 2 || "$rc" == 3 || "$rc" == 6 ]] || r+=("refused with exit $rc")
else
    r+=("exit $rc and the input was changed")
fi
qr_case "compress with input == output (exit $rc) keeps the book intact" "${r[@]}"

# ---- hostile EPUBs -------------------------------------------------------------

# make_epub OUT KIND: a small EPUB 3 with one hostile trait.
make_epub() {
    python3 - "$@" <<'PY'
import sys, zipfile, zlib
out, kind = sys.argv[1], sys.argv[2]
container = b"""<?xml version="1.0"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
<rootfiles><rootfile full-path="EPUB/package.opf" media-type="application/oebps-package+xml"/></rootfiles>
</container>"""
doctype, title = "", "Hostile"
if kind == "laughs":
    ents = ['<!ENTITY lol "lol">'] + ['<!ENTITY lol%d "%s">' % (i, ("&lol%d;" % (i - 1) if i > 1 else "&lol;") * 10) for i in range(1, 10)]
    doctype = "<!DOCTYPE package [\n%s\n]>\n" % "\n".join(ents)
    title = "&lol9;"
elif kind == "xxe":
    doctype = '<!DOCTYPE package [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    title = "&xxe;"
opf = ("""<?xml version="1.0" encoding="UTF-8"?>
%s<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="uid">
<metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
<dc:identifier id="uid">urn:uuid:11111111-2222-3333-4444-555555555555</dc:identifier>
<dc:title>%s</dc:title><dc:language>en</dc:language>
<meta property="dcterms:modified">2024-01-01T00:00:00Z</meta>
</metadata>
<manifest>
<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>
<item id="c1" href="c1.xhtml" media-type="application/xhtml+xml"/>
</manifest>
<spine><itemref idref="c1"/></spine>
</package>""" % (doctype, title)).encode()
xhtml = b"""<?xml version="1.0" encoding="UTF-8"?>
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops"><head><title>c</title></head>
<body><nav epub:type="toc"><ol><li><a href="c1.xhtml">One</a></li></ol></nav><p>Text.</p></body></html>"""
z = zipfile.ZipFile(out, "w")
z.writestr(zipfile.ZipInfo("mimetype"), b"application/epub+zip", zipfile.ZIP_STORED)
def add(name, data, level=9):
    z.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED, level)
add("META-INF/container.xml", container)
add("EPUB/package.opf", opf)
add("EPUB/nav.xhtml", xhtml)
add("EPUB/c1.xhtml", xhtml)
if kind == "traversal":
    add("../evil.xhtml", xhtml)
elif kind == "absolute":
    add("/tmp/evil.xhtml", xhtml)
elif kind in ("bomb", "bomb-lying"):
    # 64 MiB of zeros deflate about 1030:1, over the 1000:1 limit.
    add("EPUB/zeros.bin", bytes(64 << 20))
elif kind == "rights":
    add("META-INF/rights.xml", b'<?xml version="1.0"?><rights xmlns="http://ns.adobe.com/adept"/>')
elif kind == "lcp":
    add("META-INF/license.lcpl", b'{"id":"x","encryption":{"profile":"http://readium.org/lcp/basic-profile"}}')
elif kind == "badcrc":
    z.writestr(zipfile.ZipInfo("EPUB/damaged.css"), b"p { margin: 0 }" * 8, zipfile.ZIP_STORED)
elif kind == "many":
    for i in range(20001):
        add("EPUB/f/%05d.txt" % i, b"x", 0)
z.close()
if kind == "bomb-lying":
    # Declare 1000 bytes uncompressed in both headers: the inflater must stop anyway.
    data = bytearray(open(out, "rb").read())
    name = b"EPUB/zeros.bin"
    pos = 0
    while True:
        pos = data.find(name, pos)
        if pos < 0:
            break
        if data[pos - 30:pos - 26] == b"PK\x03\x04":
            data[pos - 30 + 22:pos - 30 + 26] = (1000).to_bytes(4, "little")
        elif data[pos - 46:pos - 42] == b"PK\x01\x02":
            data[pos - 46 + 24:pos - 46 + 28] = (1000).to_bytes(4, "little")
        pos += 1
    open(out, "wb").write(data)
if kind == "badcrc":
    # Flip one stored byte: the entry no longer matches its CRC-32.
    data = bytearray(open(out, "rb").read())
    data[data.find(b"p { margin") + 2] ^= 0x20
    open(out, "wb").write(data)
PY
}

passwd_line="$(head -n 1 /etc/passwd)"
# kind : expected ids : what it is
hostile=(
    "traversal:unsafe-path:entry named ../evil.xhtml"
    "absolute:unsafe-path:entry named /tmp/evil.xhtml"
    "bomb:zip-bomb:64 MiB of zeros deflated 1030:1"
    "bomb-lying:zip-bomb|corrupt-archive|entry-too-large:zip bomb whose headers declare 1000 bytes"
    "badcrc:corrupt-archive:a stored entry that fails its CRC-32"
    "many:too-many-entries:20006 entries"
    "rights:drm-protected:META-INF/rights.xml"
    "lcp:drm-protected:META-INF/license.lcpl"
    "laughs:xml-limit:billion laughs in the OPF"
    "xxe:xml-limit:OPF entity naming file:///etc/passwd"
)
for h in "${hostile[@]}"; do
    kind="${h%%:*}"
    rest="${h#*:}"
    want="${rest%%:*}"
    what="${rest#*:}"
    book="$t/hostile-$kind.epub"
    if ! make_epub "$book" "$kind" 2>"$t/make-$kind.err"; then
        qr_fail "hostile $kind" "could not make the test book: $(tail -n 1 "$t/make-$kind.err")"
        continue
    fi
    odir="$t/out-$kind"
    mkdir -p "$odir"
    r=()
    for cmd in compress inspect; do
        run="$t/hostile-$kind-$cmd"
        if [[ "$cmd" == compress ]]; then
            (cd "$odir" && qr_run "$run" compress "$book" -o "$odir/out.epub" --json --work-dir "$work")
        else
            (cd "$odir" && qr_run "$run" inspect "$book" --json)
        fi
        crash="$(no_crash "$run")"
        if [[ -n "$crash" ]]; then
            r+=("$cmd: $crash")
            continue
        fi
        mapfile -t -O "${#r[@]}" r < <(qr_check_error "$run" "$want" | sed "s/^/$cmd: /")
        if [[ -s "$run.out" ]] && ! qr_json_valid "$run.out"; then
            r+=("$cmd: stdout is not valid JSON")
        fi
        if grep -qF "$passwd_line" "$run.out" "$run.err"; then
            r+=("$cmd: /etc/passwd content leaked into its output")
        fi
    done
    if [[ -f "$odir/out.epub" ]] && unzip -p "$odir/out.epub" 2>/dev/null | grep -qF "$passwd_line"; then
        r+=("compress: /etc/passwd content leaked into the output book")
    fi
    left="$(qr_leftovers "$odir" | tr '\n' ' ')$(qr_leftovers "$work" | tr '\n' ' ')"
    [[ -z "$left" ]] || r+=("files left behind: $left")
    qr_case "hostile $kind ($what) -> $want" "${r[@]}"
done

qr_summary
