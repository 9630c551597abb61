# Shared helpers for the integration tests (tests/integration/test_*.sh).
#
# Sourced, not run. ctest gives every test QUIRE_BIN (the binary under test),
# QR_SHARED_DIR (the folder holding corpus/) and QR_SRCDIR (the source tree).
# Exit status 77 means "skipped" (SKIP_RETURN_CODE in tests/CMakeLists.txt).
#
# Conventions: every test calls qr_init first; it gets a private temporary
# directory in $QR_TMP (removed on exit), runs quire only through qr_run (a
# timeout, JSON log lines on stderr, captured output), and reports one
# PASS/FAIL line per case through qr_pass / qr_fail, then qr_summary.
# shellcheck shell=bash

QR_TIMEOUT="${QR_TIMEOUT:-120}"
QR_PASSED=0
QR_FAILED=0
QR_TMP=""
QR_CORPUS=""

qr_skip() {
    echo "SKIP: $*"
    exit 77
}

qr_die() {
    echo "ERROR: $*" >&2
    exit 1
}

qr_cleanup() {
    # Background jobs this test started (epubcheck batches) die with it.
    local pids
    pids="$(jobs -p)"
    if [[ -n "$pids" ]]; then
        # shellcheck disable=SC2086
        kill $pids 2>/dev/null || true
        wait 2>/dev/null || true
    fi
    if [[ -n "$QR_TMP" && -d "$QR_TMP" ]]; then
        rm -rf -- "$QR_TMP"
    fi
}

# qr_init NAME: checks the environment and makes $QR_TMP.
qr_init() {
    local name="$1"
    [[ -n "${QUIRE_BIN:-}" ]] || qr_die "QUIRE_BIN is not set (run through ctest)"
    [[ -x "$QUIRE_BIN" ]] || qr_die "QUIRE_BIN=$QUIRE_BIN is not an executable"
    QUIRE_BIN="$(cd "$(dirname "$QUIRE_BIN")" && pwd)/$(basename "$QUIRE_BIN")"
    if [[ -z "${QR_SRCDIR:-}" ]]; then
        QR_SRCDIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
    fi
    [[ -f "$QR_SRCDIR/docs/errors.md" ]] || qr_die "QR_SRCDIR=$QR_SRCDIR has no docs/errors.md"
    command -v python3 >/dev/null || qr_die "python3 is required (scripts/setup.sh installs it)"
    QR_TMP="$(mktemp -d "${TMPDIR:-/tmp}/quire-$name.XXXXXX")"
    trap qr_cleanup EXIT
    trap 'exit 130' INT TERM
    export QUIRE_LOG_FORMAT=json
    # No test's worker is an Auto Scaling instance unless the test says so (test_fleet.sh).
    export QUIRE_FLEET=off
    export QR_SRCDIR QUIRE_BIN
}

# qr_corpus: sets $QR_CORPUS to the corpus folder, or skips the test.
qr_corpus() {
    local dir="${QR_SHARED_DIR:-}/corpus"
    if [[ -z "${QR_SHARED_DIR:-}" || ! -f "$dir/MANIFEST.tsv" ]]; then
        qr_skip "corpus not found (QR_SHARED_DIR=${QR_SHARED_DIR:-unset}); corpus tests need ../shared/corpus"
    fi
    QR_CORPUS="$(cd "$dir" && pwd)"
}

# qr_manifest_epubs: prints "file<TAB>status" for every EPUB row of
# MANIFEST.tsv whose file is present (and, when QR_CORPUS_ONLY is set, whose
# path matches that extended regex) (the photobook row names a file that is
# only there once make-photobook.sh has built it).
qr_manifest_epubs() {
    local file group status rest
    while IFS=$'\t' read -r file group status rest; do
        [[ "$file" == epub/* ]] || continue
        if [[ -n "${QR_CORPUS_ONLY:-}" ]] && ! [[ "$file" =~ $QR_CORPUS_ONLY ]]; then
            continue
        fi
        if [[ ! -f "$QR_CORPUS/$file" ]]; then
            echo "note: $file is listed in MANIFEST.tsv but absent; not tested" >&2
            continue
        fi
        printf '%s\t%s\n' "$file" "$status"
    done < <(tail -n +2 "$QR_CORPUS/MANIFEST.tsv")
    : "$group" "$rest"
}

# qr_expected FILE STATUS: what quire must do with a corpus EPUB.
#   ok             exit 0 (warnings allowed)
#   warn           exit 0 with at least one warning (a lenient repair)
#   error:A|B      exit 3/4/5 naming one of the ids A, B
# Broken files: strict where the book is unsafe or undeliverable (traversal,
# absolute names, no container/OPF, empty spine, DRM), lenient otherwise.
qr_expected() {
    local file="$1" status="$2"
    case "$(basename "$file" .epub)" in
    zip-empty-file) echo "error:unsupported-format|corrupt-archive" ;;
    zip-no-end-header) echo "error:corrupt-archive" ;;
    zip-is-an-image) echo "error:unsupported-format" ;;
    zip-not-ocf) echo "error:container-missing|unsupported-format" ;;
    container-xml-missing) echo "error:container-missing" ;;
    opf-missing) echo "error:opf-missing" ;;
    epub2-spine-missing) echo "error:spine-empty" ;;
    href-dotdot-escape | href-absolute-path) echo "error:unsafe-path" ;;
    encryption-unknown-algorithm) echo "error:drm-protected" ;;
    mimetype-missing | mimetype-extra-field | zip-duplicate-entry | manifest-item-missing | \
        image-corrupt | old-issue176-missing-resources) echo "warn" ;;
    # An odd DOCTYPE in the OPF: a parser that never loads external DTDs has
    # nothing to repair, so success without a warning is right.
    old-issue194-hang) echo "ok" ;;
    *)
        case "$status" in
        valid* | "as shipped" | warning | edge) echo "ok" ;;
        *) echo "unknown" ;;
        esac
        ;;
    esac
}

# qr_id_documented ID: true if docs/errors.md has a row for the error id.
qr_id_documented() {
    grep -qF "| \`$1\` |" "$QR_SRCDIR/docs/errors.md"
}

# qr_id_exit ID: the exit status docs/errors.md promises for an error id.
qr_id_exit() {
    local id="$1" class
    if [[ "$id" == source-not-found ]]; then
        echo 5
        return
    fi
    class="$(grep -F "| \`$id\` |" "$QR_SRCDIR/docs/errors.md" | head -n1 | cut -d'|' -f3 | tr -d ' ')"
    case "$class" in
    QR_EFORMAT) echo 3 ;;
    QR_ELIMIT) echo 4 ;;
    QR_EINVAL) echo 2 ;;
    QR_EIO | QR_ENOMEM) echo 6 ;;
    *) echo "?" ;;
    esac
}

# qr_run PREFIX ARGS...: runs quire with a timeout; stdout, stderr and the
# exit status land in PREFIX.out, PREFIX.err, PREFIX.rc. Never fails itself.
qr_run() {
    local prefix="$1"
    shift
    local rc=0
    timeout -k 10 "$QR_TIMEOUT" "$QUIRE_BIN" "$@" >"$prefix.out" 2>"$prefix.err" </dev/null || rc=$?
    echo "$rc" >"$prefix.rc"
}

qr_rc() {
    cat "$1.rc"
}

# qr_crash PREFIX: prints a reason if the run at PREFIX hung, died on a
# signal or tripped a sanitizer; prints nothing otherwise.
qr_crash() {
    local prefix="$1" rc
    rc="$(qr_rc "$prefix")"
    if [[ "$rc" == 124 || "$rc" == 137 ]]; then
        echo "hang (killed after ${QR_TIMEOUT}s)"
    elif ((rc >= 128)); then
        echo "crash (exit $rc, signal $((rc - 128)))"
    elif grep -qE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' "$prefix.err"; then
        echo "sanitizer report: $(grep -m1 -E 'Sanitizer|runtime error:' "$prefix.err")"
    fi
}

# qr_error_ids PREFIX: the error ids named by the error log lines of a run
# (JSON lines {"level":"error","msg":"<id>: ..."}; plain "error: <id>:" lines
# are understood too), one per line.
qr_error_ids() {
    python3 - "$1.err" <<'PY'
import json, re, sys
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    line = line.strip()
    msg = None
    try:
        ev = json.loads(line)
        if isinstance(ev, dict) and ev.get("level") in ("error", "fatal"):
            msg = str(ev.get("msg", ""))
    except ValueError:
        m = re.search(r"\berror:\s*(.*)", line)
        if m:
            msg = m.group(1)
    if msg:
        m = re.match(r"\s*([a-z][a-z0-9-]*):", msg)
        if m:
            print(m.group(1))
PY
}

# qr_check_error PREFIX IDS: checks a run failed cleanly with one of the ids
# in IDS ("a|b"): exit status from docs/errors.md, an error line naming it,
# the id documented, and (with --json) a matching {"error":{"id":...}}.
# Prints the reasons it is not so; nothing when it is.
qr_check_error() {
    local prefix="$1" want="$2" rc ids id ok="" jid
    rc="$(qr_rc "$prefix")"
    ids="$(qr_error_ids "$prefix" | sort -u | tr '\n' ' ')"
    for id in ${ids}; do
        if [[ "|$want|" == *"|$id|"* ]]; then
            ok="$id"
        fi
    done
    if [[ -z "$ok" ]]; then
        echo "expected error id $want, log named '${ids% }' (exit $rc; stderr: $(head -c 300 "$prefix.err" | tr '\n' ' '))"
        return
    fi
    qr_id_documented "$ok" || echo "error id $ok is not documented in docs/errors.md"
    [[ "$rc" == "$(qr_id_exit "$ok")" ]] || echo "exit status $rc, docs/errors.md says $(qr_id_exit "$ok") for $ok"
    if [[ -s "$prefix.out" ]]; then
        jid="$(qr_json_get "$prefix.out" error.id 2>/dev/null || true)"
        [[ "$jid" == "$ok" ]] || echo "stdout JSON error.id is '$jid', the log says $ok"
    fi
}

# qr_json_get FILE DOTTED.PATH: prints one value of a JSON document (a
# string as is, anything else as JSON); fails if the path is absent.
qr_json_get() {
    python3 - "$1" "$2" <<'PY'
import json, sys
v = json.load(open(sys.argv[1], encoding="utf-8"))
for k in sys.argv[2].split("."):
    if isinstance(v, list):
        v = v[int(k)]
    elif isinstance(v, dict) and k in v:
        v = v[k]
    else:
        sys.exit(1)
print(v if isinstance(v, str) else json.dumps(v))
PY
}

# qr_json_valid FILE: true if FILE holds exactly one JSON document.
qr_json_valid() {
    python3 -m json.tool "$1" >/dev/null 2>&1
}

# qr_leftovers DIR KEEP...: prints every file in DIR other than the KEEP names.
qr_leftovers() {
    local dir="$1"
    shift
    python3 - "$dir" "$@" <<'PY'
import os, sys
keep = set(sys.argv[2:])
for n in sorted(os.listdir(sys.argv[1])):
    if n not in keep:
        print(n)
PY
}

# ---- EPUB comparison (python3, standard library only) -----------------------

# One python program with subcommands, fed on stdin by the functions below.
# shellcheck disable=SC2016
QR_PY_LIB='
import os, posixpath, re, struct, subprocess, sys, zipfile, zlib
import urllib.parse
import xml.etree.ElementTree as ET

RASTER_EXT = {".jpg", ".jpeg", ".png", ".gif", ".webp"}
FONT_EXT = {".otf", ".ttf", ".woff", ".woff2"}
OPF_NS = "{http://www.idpf.org/2007/opf}"
DC_ID = "{http://purl.org/dc/elements/1.1/}identifier"

def magic(b):
    if b[:3] == b"\xff\xd8\xff": return "jpeg"
    if b[:8] == b"\x89PNG\r\n\x1a\n": return "png"
    if b[:4] == b"GIF8": return "gif"
    if b[:4] == b"RIFF" and b[8:12] == b"WEBP": return "webp"
    return None

def raw_name(info):
    if info.flag_bits & 0x800:
        return info.filename
    return info.filename.encode("cp437").decode("utf-8", "replace")

def entries(zf):
    """name -> last ZipInfo (a later duplicate shadows an earlier one), dirs dropped."""
    d = {}
    for i in zf.infolist():
        if i.filename.endswith("/"):
            continue
        d[raw_name(i)] = i
    return d

def parse_xml(data):
    try:
        return ET.fromstring(data)
    except ET.ParseError:
        return None

def opf_info(zf, ents):
    """(opf path, unique identifier, {path: media type}) or Nones."""
    if "META-INF/container.xml" not in ents:
        return None, None, {}
    c = parse_xml(zf.read(ents["META-INF/container.xml"]))
    if c is None:
        return None, None, {}
    rf = [e for e in c.iter() if e.tag.endswith("rootfile")]
    if not rf or rf[0].get("full-path") not in ents:
        return None, None, {}
    path = rf[0].get("full-path")
    p = parse_xml(zf.read(ents[path]))
    if p is None:
        return path, None, {}
    uid = None
    uid_ref = p.get("unique-identifier")
    for e in p.iter(DC_ID):
        if e.get("id") == uid_ref:
            uid = (e.text or "").strip()
    types = {}
    base = posixpath.dirname(path)
    for it in p.iter(OPF_NS + "item"):
        href = urllib.parse.unquote((it.get("href") or "").split("#")[0])
        types[posixpath.normpath(posixpath.join(base, href))] = it.get("media-type") or ""
    return path, uid, types

def kind(name, types):
    mt = types.get(name, "")
    ext = posixpath.splitext(name)[1].lower()
    if (mt.startswith("image/") and mt != "image/svg+xml") or (not mt and ext in RASTER_EXT):
        return "image"
    if mt.startswith("font/") or "font" in mt or "opentype" in mt or ext in FONT_EXT:
        return "font"
    return "text"

def image_size(b):
    """(format, width, height) from the header, or None."""
    m = magic(b)
    if m == "png" and len(b) >= 24:
        w, h = struct.unpack(">II", b[16:24])
        return m, w, h
    if m == "gif" and len(b) >= 10:
        w, h = struct.unpack("<HH", b[6:10])
        return m, w, h
    if m == "jpeg":
        i = 2
        while i + 9 < len(b):
            if b[i] != 0xFF:
                i += 1
                continue
            marker = b[i + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
                i += 1 if marker == 0xFF else 2
                continue
            seglen = struct.unpack(">H", b[i + 2:i + 4])[0]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                h, w = struct.unpack(">HH", b[i + 5:i + 9])
                return m, w, h
            i += 2 + seglen
        return None
    if m == "webp" and len(b) >= 30:
        if b[12:16] == b"VP8X":
            return m, 1 + int.from_bytes(b[24:27], "little"), 1 + int.from_bytes(b[27:30], "little")
        if b[12:16] == b"VP8 ":
            w, h = struct.unpack("<HH", b[26:30])
            return m, w & 0x3FFF, h & 0x3FFF
        if b[12:16] == b"VP8L":
            v = int.from_bytes(b[21:25], "little")
            return m, 1 + (v & 0x3FFF), 1 + ((v >> 14) & 0x3FFF)
    return None

PNG_MAX_PIXELS = 1_500_000

def png_pixels(b):
    """Decoded PNG as RGBA with 16-bit samples (bytes), or None if too large.
    Any colour type, bit depth, palette, tRNS and Adam7 interlacing."""
    pos, chunks, idat = 8, {}, []
    while pos + 8 <= len(b):
        n, t = struct.unpack(">I4s", b[pos:pos + 8])
        data = b[pos + 8:pos + 8 + n]
        if t == b"IDAT":
            idat.append(data)
        else:
            chunks.setdefault(t, data)
        pos += 12 + n
        if t == b"IEND":
            break
    w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    if w * h > PNG_MAX_PIXELS:
        return None
    raw = zlib.decompress(b"".join(idat))
    chans = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ctype]
    bpp = max(1, chans * depth // 8)
    maxv = (1 << depth) - 1
    pal = chunks.get(b"PLTE", b"")
    trns = chunks.get(b"tRNS")
    out = [None] * (w * h)
    passes = [(0, 0, 1, 1)] if not interlace else [
        (0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    off = 0
    for x0, y0, dx, dy in passes:
        pw = (w - x0 + dx - 1) // dx
        ph = (h - y0 + dy - 1) // dy
        if pw <= 0 or ph <= 0:
            continue
        stride = (pw * chans * depth + 7) // 8
        prev = bytearray(stride)
        for r in range(ph):
            ft = raw[off]
            line = bytearray(raw[off + 1:off + 1 + stride])
            off += 1 + stride
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                c = prev[i - bpp] if i >= bpp else 0
                u = prev[i]
                if ft == 1: line[i] = (line[i] + a) & 255
                elif ft == 2: line[i] = (line[i] + u) & 255
                elif ft == 3: line[i] = (line[i] + ((a + u) >> 1)) & 255
                elif ft == 4:
                    p = a + u - c
                    pa, pb, pc = abs(p - a), abs(p - u), abs(p - c)
                    line[i] = (line[i] + (a if pa <= pb and pa <= pc else u if pb <= pc else c)) & 255
            prev = line
            if depth == 16:
                samples = struct.unpack(">%dH" % (pw * chans), bytes(line[:pw * chans * 2]))
            elif depth == 8:
                samples = line[:pw * chans]
            else:
                samples = []
                for byte in line:
                    for s in range(8 // depth):
                        samples.append((byte >> (8 - depth * (s + 1))) & maxv)
                samples = samples[:pw * chans]
            y = y0 + r * dy
            for k in range(pw):
                s = samples[k * chans:(k + 1) * chans]
                if ctype == 3:
                    idx = s[0]
                    rgb = [v * 257 for v in pal[idx * 3:idx * 3 + 3]]
                    alpha = (trns[idx] if trns and idx < len(trns) else 255) * 257
                    px = (*rgb, alpha)
                else:
                    sc = [v * 65535 // maxv for v in s]
                    if ctype in (0, 4):
                        px = (sc[0], sc[0], sc[0], sc[1] if ctype == 4 else 65535)
                    else:
                        px = (sc[0], sc[1], sc[2], sc[3] if ctype == 6 else 65535)
                    if trns and ctype in (0, 2):
                        key = struct.unpack(">%dH" % (len(trns) // 2), trns)
                        if tuple(s) == key[:len(s)]:
                            px = px[:3] + (0,)
                out[y * w + x0 + k * dx] = px
    return struct.pack(">II", w, h) + b"".join(struct.pack(">4H", *p) for p in out)

def jpeg_pixels(b):
    try:
        r = subprocess.run(["djpeg", "-pnm"], input=b, capture_output=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return r.stdout if r.returncode == 0 and r.stdout else None

def same_pixels(fmt, a, b):
    """True/False, or None when this machine cannot decode the format."""
    if fmt == "png":
        pa, pb = png_pixels(a), png_pixels(b)
    elif fmt == "jpeg":
        pa, pb = jpeg_pixels(a), jpeg_pixels(b)
    else:
        return None
    if pa is None or pb is None:
        return None
    return pa == pb

def check_ocf(path, problems):
    with open(path, "rb") as f:
        head = f.read(64)
    if head[:4] != b"PK\x03\x04":
        problems.append("does not start with a ZIP local file header")
        return
    method, = struct.unpack("<H", head[8:10])
    nlen, xlen = struct.unpack("<HH", head[26:30])
    if head[30:38] != b"mimetype":
        problems.append("first entry is %r, not mimetype" % head[30:30 + nlen])
    if method != 0:
        problems.append("mimetype is compressed (method %d), not stored" % method)
    if xlen != 0:
        problems.append("mimetype has a %d-byte extra field" % xlen)
    if head[38:58] != b"application/epub+zip":
        problems.append("bytes 38..58 are %r, not application/epub+zip" % head[38:58])

def cmd_compare(inp, outp, profile):
    """Prints one line per way OUT is not a faithful compression of IN."""
    problems, notes = [], []
    check_ocf(outp, problems)
    zi, zo = zipfile.ZipFile(inp), zipfile.ZipFile(outp)
    names_out = [raw_name(i) for i in zo.infolist()]
    if names_out and names_out[0] != "mimetype":
        problems.append("first central-directory entry is %s" % names_out[0])
    if len(names_out) != len(set(names_out)):
        problems.append("output has duplicate entry names")
    if zo.testzip() is not None:
        problems.append("output entry %s fails its CRC" % zo.testzip())
    ei, eo = entries(zi), entries(zo)
    if "mimetype" in eo:
        if zo.read(eo["mimetype"]) != b"application/epub+zip":
            problems.append("mimetype content is %r" % zo.read(eo["mimetype"])[:40])
        if eo["mimetype"].compress_type != zipfile.ZIP_STORED:
            problems.append("mimetype is not stored")
    else:
        problems.append("output has no mimetype entry")
    si, so = set(ei) - {"mimetype"}, set(eo) - {"mimetype"}
    for n in sorted(si - so):
        problems.append("entry lost: %s" % n)
    for n in sorted(so - si):
        problems.append("entry added: %s" % n)
    opf_i, uid_i, types = opf_info(zi, ei)
    opf_o, uid_o, _ = opf_info(zo, eo)
    if opf_i != opf_o:
        problems.append("package document moved: %s -> %s" % (opf_i, opf_o))
    if uid_i != uid_o:
        problems.append("unique identifier changed: %r -> %r (the font obfuscation key)" % (uid_i, uid_o))
    changed = 0
    for n in sorted(si & so):
        a, b = zi.read(ei[n]), zo.read(eo[n])
        k = kind(n, types)
        if n == "META-INF/encryption.xml" and a != b:
            problems.append("META-INF/encryption.xml changed")
            continue
        if k != "image" or magic(a) is None:
            if a != b:
                problems.append("%s %s changed (%d -> %d bytes)" % (k, n, len(a), len(b)))
            continue
        if magic(b) != magic(a):
            problems.append("image %s changed format: %s -> %s" % (n, magic(a), magic(b)))
            continue
        if len(b) > len(a):
            problems.append("image %s grew: %d -> %d bytes" % (n, len(a), len(b)))
        if a == b:
            continue
        changed += 1
        if profile == "lossless":
            sa, sb = image_size(a), image_size(b)
            if sa != sb:
                problems.append("lossless changed the size of %s: %s -> %s" % (n, sa, sb))
                continue
            same = same_pixels(magic(a), a, b)
            if same is False:
                problems.append("lossless changed pixels of %s" % n)
            elif same is None:
                notes.append("pixels of %s not compared (no decoder, or too large)" % n)
    for p in problems:
        print(p)
    for n in notes:
        print("note: " + n, file=sys.stderr)

def cmd_images(path):
    """name format width height bytes, for every raster image entry."""
    zf = zipfile.ZipFile(path)
    for n, i in sorted(entries(zf).items()):
        b = zf.read(i)
        s = image_size(b)
        if s:
            print(n, s[0], s[1], s[2], len(b))

def cmd_pixels(a_path, b_path):
    """Prints images whose pixels differ between two books; exit 2 if none could be compared."""
    za, zb = zipfile.ZipFile(a_path), zipfile.ZipFile(b_path)
    ea, eb = entries(za), entries(zb)
    compared = 0
    for n in sorted(ea):
        a = za.read(ea[n])
        if magic(a) is None or n not in eb:
            continue
        b = zb.read(eb[n])
        same = same_pixels(magic(a), a, b)
        if same is None:
            print("note: %s not compared" % n, file=sys.stderr)
            continue
        compared += 1
        if not same:
            print("pixels differ: %s" % n)
    sys.exit(0 if compared else 2)

cmd = sys.argv[1]
if cmd == "compare":
    cmd_compare(*sys.argv[2:5])
elif cmd == "images":
    cmd_images(sys.argv[2])
elif cmd == "pixels":
    cmd_pixels(sys.argv[2], sys.argv[3])
'

# qr_compare_epub IN OUT PROFILE: prints every way OUT is not a faithful
# compression of IN (nothing when it is). OCF rules, entry names, text and
# fonts byte-identical, unique identifier and encryption.xml kept, images in
# the same format and no larger; with PROFILE lossless, the same pixels
# where this machine can decode them.
qr_compare_epub() {
    python3 - compare "$1" "$2" "$3" <<<"$QR_PY_LIB" 2>>"$QR_TMP/compare-notes.log" ||
        echo "comparison crashed: $(tail -n 1 "$QR_TMP/compare-notes.log")"
}

# qr_epub_images EPUB: "name format width height bytes" per raster image.
qr_epub_images() {
    python3 - images "$1" <<<"$QR_PY_LIB"
}

# qr_same_pixels A B: prints images whose pixels differ; status 2 if no image
# could be decoded on this machine.
qr_same_pixels() {
    python3 - pixels "$1" "$2" <<<"$QR_PY_LIB"
}

# ---- epubcheck -------------------------------------------------------------

QR_EPUBCHECK=()

# qr_epubcheck_find: fills QR_EPUBCHECK with the command that runs epubcheck,
# or leaves it empty. Debian's /usr/bin/epubcheck is a symlink to the jar,
# which runs only where binfmt-support is set up, so the jar is run by java
# directly (with a quicker-starting JIT) when it is there.
qr_epubcheck_find() {
    local jar=/usr/share/java/epubcheck.jar
    if [[ -n "${QR_EPUBCHECK_JAR:-}" ]]; then
        jar="$QR_EPUBCHECK_JAR"
    fi
    if [[ -f "$jar" ]] && command -v java >/dev/null; then
        QR_EPUBCHECK=(java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xss4m -jar "$jar")
    elif command -v epubcheck >/dev/null && epubcheck --version >/dev/null 2>&1; then
        QR_EPUBCHECK=(epubcheck)
    fi
}

# qr_epubcheck EPUB OUTFILE: runs epubcheck and writes the sorted set of its
# error message ids ("ERROR(RSC-005)", "FATAL(PKG-008)") to OUTFILE, the
# full report to OUTFILE.log. Fails if epubcheck did not run to completion.
qr_epubcheck() {
    local epub="$1" out="$2" rc=0
    (cd "$QR_TMP" && timeout -k 10 300 "${QR_EPUBCHECK[@]}" "$epub") >"$out.log" 2>&1 || rc=$?
    grep -oE '^(FATAL|ERROR)\([A-Z]+-[0-9]+\)' "$out.log" | sort -u >"$out" || true
    if ! grep -q 'EPUBCheck completed\|Check finished' "$out.log"; then
        echo "epubcheck did not complete (exit $rc) on $epub" >>"$out.log"
        return 1
    fi
}

# qr_validate_manifests OUT MANIFEST...: validates every manifest against the Readium
# schemas with ajv (tests/manifest-schema, installed by scripts/setup.sh) in one node run;
# OUT gets one "<path>: valid" or "<path>: <error>" line each (empty when there is nothing
# to check, or node is missing outside CI, which is said on stdout). Dies when the
# validator is not installed or, in CI, node is missing.
qr_validate_manifests() {
    local out="$1" schema
    shift
    : >"$out"
    if (($# == 0)); then
        return 0
    elif ! command -v node >/dev/null; then
        [[ "${CI:-}" != true ]] || qr_die "node is required in CI"
        echo "note: node not found; manifest schema validation skipped"
    else
        schema="$(qr_npm_dir tests/manifest-schema ajv-formats/package.json)" || exit 1
        QR_SHARED_DIR="$(cd "$QR_CORPUS/.." && pwd)" node "$schema/validate.js" "$@" >"$out" 2>&1 || true
    fi
}

# qr_npm_dir DIR CHECK: prints $QR_SRCDIR/DIR when its npm packages are installed
# (DIR/node_modules/CHECK exists and DIR's lockfile is not newer than the install);
# else dies naming scripts/setup.sh. Tests never run npm: a registry that fails
# for a moment must not fail a test.
qr_npm_dir() {
    local dir="$QR_SRCDIR/$1"
    if [[ ! -e "$dir/node_modules/$2" ]]; then
        qr_die "$1/node_modules/$2 is missing: run scripts/setup.sh (it installs every npm package the tests use)"
    elif [[ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]]; then
        qr_die "$1/package-lock.json changed since the last install: run scripts/setup.sh"
    fi
    echo "$dir"
}

# ---- private network namespace and s3rver ------------------------------------

# qr_netns_reexec "$@": re-runs the calling test inside a new network namespace
# that has only loopback (root and unshare needed; skips otherwise), so a test
# whose code could, if wrong, aim a packet off the host cannot send it. Call
# before qr_init; returns only inside the namespace, with lo up.
qr_netns_reexec() {
    if [[ -z "${QR_IN_NETNS:-}" ]]; then
        if [[ "$(id -u)" != 0 ]] || ! command -v unshare >/dev/null || ! unshare --net true 2>/dev/null; then
            qr_skip "needs root and unshare --net for a private network namespace"
        fi
        QR_IN_NETNS=1 exec unshare --net bash "${BASH_SOURCE[1]}" "$@"
    fi
    ip link set lo up 2>/dev/null || qr_skip "cannot bring up loopback in the namespace (iproute2)"
}

# qr_s3rver: prints the path of the pinned s3rver (tests/s3, installed by
# scripts/setup.sh); dies naming scripts/setup.sh when it is missing, skips
# without node unless CI=true. Call after qr_init.
qr_s3rver() {
    if ! command -v node >/dev/null; then
        [[ "${CI:-}" != true ]] || qr_die "node missing (CI=true: the S3 tests must run)"
        qr_skip "node missing: cannot run s3rver"
    fi
    local dir
    dir="$(qr_npm_dir tests/s3 .bin/s3rver)" || exit 1
    echo "$dir/node_modules/.bin/s3rver"
}

# ---- waiting and ports -------------------------------------------------------

# qr_wait_for SECONDS COMMAND...: polls COMMAND every 0.1 s; status 1 on timeout.
qr_wait_for() {
    local limit=$(($1 * 10))
    shift
    local i
    for ((i = 0; i < limit; i++)); do
        if "$@"; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# qr_redis_start [OPTIONS...]: a redis-server on a free port of 127.0.0.1,
# without persistence unless OPTIONS say otherwise (later options win), its
# files and log (redis.log) in $QR_TMP; it dies with the test (qr_cleanup
# kills background jobs). Sets QR_REDIS_PORT, QR_REDIS_PID and REDIS_URL;
# skips the test when redis-server or redis-cli is not installed.
qr_redis_start() {
    command -v redis-server >/dev/null || qr_skip "redis-server not installed"
    command -v redis-cli >/dev/null || qr_skip "redis-cli not installed"
    QR_REDIS_PORT="$(qr_free_port)"
    redis-server --port "$QR_REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$QR_TMP" "$@" >"$QR_TMP/redis.log" 2>&1 &
    export QR_REDIS_PID=$!
    qr_wait_for 10 qr_redis_up || qr_die "redis-server did not start: $(cat "$QR_TMP/redis.log")"
    export REDIS_URL="redis://127.0.0.1:$QR_REDIS_PORT/0"
}

# qr_redis ARGS...: redis-cli --raw against qr_redis_start's server.
qr_redis() { redis-cli -p "$QR_REDIS_PORT" --raw "$@"; }
# qr_redis_up: it answers PING.
qr_redis_up() { [[ "$(qr_redis PING 2>/dev/null)" == PONG ]]; }

# qr_free_port: prints a TCP port that was free on 127.0.0.1 a moment ago.
qr_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# ---- results ---------------------------------------------------------------

qr_pass() {
    QR_PASSED=$((QR_PASSED + 1))
    echo "PASS $*"
}

# qr_fail NAME REASON...: one FAIL line per case, every reason indented under it.
qr_fail() {
    local name="$1"
    shift
    QR_FAILED=$((QR_FAILED + 1))
    echo "FAIL $name"
    local r
    for r in "$@"; do
        printf '     - %s\n' "$r"
    done
}

# qr_case NAME REASON...: PASS if every reason is empty, else FAIL with the non-empty ones.
qr_case() {
    local name="$1"
    shift
    local r real=()
    for r in "$@"; do
        [[ -n "$r" ]] && real+=("$r")
    done
    if ((${#real[@]} == 0)); then
        qr_pass "$name"
    else
        qr_fail "$name" "${real[@]}"
    fi
}

# qr_verdict NAME REASONS_FILE: PASS if the file is empty, FAIL with its lines otherwise.
qr_verdict() {
    local name="$1" file="$2"
    if [[ -s "$file" ]]; then
        local lines=()
        mapfile -t lines <"$file"
        qr_fail "$name" "${lines[@]}"
    else
        qr_pass "$name"
    fi
}

# qr_summary: prints the totals and exits 0 only if nothing failed.
qr_summary() {
    echo "$QR_PASSED passed, $QR_FAILED failed (${SECONDS}s)"
    if ((QR_FAILED > 0)); then
        exit 1
    fi
    if ((QR_PASSED == 0)); then
        qr_die "no case ran"
    fi
    exit 0
}
