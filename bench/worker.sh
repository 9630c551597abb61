#!/usr/bin/env bash
# Benchmark of `quire worker`'s own overhead against a private redis-server on
# 127.0.0.1: jobs per second through reserve -> (fork ->) run -> record for
# trivial jobs, and the worker's resident memory when idle. Measures only;
# asserts nothing.
#
#   (a) BENCH_NOFORK (200) jobs of an unknown class: reserved and recorded as
#       failures without a fork (the worker's floor);
#   (b) BENCH_BOOKS (50) first publications of a tiny sample book (one
#       chapter, no images): fork, process, publish, record;
#   (c) the same BENCH_BOOKS jobs again: fork, find the package already
#       published, verify it and skip;
#   (d) RSS (ps -o rss) of the idle worker after start-up and after the jobs.
# Resque's numbers for a no-op job come from ../shared/reference/measurements.md.
#
# usage: bench/worker.sh [--no-write] [QUIRE_BIN]
#   QUIRE_BIN  default $QUIRE_BIN, else build-bench/quire (use a Release build)
# Writes its section into docs/benchmarks.md (BENCH_DOC) between
# <!-- bench:worker:begin --> and <!-- bench:worker:end -->, replacing it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
write=1
if [[ "${1:-}" == --no-write ]]; then
    write=0
    shift
fi
bin="${1:-${QUIRE_BIN:-$root/build-bench/quire}}"
doc="${BENCH_DOC:-$root/docs/benchmarks.md}"
nofork="${BENCH_NOFORK:-200}"
books="${BENCH_BOOKS:-50}"
[[ -x "$bin" ]] || { echo "no quire binary at $bin" >&2; exit 1; }
"$bin" worker --help >/dev/null 2>&1 || { echo "$bin has no worker command" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "redis-server is not installed" >&2; exit 1; }
command -v redis-cli >/dev/null || { echo "redis-cli is not installed" >&2; exit 1; }

tmp="$(mktemp -d "${TMPDIR:-/tmp}/quire-bench-worker.XXXXXX")"
REDIS_PID=""
WORKER_PID=""
cleanup() {
    if [[ -n "$WORKER_PID" ]]; then
        kill -KILL "$WORKER_PID" 2>/dev/null || true
    fi
    if [[ -n "$REDIS_PID" ]]; then
        kill -KILL "$REDIS_PID" 2>/dev/null || true
    fi
    wait 2>/dev/null || true
    rm -rf -- "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" \
    >"$tmp/redis.log" 2>&1 &
REDIS_PID=$!
rc() { redis-cli -p "$port" --raw "$@"; }
for ((i = 0; i < 100; i++)); do
    [[ "$(rc PING 2>/dev/null)" == PONG ]] && break
    sleep 0.1
done
[[ "$(rc PING 2>/dev/null)" == PONG ]] || { echo "redis-server did not start" >&2; exit 1; }

mkdir -p "$tmp/src"
"$bin" sample-book "$tmp/src/tiny.epub" --chapters 1 --images 0 2>/dev/null
"$bin" keys generate -o "$tmp/keys.json" >/dev/null 2>&1

"$bin" worker --redis "redis://127.0.0.1:$port/0" --queues bench --store "$tmp/store" \
    --key-file "$tmp/keys.json" --source-dir "$tmp/src" --interval 0.05 --threads 1 \
    --work-dir "$tmp" >"$tmp/worker.out" 2>"$tmp/worker.err" </dev/null &
WORKER_PID=$!
for ((i = 0; i < 100; i++)); do
    [[ "$(rc SCARD resque:workers)" == 1 ]] && break
    sleep 0.1
done
[[ "$(rc SCARD resque:workers)" == 1 ]] || { echo "worker did not register: $(tail -c 400 "$tmp/worker.err")" >&2; exit 1; }
sleep 1
rss_idle="$(ps -o rss= -p "$WORKER_PID" | tr -d ' ')"

counter() { local n; n="$(rc GET "resque:stat:$1")"; echo "${n:-0}"; }

# run_batch STAT PAYLOAD...: pushes the payloads in one RPUSH and prints the
# seconds until resque:stat:STAT has grown by their number.
run_batch() {
    local stat="$1" want t0 t1
    shift
    want=$(($(counter "$stat") + $#))
    rc SADD resque:queues bench >/dev/null
    t0="$EPOCHREALTIME"
    rc RPUSH resque:queue:bench "$@" >/dev/null
    for ((i = 0; i < 60000; i++)); do
        (($(counter "$stat") >= want)) && break
        sleep 0.005
    done
    t1="$EPOCHREALTIME"
    (($(counter "$stat") >= want)) || { echo "batch did not finish: $(tail -c 400 "$tmp/worker.err")" >&2; exit 1; }
    python3 -c "print('%.3f' % ($t1 - $t0))"
}

p_nofork=()
for ((i = 1; i <= nofork; i++)); do
    p_nofork+=('{"class":"Bench::Nothing","args":[{"n":'"$i"'}]}')
done
p_books=()
for ((i = 1; i <= books; i++)); do
    p_books+=('{"class":"Quire::ProcessBook","args":[{"book_id":"b'"$i"'","source":"'"$tmp/src/tiny.epub"'","revision":"r1"}]}')
done
s_nofork="$(run_batch failed "${p_nofork[@]}")"
s_first="$(run_batch processed "${p_books[@]}")"
failed_before="$(counter failed)"
s_again="$(run_batch processed "${p_books[@]}")"
[[ "$(counter failed)" == "$failed_before" ]] || echo "warning: some book jobs failed: $(rc LINDEX resque:failed 0 | head -c 300)" >&2
sleep 1
rss_after="$(ps -o rss= -p "$WORKER_PID" | tr -d ' ')"
kill -TERM "$WORKER_PID"
wait "$WORKER_PID" || true
WORKER_PID=""

version="$("$bin" --version 2>/dev/null | head -n 1)"
redis_version="$(redis-server --version | sed -n 's/.* v=\([^ ]*\).*/\1/p')"
section="$(python3 - "$nofork" "$s_nofork" "$books" "$s_first" "$s_again" "$rss_idle" "$rss_after" \
    "$version" "$redis_version" "$(nproc)" "$(cut -d' ' -f1 /proc/loadavg)" <<'PY'
import sys, time
nofork, s_nofork, books, s_first, s_again = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
rss_idle, rss_after = int(sys.argv[6]) / 1024.0, int(sys.argv[7]) / 1024.0
version, redis_version, cores, load = sys.argv[8:12]
rate = lambda n, s: n / s if s > 0 else float("inf")
print("## quire worker: overhead per job and idle memory")
print()
print("`bench/worker.sh` (%s, %s UTC, %s cores, load %s, Redis %s on loopback, one worker," % (
    version, time.strftime("%Y-%m-%d %H:%M", time.gmtime()), cores, load, redis_version))
print("`--threads 1`, jobs pushed in one RPUSH, timed until `resque:stat:*` counts them all).")
print()
print("| jobs | path | jobs | seconds | jobs/s | ms/job |")
print("|---|---|---:|---:|---:|---:|")
for name, path, n, s in (
        ("unknown class", "reserve, record failure (no fork)", nofork, s_nofork),
        ("tiny book, first time", "reserve, fork, process + publish, record", books, s_first),
        ("tiny book, already published", "reserve, fork, verify and skip, record", books, s_again)):
    print("| %s | %s | %d | %.2f | %.0f | %.1f |" % (name, path, n, s, rate(n, s), 1000.0 * s / n))
print("| Resque 3.0, no-op job, fork per job | `../shared/reference/measurements.md` | | | ~105 | ~9.5 |")
print("| Resque 3.0, no-op job, `FORK_PER_JOB=false` | `../shared/reference/measurements.md` | | | ~730 | ~1.4 |")
print()
print("Worker RSS (`ps -o rss`): %.1f MB idle after start-up, %.1f MB idle after the %d jobs." % (
    rss_idle, rss_after, nofork + 2 * books))
print()
print("Resque's figures are from another run (Ruby 3.1, Redis 7.0); compare orders of magnitude,")
print("not digits. The already-published row is the nearest to Resque's fork-per-job no-op job.")
PY
)"
echo "$section"
if ((write)); then
    python3 - "$doc" "$section" <<'PY'
import sys
path, body = sys.argv[1], sys.argv[2]
begin = "<!-- bench:worker:begin (written by bench/worker.sh; a rerun replaces this section) -->"
end = "<!-- bench:worker:end -->"
text = open(path).read()
block = begin + "\n" + body + "\n" + end
b = text.find("<!-- bench:worker:begin")
e = text.find(end)
if b >= 0 and e > b:
    text = text[:b] + block + text[e + len(end):]
else:
    text = text.rstrip("\n") + "\n\n" + block + "\n"
open(path, "w").write(text)
PY
    echo "wrote the section into $doc"
fi
