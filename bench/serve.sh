#!/usr/bin/env bash
# Benchmark of `quire serve` on loopback with wrk: sustained requests per
# second and latency percentiles of
#   (a) POST /v1/books, JSON with an s3:// source, a new book id each request
#       (every request queues a job: the submit script runs in full);
#   (b) the same POST again (the idempotency path: the first job is returned);
#   (c) GET /v1/jobs/{id} of a queued job.
# Against a private redis-server; bearer token authentication; no rate limit.
# Measures only; asserts nothing. Every wrk run is bounded (BENCH_SECONDS).
#
# usage: bench/serve.sh [--no-write] [QUIRE_BIN]
#   QUIRE_BIN  default $QUIRE_BIN, else build-bench/quire (use a Release build)
# Writes its section into docs/benchmarks.md (BENCH_DOC) between
# <!-- bench:serve:begin --> and <!-- bench:serve:end -->, replacing it.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
write=1
if [[ "${1:-}" == --no-write ]]; then
    write=0
    shift
fi
bin="${1:-${QUIRE_BIN:-$root/build-bench/quire}}"
doc="${BENCH_DOC:-$root/docs/benchmarks.md}"
secs="${BENCH_SECONDS:-10}"
conns="${BENCH_CONNECTIONS:-16}"
[[ -x "$bin" ]] || { echo "no quire binary at $bin" >&2; exit 1; }
"$bin" serve --help >/dev/null 2>&1 || { echo "$bin has no serve command" >&2; exit 1; }
for t in redis-server redis-cli wrk curl; do
    command -v "$t" >/dev/null || { echo "$t is not installed (scripts/setup.sh --bench)" >&2; exit 1; }
done

tmp="$(mktemp -d "${TMPDIR:-/tmp}/quire-bench-serve.XXXXXX")"
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]+"${PIDS[@]}"}"; do
        kill "$p" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

rport="$(port)"
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no >"$tmp/redis.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do redis-cli -p "$rport" ping >/dev/null 2>&1 && break; sleep 0.1; done
token="bench-token-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '%s\n' "$token" >"$tmp/tokens"
chmod 600 "$tmp/tokens"
sport="$(port)"
"$bin" serve --listen "127.0.0.1:$sport" --redis "redis://127.0.0.1:$rport" --tokens-file "$tmp/tokens" \
    --rate 0 --max-connections 1024 >"$tmp/serve.out" 2>"$tmp/serve.err" &
PIDS+=($!)
base="http://127.0.0.1:$sport"
for _ in $(seq 100); do curl -s -o /dev/null "$base/healthz" && break; sleep 0.1; done

cat >"$tmp/post.lua" <<EOF
-- Each wrk thread has its own Lua state: setup() gives every thread its own id.
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
local n = 0
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer $token"
wrk.headers["Content-Type"] = "application/json"
request = function()
  n = n + 1
  local body = '{"book_id":"b' .. tid .. '-' .. n .. '","source":"s3://bench/book-' .. tid .. '-' .. n .. '.epub","revision":"1"}'
  return wrk.format(nil, "/v1/books", nil, body)
end
EOF
cat >"$tmp/same.lua" <<EOF
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer $token"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"book_id":"same","source":"s3://bench/same.epub"}'
EOF
job="$(curl -s -X POST "$base/v1/books" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d '{"book_id":"get-me","source":"s3://bench/get-me.epub"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["job_id"])')"
cat >"$tmp/get.lua" <<EOF
wrk.headers["Authorization"] = "Bearer $token"
EOF

# run NAME SCRIPT PATH: one bounded wrk run; prints "rps p50 p99 requests non2xx".
run() {
    timeout -k 5 $((secs + 30)) wrk -t 2 -c "$conns" -d "${secs}s" --latency -s "$2" "$base$3" >"$tmp/$1.txt" 2>&1
    python3 - "$tmp/$1.txt" <<'EOF'
import re, sys
t = open(sys.argv[1]).read()
def lat(p):
    m = re.search(r"^\s*%s%%\s+([\d.]+)(us|ms|s)\s*$" % p, t, re.M)
    if not m:
        return float("nan")
    v = float(m.group(1))
    return v / 1000 if m.group(2) == "us" else v * 1000 if m.group(2) == "s" else v
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
req = int(re.search(r"(\d+) requests in", t).group(1))
m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", t)
print("%.0f %.2f %.2f %d %d" % (rps, lat(50), lat(99), req, int(m.group(1)) if m else 0))
EOF
}
read -r p_rps p_50 p_99 p_n p_bad < <(run post "$tmp/post.lua" /v1/books)
queued="$(redis-cli -p "$rport" llen resque:queue:books)"
read -r s_rps s_50 s_99 s_n s_bad < <(run same "$tmp/same.lua" /v1/books)
read -r g_rps g_50 g_99 g_n g_bad < <(run get "$tmp/get.lua" "/v1/jobs/$job")
rss="$(ps -o rss= -p "${PIDS[1]}" | tr -d ' ')"
cpu="$(nproc)"
host="$(uname -m), $cpu CPU(s), $(lscpu 2>/dev/null | sed -n 's/^Model name:\s*//p' | head -n 1)"

section="$(
    cat <<EOF
<!-- bench:serve:begin -->
## quire serve: HTTP intake requests per second (bench/serve.sh)

\`wrk -t 2 -c $conns -d ${secs}s --latency\` against \`quire serve\` (one thread, bearer token,
no rate limit) and a private redis-server, on loopback; $host; $(date -u +%Y-%m-%d).

| request | requests/s | p50 ms | p99 ms | requests | non-2xx |
|---|---:|---:|---:|---:|---:|
| POST /v1/books, a new book each time (queues a job) | $p_rps | $p_50 | $p_99 | $p_n | $p_bad |
| POST /v1/books, the same book again (idempotent replay) | $s_rps | $s_50 | $s_99 | $s_n | $s_bad |
| GET /v1/jobs/{id} (queued job) | $g_rps | $g_50 | $g_99 | $g_n | $g_bad |

Jobs queued by the first run: $queued (one per request: every book id was new). Resident memory of \`quire serve\` afterwards: ${rss} KiB.
The client (wrk) and Redis share the same cores as the server.
<!-- bench:serve:end -->
EOF
)"
echo "$section"
if [[ "$write" == 1 ]]; then
    sec_file="$(mktemp)"
    printf '%s\n' "$section" >"$sec_file"
    bench_write_section "$doc" serve "$sec_file"
    rm -f "$sec_file"
    echo "written to $doc"
fi
