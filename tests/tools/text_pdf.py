#!/usr/bin/env python3
"""Writes a small PDF with text only (no images), its xref offsets computed here.

usage: text_pdf.py OUT.pdf [PAGES]   (2 pages by default, "page one", "page two", ...)
"""
import sys

words = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]


def stream(text):
    body = b"BT /F1 18 Tf 40 150 Td (" + text + b") Tj ET"
    return b"<< /Length %d >>\nstream\n" % len(body) + body + b"\nendstream"


def main():
    out_path = sys.argv[1]
    pages = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    font = 3 + 2 * pages
    kids = b" ".join(b"%d 0 R" % (3 + 2 * i) for i in range(pages))
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % pages]
    for i in range(pages):
        objs.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 300] /Contents %d 0 R "
                    b"/Resources << /Font << /F1 %d 0 R >> >> >>" % (4 + 2 * i, font))
        objs.append(stream(b"page " + words[i % len(words)].encode()))
    objs.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = bytearray(b"%PDF-1.4\n")
    offs = []
    for i, o in enumerate(objs, 1):
        offs.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    x = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for o in offs:
        out += b"%010d 00000 n \n" % o
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, x)
    with open(out_path, "wb") as f:
        f.write(out)


if __name__ == "__main__":
    main()
