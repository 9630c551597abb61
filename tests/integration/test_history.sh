#!/usr/bin/env bash
# The job history and per-job logs (docs/operations/monitoring.md) with a real
# redis-server on 127.0.0.1 and a real worker: a good book, a broken book, a
# book killed by the memory limit and one by the wall-clock limit each leave a
# history record with the right outcome and plausible numbers (the killed
# child's peak RSS above the limit, stage times within the wall time), a log
# that `quire logs` prints by job id and by book id, and a failure entry that
# names it; `quire history` lists and summarizes them, as text and JSON.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
qr_init history


t="$QR_TMP"
REDIS_PID=""
WPID=""
stop_all() {
    local p
    for p in "$WPID" "$REDIS_PID"; do
        if [[ -n "$p" ]]; then
            kill -KILL "$p" 2>/dev/null || true
        fi
    done
    qr_cleanup
}
trap stop_all EXIT

# shellcheck disable=SC2119 # no extra redis-server options
qr_redis_start
PORT="$QR_REDIS_PORT" REDIS_PID="$QR_REDIS_PID"
rc() { qr_redis "$@"; }

mkdir -p "$t/src"
qr_run "$t/s1" sample-book "$t/src/good.epub" --chapters 2 --images 2 --size 800x600
qr_run "$t/s2" sample-book "$t/src/big.epub" --chapters 16 --images 40 --size 2400x1800
[[ "$(qr_rc "$t/s2")" == 0 ]] || qr_die "sample-book failed: $(cat "$t/s2.err")"
printf 'PK\003\004 this is not a book' >"$t/src/broken.epub"
qr_run "$t/keys" keys generate -o "$t/keys.json"

export REDIS_URL="redis://127.0.0.1:$PORT/0"
export QUIRE_KEY_FILE="$t/keys.json" QUIRE_STORE="$t/store" QUIRE_INTERVAL=0.2

job() { echo '{"class":"Quire::ProcessBook","args":[{"book_id":"'"$1"'","source":"'"$t/src/$2"'","revision":"r1"}]}'; }
# run_one BOOK FILE ARGS...: one job through a fresh worker, which stops once the queue is empty.
run_one() {
    local book="$1" file="$2"
    shift 2
    rc SADD resque:queues books >/dev/null
    rc RPUSH resque:queue:books "$(job "$book" "$file")" >/dev/null
    "$QUIRE_BIN" worker --queues books --threads 1 --admin off --max-attempts 1 "$@" \
        >"$t/w-$book.out" 2>"$t/w-$book.err" </dev/null &
    WPID=$!
    local before n i
    before="$(rc XLEN resque:quire:history)"
    for ((i = 0; i < 3000; i++)); do
        n="$(rc XLEN resque:quire:history)"
        ((n > before)) && break
        sleep 0.1
    done
    kill -TERM "$WPID"
    wait "$WPID" || true
    WPID=""
}
# field BOOK NAME: a field of BOOK's newest history record.
field() {
    "$QUIRE_BIN" history --book "$1" --json | python3 -c '
import json, sys
runs = json.load(sys.stdin)["runs"]
print(runs[0].get(sys.argv[1], "") if runs else "")' "$2"
}

run_one good good.epub
run_one broken broken.epub
run_one oom big.epub --memory-limit 60
run_one slow big.epub --job-timeout 2

reasons=()
[[ "$(field good outcome)" == succeeded ]] || reasons+=("good: outcome $(field good outcome)")
[[ "$(field broken outcome)" == failed ]] || reasons+=("broken: outcome $(field broken outcome)")
[[ -n "$(field broken error)" ]] || reasons+=("broken: no error id")
[[ "$(field oom error)" == out-of-memory ]] || reasons+=("oom: error '$(field oom error)'")
[[ "$(field slow error)" == timeout ]] || reasons+=("slow: error '$(field slow error)'")
qr_case "a good, a broken, a memory-killed and a timed-out book each leave a record with its outcome" "${reasons[@]}"

reasons=()
python3 - "$(field oom peak_rss)" <<'PY' || reasons+=("oom: peak RSS $(field oom peak_rss) not above the 60 MB limit")
import sys
sys.exit(0 if float(sys.argv[1]) > 60 * 1048576 else 1)
PY
"$QUIRE_BIN" history --book good --json >"$t/good.json"
python3 - "$t/good.json" <<'PY' || reasons+=("good: implausible numbers: $(head -c 600 "$t/good.json")")
import json, sys
r = json.load(open(sys.argv[1]))["runs"][0]
f = {k: float(r[k]) for k in ("seconds", "t_compress", "t_positions", "t_slice", "t_encrypt",
                              "t_publish", "bytes_in", "bytes_out", "slices", "peak_rss",
                              "cpu_seconds", "disk_free", "started", "ended")}
stages = sum(f[k] for k in ("t_compress", "t_positions", "t_slice", "t_encrypt", "t_publish"))
ok = (0 < stages <= f["seconds"] and f["ended"] - f["started"] >= f["seconds"] * 0.9 and
      f["bytes_in"] > 1000 and f["bytes_out"] > 0 and f["slices"] >= 1 and f["peak_rss"] > 1e6 and
      f["cpu_seconds"] > 0 and f["disk_free"] > 0 and r["worker"] and r["host"] and
      "libvips=" in r["libraries"] and len(r["job_id"]) == 64)
sys.exit(0 if ok else 1)
PY
qr_case "the numbers are plausible: stage times within the wall time, bytes, slices, RSS, CPU, disk" "${reasons[@]}"

reasons=()
jid="$(field broken job_id)"
"$QUIRE_BIN" logs "$jid" >"$t/broken.log" 2>"$t/logs.err" || reasons+=("quire logs $jid failed: $(cat "$t/logs.err")")
python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1]) if l.strip()]' "$t/broken.log" ||
    reasons+=("the log is not JSON lines")
grep -q '"msg":"processing book broken revision r1' "$t/broken.log" || reasons+=("the log is not the job's: $(head -c 300 "$t/broken.log")")
"$QUIRE_BIN" logs broken >"$t/broken2.log" || reasons+=("quire logs by book id failed")
cmp -s "$t/broken.log" "$t/broken2.log" || reasons+=("by book id gives another log")
rc LINDEX resque:failed 0 | grep -q "log: quire logs $jid" || reasons+=("the failure entry does not name the log")
"$QUIRE_BIN" logs no-such-job >/dev/null 2>"$t/nolog.err" && reasons+=("a missing log printed something")
grep -q "source-not-found" "$t/nolog.err" || reasons+=("a missing log is not source-not-found: $(cat "$t/nolog.err")")
[[ "$(rc HGET "resque:quire:job:$jid" state)" == failed ]] || reasons+=("live state is '$(rc HGET "resque:quire:job:$jid" state)'")
ttl="$(rc TTL "resque:quire:log:$jid")"
((ttl > 0)) || reasons+=("the log does not expire (TTL $ttl)")
qr_case "quire logs prints a job's log by job id and by book id; the failure entry names it; it expires" "${reasons[@]}"

reasons=()
"$QUIRE_BIN" history >"$t/history.txt" || reasons+=("quire history failed")
for want in "4 run(s)" "seconds per stage" "by size" "slowest:" "failures by error id:" "out-of-memory" "timeout"; do
    grep -qF "$want" "$t/history.txt" || reasons+=("quire history lacks '$want'")
done
"$QUIRE_BIN" history --outcome succeeded --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert [r["book_id"] for r in d["runs"]] == ["good"], d["runs"]
assert d["summary"]["stages"]["seconds"]["runs"] == 1' || reasons+=("--outcome succeeded --json is wrong")
"$QUIRE_BIN" history --since 1h >/dev/null || reasons+=("--since 1h failed")
"$QUIRE_BIN" history --since yesterday >/dev/null 2>&1 && reasons+=("--since yesterday was accepted")
qr_case "quire history lists the runs and summarizes them per stage, size and error" "${reasons[@]}"

qr_summary
