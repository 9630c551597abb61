#!/usr/bin/env bash
# Resources as they happen (docs/operations/monitoring.md), with a real
# redis-server on 127.0.0.1, real workers and real tmpfs mounts as work
# directories:
#  - a book bigger than the space: the parent stops it under --disk-reserve,
#    it ends disk-full (one more run, then a failure entry) with a history
#    record and a log, its work directory is gone, the worker goes on and
#    the next small book succeeds;
#  - the child's own ENOSPC (no reserve, a tinier file system) is disk-full too;
#  - while a job runs, its live state has RSS and disk, which quire status
#    and status --watch show; /metrics has the child's RSS, the disk gauges
#    and the oldest job's age from quire enqueue's timestamp;
#  - a child killed from outside (SIGKILL by pid) counts as crashed;
#  - /metrics shows the stage histogram; QUIRE_EMF=1 writes EMF lines;
#  - a Redis stopped (SIGSTOP) for longer than the command timeout while a
#    job runs: the job completes and its record arrives once Redis resumes;
#  - the history stays within --history-max after many jobs.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
qr_init resources


t="$QR_TMP"
REDIS_PID=""
WPID=""
MOUNTS=()
stop_all() {
    local p m
    for p in "$WPID" "$REDIS_PID"; do
        if [[ -n "$p" ]]; then
            kill -CONT "$p" 2>/dev/null || true
            kill -KILL "$p" 2>/dev/null || true
        fi
    done
    for m in "${MOUNTS[@]}"; do
        umount "$m" 2>/dev/null || true
    done
    qr_cleanup
}
trap stop_all EXIT

# mount_tmpfs DIR SIZE: a small file system of its own for a work directory.
mount_tmpfs() {
    mkdir -p "$1"
    mount -t tmpfs -o "size=$2,mode=0700" tmpfs "$1" 2>"$t/mount.err" ||
        qr_skip "cannot mount a tmpfs (needs root or CAP_SYS_ADMIN): $(cat "$t/mount.err")"
    MOUNTS+=("$1")
}
mount_tmpfs "$t/small" 160m
# Above what the compressor's own check asks for this book (about 40 MB), below what it writes.
mount_tmpfs "$t/tiny" 44m

# Small stream nodes, so that MAXLEN ~ trims close to the bound in a short test.
qr_redis_start --stream-node-max-entries 4
PORT="$QR_REDIS_PORT" REDIS_PID="$QR_REDIS_PID"
rc() { qr_redis "$@"; }

mkdir -p "$t/src" "$t/work"
qr_run "$t/s1" sample-book "$t/src/good.epub" --chapters 2 --images 2 --size 800x600
qr_run "$t/s2" sample-book "$t/src/big.epub" --chapters 4 --images 12 --size 2400x1800
[[ "$(qr_rc "$t/s2")" == 0 ]] || qr_die "sample-book failed: $(cat "$t/s2.err")"
printf 'PK\003\004 this is not a book' >"$t/src/broken.epub"
qr_run "$t/keys" keys generate -o "$t/keys.json"

export REDIS_URL="redis://127.0.0.1:$PORT/0"
export QUIRE_KEY_FILE="$t/keys.json" QUIRE_STORE="$t/store" QUIRE_INTERVAL=0.2 QUIRE_MIN_FREE=1

job() { echo '{"class":"Quire::ProcessBook","args":[{"book_id":"'"$1"'","source":"'"$t/src/$2"'","revision":"r1"}]}'; }
push() {
    rc SADD resque:queues "$1" >/dev/null
    rc RPUSH "resque:queue:$1" "$(job "$2" "$3")" >/dev/null
}
# field BOOK NAME [N]: a field of BOOK's Nth newest history record (0: newest).
field() {
    "$QUIRE_BIN" history --book "$1" --json | python3 -c '
import json, sys
runs = json.load(sys.stdin)["runs"]
n = int(sys.argv[2])
print(runs[n].get(sys.argv[1], "") if len(runs) > n else "")' "$2" "${3:-0}"
}
runs_of() { "$QUIRE_BIN" history --book "$1" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["runs"]))'; }
# wait_runs BOOK N [S]: until BOOK has N history records.
wait_runs() {
    local i
    for ((i = 0; i < ${3:-600} * 10; i++)); do
        (($(runs_of "$1") >= $2)) && return 0
        sleep 0.1
    done
    return 1
}
# start_worker NAME ARGS...: a worker in the background, its log in $t/NAME.err.
start_worker() {
    local name="$1"
    shift
    "$QUIRE_BIN" worker --threads 1 "$@" >"$t/$name.out" 2>"$t/$name.err" </dev/null &
    WPID=$!
}
stop_worker() {
    kill -TERM "$WPID" 2>/dev/null || true
    timeout 60 tail --pid="$WPID" -f /dev/null || kill -KILL "$WPID" 2>/dev/null || true
    wait "$WPID" 2>/dev/null || true
    WPID=""
}
APORT="$(qr_free_port)"
# http_get PATH: the status code of a GET on the admin port; the body in $t/http.body.
http_get() {
    python3 - "http://127.0.0.1:$APORT$1" "$t/http.body" <<'PY'
import sys, urllib.request, urllib.error
url, body = sys.argv[1:3]
try:
    r = urllib.request.urlopen(url, timeout=5)
    code, data = r.status, r.read()
except urllib.error.HTTPError as e:
    code, data = e.code, e.read()
except OSError:
    code, data = 0, b""
open(body, "wb").write(data)
print("%03d" % code)
PY
}
# metric NAME: its value in the last /metrics body ("" when absent).
metric() { awk -v m="$1" '$1 == m { print $2 }' "$t/http.body"; }

# ---- a disk that fills: stopped under the reserve ----------------------------------------
# 24 MB of room above the reserve: the job writes more, and the parent stops it long
# before the file system is actually full.
start_worker disk --queues disk --work-dir "$t/small" --disk-reserve 136 --max-attempts 3
push disk huge big.epub
wait_runs huge 2 || true
push disk small good.epub
wait_runs small 1 || true
stop_worker
reasons=()
[[ "$(field huge outcome 1)" == requeued ]] || reasons+=("first run: outcome '$(field huge outcome 1)', want requeued")
[[ "$(field huge error 1)" == disk-full ]] || reasons+=("first run: error '$(field huge error 1)'")
[[ "$(field huge outcome)" == failed ]] || reasons+=("second run: outcome '$(field huge outcome)', want failed")
[[ "$(field huge error)" == disk-full ]] || reasons+=("second run: error '$(field huge error)'")
field huge message | grep -q "under the reserve of 136 MB" || reasons+=("message: $(field huge message)")
rc LINDEX resque:failed 0 | grep -q '"exception":"disk-full"' || reasons+=("no disk-full failure entry")
rc LINDEX resque:failed 0 >"$t/huge-failure.json"
jid="$(field huge job_id)"
"$QUIRE_BIN" logs "$jid" >"$t/huge.log" 2>"$t/huge-logs.err" || reasons+=("quire logs: $(cat "$t/huge-logs.err")")
grep -q '"msg":"processing book huge' "$t/huge.log" || reasons+=("the log is not the job's")
python3 - "$(field huge disk_used)" "$(field huge disk_free_min)" <<'PY' || reasons+=("disk numbers: used $(field huge disk_used), least free $(field huge disk_free_min)")
import sys
used, least = float(sys.argv[1]), float(sys.argv[2])
sys.exit(0 if used > 1 << 20 and 0 < least < 160 << 20 else 1)
PY
[[ -z "$(ls -A "$t/small")" ]] || reasons+=("the work directory was left: $(ls -A "$t/small")")
[[ "$(field small outcome)" == succeeded ]] || reasons+=("the next small book: '$(field small outcome)' $(field small message)")
grep -q 'returned to its queue for one more run' "$t/disk.err" || reasons+=("no log line for the second run")
qr_case "a book bigger than the disk is stopped as disk-full (once more, then failed), cleaned up; the worker goes on" "${reasons[@]}"
"$QUIRE_BIN" history --book huge >"$t/huge-history.txt" 2>&1 || true

# ---- the child's own ENOSPC -----------------------------------------------------------
start_worker tight --queues tight --work-dir "$t/tiny" --disk-reserve 0 --max-attempts 1
push tight enospc big.epub
wait_runs enospc 1 || true
stop_worker
reasons=()
[[ "$(field enospc error)" == disk-full ]] || reasons+=("error '$(field enospc error)': $(field enospc message)")
field enospc message | grep -q "No space left on device" || reasons+=("not a failed write: $(field enospc message)")
[[ "$(field enospc outcome)" == failed ]] || reasons+=("outcome '$(field enospc outcome)'")
[[ -z "$(ls -A "$t/tiny")" ]] || reasons+=("the work directory was left: $(ls -A "$t/tiny")")
qr_case "a write that fails with ENOSPC in the child is disk-full, not io" "${reasons[@]}"

# ---- live state, status, /metrics, a crash, EMF ---------------------------------------
"$QUIRE_BIN" enqueue "$t/src/big.epub" --book-id crash --queue live >/dev/null
sleep 2 # so that the oldest job's age is seen above 1 s at the worker's first poll
QUIRE_EMF=1 QUIRE_LOG_FORMAT=json start_worker live --queues live --work-dir "$t/work" \
    --max-attempts 1 --admin "127.0.0.1:$APORT" --disk-reserve 1
child=""
find_child() {
    child="$(pgrep -P "$WPID" -f Processing || true)"
    [[ -n "$child" ]]
}
live_rss() {
    "$QUIRE_BIN" status >"$t/status.txt" 2>&1 && grep -q 'RSS [1-9].*work dir [1-9]' "$t/status.txt"
}
reasons=()
qr_wait_for 120 find_child || reasons+=("no child for the job")
qr_wait_for 60 live_rss || reasons+=("quire status shows no RSS: $(cat "$t/status.txt")")
"$QUIRE_BIN" status --watch --interval 0.5 >"$t/watch.txt" 2>&1 </dev/null &
wp=$!
watch_rss() { grep -q 'RSS [1-9].*work dir [1-9]' "$t/watch.txt"; }
qr_wait_for 30 watch_rss || reasons+=("status --watch shows no RSS: $(head -c 600 "$t/watch.txt")")
kill -TERM "$wp" 2>/dev/null || true
wait "$wp" 2>/dev/null || true
grep -q 'stage [a-z]' "$t/status.txt" || reasons+=("quire status shows no stage")
grep -q 'disk free [0-9]' "$t/status.txt" || reasons+=("quire status shows no disk")
jid="$("$QUIRE_BIN" status --json | python3 -c '
import json, sys
s = json.load(sys.stdin)
print(next(w["job"]["job_id"] for w in s["workers"] if w.get("job")))' 2>/dev/null || true)"
[[ -n "$jid" && "$(rc HGET "resque:quire:job:$jid" state)" == running ]] ||
    reasons+=("the live state of '$jid' is not running")
((${#reasons[@]} == 0)) && for k in rss disk_used disk_free updated; do
    [[ "$(rc HGET "resque:quire:job:$jid" "$k")" =~ ^[0-9]+$ ]] || reasons+=("live $k is '$(rc HGET "resque:quire:job:$jid" "$k")'")
done
[[ "$(http_get /metrics)" == 200 ]] || reasons+=("/metrics did not answer")
cp "$t/http.body" "$t/metrics-busy.txt"
(($(metric 'quire_child_rss_bytes{slot="0"}') > 1000000)) || reasons+=("child RSS $(metric 'quire_child_rss_bytes{slot="0"}')")
(($(metric quire_disk_total_bytes) > 0)) || reasons+=("no quire_disk_total_bytes")
(($(metric quire_disk_free_bytes) > 0)) || reasons+=("no quire_disk_free_bytes")
age="$(metric 'quire_queue_oldest_age_seconds{queue="live"}')"
[[ -n "$age" ]] && python3 -c "import sys; sys.exit(0 if float('$age') >= 1 else 1)" ||
    reasons+=("oldest age '$age', want >= 1 (quire enqueue's timestamp)")
grep -q '"msg":"book crash waited [0-9.]* s in live"' "$t/live.err" || reasons+=("the worker did not read the enqueue time")
qr_case "while a job runs: its live state, quire status (and --watch) and /metrics show RSS and disk" "${reasons[@]}"

reasons=()
[[ -n "$child" ]] && kill -KILL "$child"
wait_runs crash 1 60 || reasons+=("no record for the crashed job")
push live fine good.epub
wait_runs fine 1 || reasons+=("no record for the next job")
[[ "$(http_get /metrics)" == 200 ]] || reasons+=("/metrics did not answer")
cp "$t/http.body" "$t/metrics-after.txt"
[[ "$(metric 'quire_jobs_total{outcome="crashed"}')" == 1 ]] || reasons+=("crashed $(metric 'quire_jobs_total{outcome="crashed"}')")
[[ "$(metric 'quire_jobs_total{outcome="succeeded"}')" == 1 ]] || reasons+=("succeeded $(metric 'quire_jobs_total{outcome="succeeded"}')")
[[ "$(metric 'quire_job_failures_total{error="internal"}')" == 1 ]] || reasons+=("failures by id: $(grep failures_total "$t/http.body")")
[[ "$(metric 'quire_child_rss_bytes')" == 0 ]] || reasons+=("idle child RSS $(metric quire_child_rss_bytes)")
grep -q '^# TYPE quire_stage_duration_seconds histogram$' "$t/http.body" || reasons+=("no histogram TYPE")
for s in compress positions slice encrypt publish; do
    [[ "$(metric "quire_stage_duration_seconds_count{stage=\"$s\"}")" == 1 ]] || reasons+=("stage $s count $(metric "quire_stage_duration_seconds_count{stage=\"$s\"}")")
    [[ "$(metric "quire_stage_duration_seconds_bucket{stage=\"$s\",le=\"+Inf\"}")" == 1 ]] || reasons+=("stage $s +Inf bucket")
    [[ -n "$(metric "quire_stage_duration_seconds_bucket{stage=\"$s\",le=\"14400\"}")" ]] || reasons+=("stage $s lacks the 14400 bucket")
done
(($(metric 'quire_stage_duration_seconds_count{stage="fetch"}') >= 1)) || reasons+=("fetch not timed")
[[ "$(field crash outcome)" == failed && "$(field crash error)" == internal ]] ||
    reasons+=("crash record: $(field crash outcome) $(field crash error)")
qr_case "a child killed from outside counts as crashed; /metrics has the stage histogram and failures by id" "${reasons[@]}"

reasons=()
grep '"_aws"' "$t/live.err" >"$t/emf.txt" || true
python3 - "$t/emf.txt" <<'PY' || reasons+=("EMF lines: $(head -c 800 "$t/emf.txt")")
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
jobs = [l for l in lines if "JobSeconds" in l]
stages = [l for l in lines if "StageSeconds" in l]
assert len(jobs) == 2, jobs
assert sorted(j["Outcome"] for j in jobs) == ["crashed", "succeeded"], jobs
for l in lines:
    aws = l["_aws"]
    assert isinstance(aws["Timestamp"], int)
    for d in aws["CloudWatchMetrics"]:
        assert d["Namespace"] == "Quire"
        for ds in d["Dimensions"]:
            for name in ds:
                assert isinstance(l[name], str), name
        for m in d["Metrics"]:
            assert isinstance(l[m["Name"]], (int, float)), m
ok = next(j for j in jobs if j["Outcome"] == "succeeded")
assert ok["JobsSucceeded"] == 1 and ok["JobsCrashed"] == 0 and ok["PeakRssBytes"] > 0
assert ok["DiskFreeBytes"] > 0 and ok["JobSeconds"] > 0
bad = next(j for j in jobs if j["Outcome"] == "crashed")
assert bad["JobsCrashed"] == 1
assert {s["Stage"] for s in stages} >= {"compress", "slice", "encrypt", "publish"}, stages
PY
qr_case "QUIRE_EMF=1 writes CloudWatch embedded-metric-format lines at each job's end" "${reasons[@]}"

# ---- Redis stalls while a job runs ----------------------------------------------------
reasons=()
push live stall big.epub
qr_wait_for 120 find_child || reasons+=("the stall job did not start")
kill -STOP "$REDIS_PID"
sleep 7 # longer than the 5 s command timeout
kill -CONT "$REDIS_PID"
wait_runs stall 1 600 || reasons+=("no record after Redis resumed")
[[ "$(field stall outcome)" == succeeded ]] || reasons+=("stall: outcome '$(field stall outcome)' $(field stall message)")
kill -0 "$WPID" 2>/dev/null || reasons+=("the worker died")
qr_case "a Redis stopped for 7 s while a job runs: the job completes, its record arrives after" "${reasons[@]}"
stop_worker

# ---- the history stays within its bound -----------------------------------------------
reasons=()
for i in $(seq 1 30); do push many "many$i" broken.epub; done
start_worker many --queues many --work-dir "$t/work" --history-max 10 --max-attempts 1
drained() { [[ "$(rc LLEN resque:queue:many)" == 0 ]] && [[ "$(runs_of many30)" == 1 ]]; }
qr_wait_for 600 drained || reasons+=("the 30 jobs did not run")
stop_worker
n="$(rc XLEN resque:quire:history)"
# MAXLEN ~ trims whole stream nodes (4 entries here): at most 10 + 4 remain.
((n >= 10 && n <= 14)) || reasons+=("XLEN $n after 30 jobs with --history-max 10")
qr_case "the history stays within --history-max after many jobs" "${reasons[@]}"

# QR_SAMPLES_DIR=DIR keeps the outputs docs/operations/monitoring.md quotes.
if [[ -n "${QR_SAMPLES_DIR:-}" ]]; then
    mkdir -p "$QR_SAMPLES_DIR"
    cp "$t/status.txt" "$t/watch.txt" "$t/huge-history.txt" "$t/metrics-busy.txt" \
        "$t/metrics-after.txt" "$t/emf.txt" "$t/live.err" "$t/disk.err" "$t/huge-failure.json" \
        "$QR_SAMPLES_DIR/"
    "$QUIRE_BIN" history --book huge --json >"$QR_SAMPLES_DIR/huge.json" || true
fi
qr_summary
