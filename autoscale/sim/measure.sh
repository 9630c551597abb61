#!/usr/bin/env bash
# Measures `quire process` on generated sample books of several sizes and
# writes the per-run numbers the fleet simulator uses for a job's processing
# time and CPU (autoscale/sim/data/quire-process.json). Measures only; asserts
# nothing; not part of ctest.
#
# usage: autoscale/sim/measure.sh [QUIRE_BIN] [RUNS]
#   QUIRE_BIN  a Release build (default build-rel/quire; sanitizers distort times):
#              cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release -DQR_BUILD_TESTS=OFF
#              cmake --build build-rel --target quire
#   RUNS       runs per book (default 3)
# Each run: `quire process BOOK -o DIR --key-file K --json -q` under GNU time
# (/usr/bin/time: elapsed, user and system CPU seconds, peak RSS), the 1-minute
# load average read just before it, and the report's per-stage seconds.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${1:-$root/build-rel/quire}"
runs="${2:-3}"
out="$root/autoscale/sim/data/quire-process.json"
[[ -x "$bin" ]] || { echo "measure: no quire binary at $bin" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "measure: GNU time is required (apt-get install time)" >&2; exit 1; }
tmp="$(mktemp -d "${TMPDIR:-/tmp}/quire-measure.XXXXXX")"
trap 'rm -rf -- "$tmp"' EXIT
"$bin" keys generate -o "$tmp/k.key" >/dev/null 2>&1

# name chapters images size: photographs dominate a book's bytes and its time.
books=(
    "xs 6 2 1600x1200"
    "s 12 4 2400x1800"
    "m 12 8 3200x2400"
    "l 24 16 3200x2400"
    "xl 32 32 3200x2400"
    "xxl 48 64 3200x2400"
)
: >"$tmp/runs.jsonl"
for spec in "${books[@]}"; do
    read -r name chapters images size <<<"$spec"
    book="$tmp/$name.epub"
    "$bin" sample-book "$book" --chapters "$chapters" --images "$images" --size "$size" 2>/dev/null
    bytes="$(stat -c %s "$book")"
    for ((i = 1; i <= runs; i++)); do
        rm -rf "$tmp/pkg"
        load="$(cut -d' ' -f1 /proc/loadavg)"
        /usr/bin/time -f '%e %U %S %M' -o "$tmp/time" \
            "$bin" process "$book" -o "$tmp/pkg" --key-file "$tmp/k.key" --json -q >"$tmp/report.json"
        read -r wall user sys rss_kb <"$tmp/time"
        python3 - "$tmp/report.json" "$name" "$chapters" "$images" "$size" "$bytes" \
            "$wall" "$user" "$sys" "$rss_kb" "$load" "$i" >>"$tmp/runs.jsonl" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
name, ch, im, size, nbytes, wall, user, sys_s, rss, load, run = sys.argv[2:]
print(json.dumps({
    "book": name, "chapters": int(ch), "images": int(im), "image_size": size,
    "bytes": int(nbytes), "run": int(run), "load1_before": float(load),
    "wall_s": float(wall), "user_s": float(user), "sys_s": float(sys_s),
    "peak_rss_kb": int(rss), "stage_s": r["seconds"],
    "compressed_bytes": r["compressed_bytes"], "slices": r["slices"],
}))
PY
        echo "measure: $name run $i: $bytes bytes, ${wall}s wall, ${user}s user, ${sys}s sys (load $load)" >&2
    done
done

python3 - "$tmp/runs.jsonl" "$out" "$bin" "$runs" <<'PY'
import json, os, platform, subprocess, sys, time
runs = [json.loads(l) for l in open(sys.argv[1])]
bin_, nruns = sys.argv[3], int(sys.argv[4])
version = subprocess.run([bin_, "--version"], capture_output=True, text=True).stdout.strip()
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "")
mem_kb = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal"))
doc = {
    "what": "quire process on generated sample books (quire sample-book), one run at a time",
    "how": ("autoscale/sim/measure.sh: quire sample-book BOOK --chapters C --images I --size WxH; "
            "then %d runs of `quire process BOOK -o DIR --key-file K --json -q` under GNU time "
            "(elapsed, user, system, max RSS); threads: quire's default, one per CPU; local "
            "files only (no S3 download or upload, no callback)" % nruns),
    "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "machine": {"cpus": os.cpu_count(), "cpu": cpu, "mem_gb": round(mem_kb / 1048576, 1),
                "kernel": platform.release(), "shared": True},
    "quire": version,
    "runs": runs,
}
with open(sys.argv[2], "w") as f:
    json.dump(doc, f, indent=1)
    f.write("\n")
print("measure: wrote %s (%d runs)" % (sys.argv[2], len(runs)), file=sys.stderr)
PY
