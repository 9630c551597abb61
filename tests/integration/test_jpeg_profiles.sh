#!/usr/bin/env bash
# The -jpeg profiles (docs/profiles.md) on a book made at test time
# (make_jpeg_book.py over `quire sample-book`): PNG photographs become
# renamed JPEGs, every reference is rewritten (OPF href and media-type, XHTML
# src plain and percent-encoded, a style attribute with a fragment, a <style>
# element, CSS url(), SVG href and xlink:href), a name already taken is
# avoided, the PNG with transparency and the diagram stay PNG, every other
# entry keeps its bytes, epubcheck finds no error, and `quire process
# --profile tablet-jpeg` then verify and unpack work. With ../shared/corpus,
# the photobook is compressed under tablet and
# tablet-jpeg side by side when present (sizes and times printed; no timing assertions).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
qr_init jpeg-profiles

t="$QR_TMP"
# The image's build stage has none of these tools: skip there, fail in CI.
for tool in vips file unzip /usr/bin/python3; do
    if ! command -v "$tool" >/dev/null; then
        [[ "${CI:-}" != true ]] || qr_die "$tool is required (scripts/setup.sh installs it)"
        qr_skip "$tool is not installed (vips: libvips-tools; scripts/setup.sh installs them)"
    fi
done
qr_run "$t/sample" sample-book "$t/s.epub" --chapters 3 --images 4 --size 800x600 --seed 3
[[ "$(qr_rc "$t/sample")" == 0 ]] || qr_die "sample-book failed: $(head -c 400 "$t/sample.err")"
mkdir -p "$t/s"
(cd "$t/s" && unzip -q ../s.epub)
# A PNG photograph with an alpha channel at half opacity everywhere.
vips bandjoin_const "$t/s/EPUB/images/img-002.png" "$t/alpha.png" 128
/usr/bin/python3 "$QR_SRCDIR/tests/integration/make_jpeg_book.py" "$t/s.epub" "$t/in.epub" "$t/alpha.png"
mkdir -p "$t/in"
(cd "$t/in" && unzip -q ../in.epub)

qr_epubcheck_find
if ((${#QR_EPUBCHECK[@]} == 0)); then
    [[ "${CI:-}" != true ]] || qr_die "epubcheck is not installed (scripts/setup.sh installs it)"
    echo "note: epubcheck not found; the epubcheck checks are skipped"
else
    qr_epubcheck "$t/in.epub" "$t/ec-in" || qr_die "epubcheck did not complete on the input"
    [[ "$(cat "$t/ec-in")" == "ERROR(RSC-012)" ]] || qr_die "input epubcheck: $(cat "$t/ec-in")"
fi
key="$t/service.key"
"$QUIRE_BIN" keys generate -o "$key" >/dev/null 2>&1 || qr_die "quire keys generate failed"

for profile in tablet-jpeg phone-jpeg; do
    out="$t/out-$profile.epub"
    run="$t/run-$profile"
    qr_run "$run" compress "$t/in.epub" -o "$out" --profile "$profile" --json
    r=("$(qr_crash "$run")")
    if [[ "$(qr_rc "$run")" != 0 || ! -f "$out" ]]; then
        qr_fail "compress --profile $profile" "exit $(qr_rc "$run"): $(head -c 300 "$run.err")"
        continue
    fi
    d="$t/o-$profile"
    mkdir -p "$d"
    (cd "$d" && unzip -q "$out")
    I="$t/in/EPUB" O="$d/EPUB"
    # Renamed, with the taken name avoided; the transparent PNG and the diagram kept.
    for f in images/img-002.jpg images/img-004-2.jpg images/alpha.png images/diagram.png images/img-004.jpg; do
        [[ -f "$O/$f" ]] || r+=("no $f in the output")
    done
    for f in images/img-002.png images/img-004.png; do
        [[ ! -e "$O/$f" ]] || r+=("$f still in the output")
    done
    [[ "$(file -b --mime-type "$O/images/img-002.jpg")" == image/jpeg ]] || r+=("img-002.jpg is not a JPEG")
    [[ "$(file -b --mime-type "$O/images/alpha.png")" == image/png ]] || r+=("alpha.png is not a PNG")
    # Every reference form, rewritten in place.
    grep -q 'href="images/img-002.jpg" media-type="image/jpeg"' "$O/package.opf" || r+=("OPF item img-002 not rewritten")
    grep -q 'href="images/img-004-2.jpg" media-type="image/jpeg"' "$O/package.opf" || r+=("OPF item img-004 not rewritten")
    grep -q 'href="images/alpha.png" media-type="image/png"' "$O/package.opf" || r+=("OPF item alpha changed")
    grep -q 'src="../images/img-002.jpg"' "$O/text/chapter-01.xhtml" || r+=("XHTML src not rewritten")
    grep -q 'src="../images/img%2D002.jpg"' "$O/text/chapter-02.xhtml" || r+=("percent-encoded src not rewritten")
    grep -q "url('../images/img-004-2.jpg#x')" "$O/text/chapter-02.xhtml" || r+=("style attribute not rewritten")
    grep -q 'url(../images/img-004-2.jpg); }</style>' "$O/text/chapter-02.xhtml" || r+=("<style> element not rewritten")
    grep -q 'src="../images/alpha.png"' "$O/text/chapter-02.xhtml" || r+=("reference to the kept PNG changed")
    grep -q 'url("../images/img-002.jpg")' "$O/css/style.css" || r+=("CSS url() not rewritten")
    grep -q 'xlink:href="img-002.jpg"' "$O/images/fig.svg" || r+=("SVG xlink:href not rewritten")
    grep -q ' href="img-004-2.jpg"' "$O/images/fig.svg" || r+=("SVG href not rewritten")
    ! grep -rqE 'img-00[24]\.png' "$O" --include='*.xhtml' --include='*.css' --include='*.svg' --include='*.opf' --include='*.ncx' ||
        r+=("a reference to a renamed PNG is left")
    # Byte for byte: every rewritten file differs only where a reference was; the others not at all.
    rewritten="$(/usr/bin/python3 -c 'import json,sys; print("\n".join(x["entry"] for x in json.load(open(sys.argv[1]))["rewritten"]))' "$run.out")"
    for f in package.opf css/style.css text/chapter-01.xhtml text/chapter-02.xhtml text/chapter-03.xhtml images/fig.svg; do
        grep -qx "EPUB/$f" <<<"$rewritten" || r+=("EPUB/$f not reported as rewritten")
        a="$(sed -E 's/img(-|%2D)00([24])(-2)?\.(png|jpg)/IMG\2/g; s#image/(png|jpeg)#IMGTYPE#g' "$I/$f")"
        b="$(sed -E 's/img(-|%2D)00([24])(-2)?\.(png|jpg)/IMG\2/g; s#image/(png|jpeg)#IMGTYPE#g' "$O/$f")"
        [[ "$a" == "$b" ]] || r+=("EPUB/$f differs beyond its references")
    done
    for f in nav.xhtml toc.ncx text/cover.xhtml; do
        cmp -s "$I/$f" "$O/$f" || r+=("EPUB/$f changed")
        ! grep -qx "EPUB/$f" <<<"$rewritten" || r+=("EPUB/$f reported as rewritten")
    done
    [[ "$(qr_json_get "$run.out" png_to_jpeg)" == 2 ]] || r+=("png_to_jpeg is $(qr_json_get "$run.out" png_to_jpeg), expected 2")
    if ((${#QR_EPUBCHECK[@]} > 0)); then
        # The input's own findings (RSC-012: epubcheck wants no fragment on an image
        # reference, which the book carries on purpose) may stay; nothing new may appear.
        if qr_epubcheck "$out" "$t/ec-$profile"; then
            new="$(comm -13 "$t/ec-in" "$t/ec-$profile" | tr '\n' ' ')"
            [[ -z "$new" ]] || r+=("epubcheck: new errors $new")
        else
            r+=("epubcheck did not complete")
        fi
    fi
    qr_case "compress --profile $profile renames photographs and rewrites every reference" "${r[@]}"
done

# The plain profiles keep the format and the name.
qr_run "$t/run-tablet" compress "$t/in.epub" -o "$t/out-tablet.epub" --profile tablet
r=()
grep -qx 'EPUB/images/img-002.png' <<<"$(unzip -Z1 "$t/out-tablet.epub")" || r+=("tablet renamed img-002.png")
qr_case "compress --profile tablet keeps PNG names" "${r[@]}"

# process, verify, unpack under tablet-jpeg.
qr_run "$t/proc" process "$t/in.epub" -o "$t/store" --profile tablet-jpeg --key-file "$key" --json
r=("$(qr_crash "$t/proc")")
[[ "$(qr_rc "$t/proc")" == 0 ]] || r+=("process exit $(qr_rc "$t/proc"): $(head -c 300 "$t/proc.err")")
[[ "$(qr_json_get "$t/proc.out" png_to_jpeg 2>/dev/null)" == 2 ]] || r+=("process report png_to_jpeg != 2")
qr_run "$t/verify" verify "$t/store" --key-file "$key"
[[ "$(qr_rc "$t/verify")" == 0 ]] || r+=("verify exit $(qr_rc "$t/verify"): $(head -c 300 "$t/verify.err")")
qr_run "$t/unpack" unpack "$t/store" -o "$t/unpacked.epub" --key-file "$key"
[[ "$(qr_rc "$t/unpack")" == 0 ]] || r+=("unpack exit $(qr_rc "$t/unpack"): $(head -c 300 "$t/unpack.err")")
if [[ -f "$t/unpacked.epub" ]]; then
    grep -qx 'EPUB/images/img-004-2.jpg' <<<"$(unzip -Z1 "$t/unpacked.epub")" || r+=("unpacked book lacks img-004-2.jpg")
fi
qr_case "process --profile tablet-jpeg, then verify and unpack" "${r[@]}"

# ---- the corpus: tablet against tablet-jpeg, side by side (printed, not asserted) ----
if [[ -n "${QR_SHARED_DIR:-}" && -f "$QR_SHARED_DIR/corpus/MANIFEST.tsv" ]]; then
    qr_corpus
    QR_TIMEOUT=900
    # The photobook (built by make-photobook.sh, when present) is the main case.
    for book in "$QR_CORPUS"/epub/*/*photobook*.epub "$QR_CORPUS"/*photobook*.epub; do
        [[ -f "$book" ]] || continue
        name="$(basename "$book" .epub)"
        line="$name"
        for profile in tablet tablet-jpeg; do
            qr_run "$t/c-$name-$profile" compress "$book" -o "$t/c-$name-$profile.epub" --profile "$profile" --json
            if [[ "$(qr_rc "$t/c-$name-$profile")" == 0 ]]; then
                line+=" $profile: $(qr_json_get "$t/c-$name-$profile.out" bytes_out) B $(qr_json_get "$t/c-$name-$profile.out" wall_seconds) s"
            else
                qr_fail "corpus $name under $profile" "exit $(qr_rc "$t/c-$name-$profile"): $(head -c 300 "$t/c-$name-$profile.err")"
            fi
            rm -f "$t/c-$name-$profile.epub"
        done
        echo "corpus: $line (input $(stat -c %s "$book") B)"
    done
else
    echo "note: ../shared/corpus not found; the corpus comparison is skipped"
fi

qr_summary
