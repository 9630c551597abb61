"""Turns a `quire sample-book` EPUB into the test book of test_jpeg_profiles.sh.

Adds a PNG with transparency, a flat diagram PNG, an existing JPEG whose name a renamed
PNG would take, an SVG file, and references to the sample's PNG photographs in every form:
XHTML src (plain and percent-encoded), a style attribute with a fragment, a <style>
element, CSS url(), SVG href and xlink:href. Usage: make_jpeg_book.py IN OUT ALPHA.png
"""
import struct
import sys
import zipfile
import zlib


def png(width, height, rows, colour_type):
    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\0" + r for r in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8,
                                                               colour_type, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def diagram(w=800, h=600):
    rows = []
    for y in range(h):
        row = bytearray(b"\xff" * (w * 3))
        for x in range(w):
            if (x // 80 + y // 60) % 3 == 0:
                row[x * 3:x * 3 + 3] = bytes((200, 40, (x // 80) * 20))
            if x % 100 == 0 or y % 75 == 0:
                row[x * 3:x * 3 + 3] = b"\0\0\0"
        rows.append(bytes(row))
    return png(w, h, rows, 2)


src, dst, alpha = sys.argv[1], sys.argv[2], sys.argv[3]
zin = zipfile.ZipFile(src)
files = {n: zin.read(n) for n in zin.namelist()}
order = zin.namelist()
E = "EPUB/"
opf = files[E + "package.opf"].decode()
opf = opf.replace("  </manifest>",
                  '    <item id="alpha" href="images/alpha.png" media-type="image/png"/>\n'
                  '    <item id="diagram" href="images/diagram.png" media-type="image/png"/>\n'
                  '    <item id="taken" href="images/img-004.jpg" media-type="image/jpeg"/>\n'
                  '    <item id="fig" href="images/fig.svg" media-type="image/svg+xml"/>\n'
                  "  </manifest>")
files[E + "package.opf"] = opf.encode()
files[E + "images/alpha.png"] = open(alpha, "rb").read()
files[E + "images/diagram.png"] = diagram()
files[E + "images/img-004.jpg"] = files[E + "images/img-001.jpg"]
files[E + "images/fig.svg"] = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
    'width="200" height="100" viewBox="0 0 200 100">\n'
    '  <image xlink:href="img-002.png" x="0" y="0" width="100" height="100"/>\n'
    '  <image href="img-004.png" x="100" y="0" width="100" height="100"/>\n'
    "</svg>\n").encode()
order += [E + "images/alpha.png", E + "images/diagram.png", E + "images/img-004.jpg",
          E + "images/fig.svg"]
files[E + "css/style.css"] += b".hero { background: url(\"../images/img-002.png\") no-repeat; }\n"
ch = files[E + "text/chapter-02.xhtml"].decode()
extra = ('    <style>.x { background-image: url(../images/img-004.png); }</style>\n'
         '    <div class="hero" style="background: url(\'../images/img-004.png#x\')"></div>\n'
         '    <p><img src="../images/img%2D002.png" alt="percent-encoded"/></p>\n'
         '    <p><img src="../images/alpha.png" alt="transparent"/></p>\n'
         '    <p><img src="../images/diagram.png" alt="diagram"/></p>\n'
         '    <p><img src="../images/fig.svg" alt="svg"/></p>\n'
         "  </section>")
ch = ch.replace("    <style>", "").replace("  </section>", extra, 1)
# A <style> element belongs in <head>: move it there.
ch = ch.replace('    <style>.x { background-image: url(../images/img-004.png); }</style>\n', "")
ch = ch.replace("</head>", '<style>.x { background-image: url(../images/img-004.png); }</style>\n</head>')
files[E + "text/chapter-02.xhtml"] = ch.encode()
with zipfile.ZipFile(dst, "w") as z:
    z.writestr(zipfile.ZipInfo("mimetype", (2024, 1, 1, 12, 0, 0)), files["mimetype"],
               compress_type=zipfile.ZIP_STORED)
    for n in order:
        if n != "mimetype":
            z.writestr(zipfile.ZipInfo(n, (2024, 1, 1, 12, 0, 0)), files[n],
                       compress_type=zipfile.ZIP_DEFLATED)
