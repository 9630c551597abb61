#!/usr/bin/env python3
"""Checks quire's layering: every #include of a quire header (include/qr/*.h,
or another module's internal header under src/) in include/ and src/ must
point to the same layer or a lower one, as the table under "## Layers" in
docs/architecture.md assigns them; a module's internal headers are its own.

    scripts/check-layers.py [ROOT]

Prints one line per violation (file:line: what) and exits 1 when there is
any; exits 2 when the table is missing or names something that does not
exist; 0 otherwise."""
import os
import re
import sys

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
doc = os.path.join(root, "docs", "architecture.md")
try:
    text = open(doc, encoding="utf-8").read()
except OSError as e:
    print(f"layers: cannot read {doc}: {e}")
    sys.exit(2)

m = re.search(r"^## Layers\n(.*?)(?=^## |\Z)", text, re.S | re.M)
if not m:
    print("layers: docs/architecture.md has no '## Layers' section")
    sys.exit(2)
header_layer, module_layer, names = {}, {}, {}
for line in m.group(1).splitlines():
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) != 3 or not re.match(r"^\d+\b", cells[0]):
        continue
    n = int(cells[0].split()[0])
    names[n] = cells[0]
    for h in re.findall(r"[a-z_0-9]+", cells[1].replace("`", "")):
        header_layer[h] = n
    for s in re.findall(r"[a-z_0-9]+", cells[2].replace("`", "")):
        module_layer[s] = n
if not header_layer:
    print("layers: the table under '## Layers' lists no layer")
    sys.exit(2)

problems = []
inc_dir = os.path.join(root, "include", "qr")
src_dir = os.path.join(root, "src")
for h in sorted(os.listdir(inc_dir)):
    if h.endswith(".h") and h[:-2] not in header_layer:
        problems.append(f"include/qr/{h}: not in the layer table")
for d in sorted(os.listdir(src_dir)):
    if os.path.isdir(os.path.join(src_dir, d)) and d not in module_layer:
        problems.append(f"src/{d}/: not in the layer table")
for h in header_layer:
    if not os.path.exists(os.path.join(inc_dir, h + ".h")):
        print(f"layers: the table names include/qr/{h}.h, which does not exist")
        sys.exit(2)

include_re = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def check(path, rel, own_layer, own_module):
    with open(path, encoding="utf-8", errors="replace") as f:
        for no, line in enumerate(f, 1):
            mm = include_re.match(line)
            if not mm:
                continue
            target = mm.group(1)
            if target.startswith("qr/"):
                name = target[3:-2]
                layer = header_layer.get(name)
                if layer is None:
                    continue  # reported above as a header missing from the table
                if layer > own_layer:
                    problems.append(
                        f"{rel}:{no}: includes {target} ({names[layer]}) from {names[own_layer]}")
            elif "/" in target:
                mod = target.split("/")[0]
                if mod in module_layer and mod != own_module:
                    problems.append(
                        f"{rel}:{no}: includes {target}, an internal header of src/{mod}/")


for h in sorted(os.listdir(inc_dir)):
    if h.endswith(".h") and h[:-2] in header_layer:
        check(os.path.join(inc_dir, h), f"include/qr/{h}", header_layer[h[:-2]], None)
for d in sorted(os.listdir(src_dir)):
    if d not in module_layer:
        continue
    for dirpath, _, files in os.walk(os.path.join(src_dir, d)):
        for fn in sorted(files):
            if fn.endswith((".c", ".h")):
                p = os.path.join(dirpath, fn)
                check(p, os.path.relpath(p, root), module_layer[d], d)

for p in problems:
    print(p)
sys.exit(1 if problems else 0)
