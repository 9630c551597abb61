#!/usr/bin/env bash
# `quire worker` against a real redis-server this test starts on 127.0.0.1
# (skipped without redis-server). Jobs are pushed with redis-cli exactly as
# Ruby's Resque.enqueue pushes them, and every check reads the raw Redis keys.
#
# Cases: a job publishes a package that verifies and counts in
# stat:processed; the worker shows a resque- process title; a malformed
# payload and an unknown class become seven-field failure entries and count
# in stat:failed; a source outside --source-dir is refused as a failure;
# SIGTERM while idle exits 0 and unregisters; SIGTERM while a job runs
# drains (the job finishes or goes back to the head of its queue) and exits
# 0; a child killed by SIGKILL is returned to its queue with an attempt
# counted and becomes a Resque::DirtyExit failure after --max-attempts;
# --admin serves /healthz and /metrics (jobs by outcome after one job), 404,
# 405, and its port is closed after SIGTERM.
# Functions called through qr_wait_for and the EXIT trap look unreachable to shellcheck.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
qr_init worker

command -v redis-server >/dev/null || qr_skip "redis-server not installed"
command -v redis-cli >/dev/null || qr_skip "redis-cli not installed"

t="$QR_TMP"
REDIS_PID=""
WORKER_PID=""

stop_all() {
    if [[ -n "$WORKER_PID" ]]; then
        kill -KILL "$WORKER_PID" 2>/dev/null || true
    fi
    if [[ -n "$REDIS_PID" ]]; then
        kill -KILL "$REDIS_PID" 2>/dev/null || true
    fi
    qr_cleanup
}
trap stop_all EXIT

PORT="$(qr_free_port)"
# AOF with fsync always: a restart keeps every key, as a production Redis would.
start_redis() {
    redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly yes \
        --appendfsync always --dir "$t" >>"$t/redis.log" 2>&1 &
    REDIS_PID=$!
}
start_redis

rc() {
    redis-cli -p "$PORT" --raw "$@"
}


redis_up() { [[ "$(rc PING 2>/dev/null)" == PONG ]]; }
qr_wait_for 10 redis_up || qr_die "redis-server did not start: $(cat "$t/redis.log")"

mkdir -p "$t/src"
qr_run "$t/sample" sample-book "$t/src/b1.epub" --chapters 2 --images 1 --size 800x600
[[ "$(qr_rc "$t/sample")" == 0 ]] || qr_die "sample-book failed: $(cat "$t/sample.err")"
qr_run "$t/big" sample-book "$t/src/big.epub" --chapters 12 --images 24 --size 2400x1800
[[ "$(qr_rc "$t/big")" == 0 ]] || qr_die "sample-book failed: $(cat "$t/big.err")"
qr_run "$t/keys" keys generate -o "$t/keys.json"
[[ "$(qr_rc "$t/keys")" == 0 ]] || qr_die "keys generate failed: $(cat "$t/keys.err")"
mkdir -p "$t/outside"
cp "$t/src/b1.epub" "$t/outside/b1.epub"

# Options through the environment, as a container would set them.
export REDIS_URL="redis://127.0.0.1:$PORT/0"
export QUIRE_KEY_FILE="$t/keys.json"
export QUIRE_STORE="$t/store"
export QUIRE_SOURCE_DIR="$t/src"
export QUIRE_INTERVAL=0.2

# start_worker LOG ARGS...: runs the worker in the background.
start_worker() {
    local log="$1"
    shift
    "$QUIRE_BIN" worker --queues books --heartbeat-interval 1 --sweep-interval 2 \
        --hostname testhost "$@" >"$log.out" 2>"$log.err" </dev/null &
    WORKER_PID=$!
}

# stop_worker SIGNAL SECONDS: signals the worker and waits; sets STOPPED to
# its exit status, or "hang" (then kills it).
STOPPED=""
stop_worker() {
    local sig="$1" secs="$2" i
    STOPPED=hang
    kill -s "$sig" "$WORKER_PID"
    for ((i = 0; i < secs * 10; i++)); do
        if ! kill -0 "$WORKER_PID" 2>/dev/null || [[ "$(ps -o stat= -p "$WORKER_PID")" == Z* ]]; then
            STOPPED=0
            wait "$WORKER_PID" || STOPPED=$?
            WORKER_PID=""
            return 0
        fi
        sleep 0.1
    done
    kill -KILL "$WORKER_PID" 2>/dev/null || true
    wait "$WORKER_PID" 2>/dev/null || true
    WORKER_PID=""
}

enqueue() {
    rc SADD resque:queues books >/dev/null
    rc RPUSH resque:queue:books "$1" >/dev/null
}

registered() { [[ "$(rc SCARD resque:workers)" == 1 ]]; }
processed_is() { [[ "$(rc GET resque:stat:processed)" == "$1" ]]; }
failed_len_is() { [[ "$(rc LLEN resque:failed)" == "$1" ]]; }
working_any() { [[ -n "$(rc KEYS 'resque:worker:*:books' | grep -v ':started$' || true)" ]]; }

# ---- a job publishes a package --------------------------------------------------
start_worker "$t/w1"
reasons=()
qr_wait_for 20 registered || reasons+=("worker did not register: $(tail -c 600 "$t/w1.err")")
id="$(rc SMEMBERS resque:workers)"
[[ "$id" == "testhost:$WORKER_PID:books" ]] || reasons+=("worker id is '$id'")
[[ -n "$(rc HGET resque:workers:heartbeat "$id")" ]] || reasons+=("no heartbeat")
started="$(rc GET "resque:worker:$id:started")"
[[ "$started" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}\ [0-9]{2}:[0-9]{2}:[0-9]{2}\ [+-][0-9]{4}$ ]] ||
    reasons+=("started is '$started'")
title="$(tr '\0' ' ' <"/proc/$WORKER_PID/cmdline")"
[[ "$title" =~ ^resque-[0-9][^:]*:\ (Waiting\ for\ books|Starting) ]] ||
    reasons+=("process title is '$title'")
enqueue '{"class":"Quire::ProcessBook","args":[{"book_id":"b1","source":"'"$t/src/b1.epub"'","revision":"r1"}]}'
qr_wait_for 120 processed_is 1 || reasons+=("stat:processed is '$(rc GET resque:stat:processed)'")
[[ -f "$t/store/books/b1/r1/manifest.json" ]] || reasons+=("no package at books/b1/r1")
qr_run "$t/verify" verify "$t/store" --prefix books/b1/r1 --key-file "$t/keys.json"
[[ "$(qr_rc "$t/verify")" == 0 ]] || reasons+=("verify failed: $(head -c 400 "$t/verify.err")")
[[ "$(rc GET resque:stat:failed)" == "" ]] || reasons+=("stat:failed is set")
[[ "$(rc LLEN resque:queue:books)" == 0 ]] || reasons+=("queue not empty")
[[ "$(rc EXISTS "resque:worker:$id")" == 0 ]] || reasons+=("working value left behind")
[[ -z "$(rc KEYS 'resque:quire:processing:*')" ]] || reasons+=("processing list left behind")
qr_case "job publishes a package that verifies" "${reasons[@]}"

# ---- payloads that cannot run become failure entries ------------------------------
reasons=()
enqueue 'not json {'
enqueue '{"class":"SomethingElse","args":[{"book_id":"b2","source":"/x.epub"}]}'
enqueue '{"class":"Quire::ProcessBook","args":[{"book_id":"b3","source":"'"$t/outside/b1.epub"'"}]}'
qr_wait_for 30 failed_len_is 3 || reasons+=("resque:failed has $(rc LLEN resque:failed) entries")
[[ "$(rc GET resque:stat:failed)" == 3 ]] || reasons+=("stat:failed is '$(rc GET resque:stat:failed)'")
[[ "$(rc GET resque:stat:processed)" == 4 ]] || reasons+=("stat:processed is '$(rc GET resque:stat:processed)'")
rc LRANGE resque:failed 0 -1 >"$t/failed.txt"
while IFS= read -r line; do
    reasons+=("$line")
done < <(python3 - "$t/failed.txt" "$id" <<'PY'
import json, sys, re
entries = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
want = ["failed_at", "payload", "exception", "error", "backtrace", "worker", "queue"]
expect = ["job-payload-invalid", "job-unknown-class", "unsafe-path"]
for e, exc in zip(entries, expect):
    if list(e.keys()) != want:
        print("fields are %s" % list(e.keys()))
    if e.get("exception") != exc:
        print("exception %r, expected %r" % (e.get("exception"), exc))
    if not e.get("error"):
        print("empty error for %s" % exc)
    if not isinstance(e.get("backtrace"), list):
        print("backtrace is not a list")
    if e.get("worker") != sys.argv[2] or e.get("queue") != "books":
        print("worker/queue are %r/%r" % (e.get("worker"), e.get("queue")))
    if not re.match(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \S+$", e.get("failed_at", "")):
        print("failed_at is %r" % e.get("failed_at"))
if entries and entries[0].get("payload") != "not json {":
    print("malformed payload not kept as a string: %r" % entries[0].get("payload"))
if len(entries) > 1 and entries[1].get("payload", {}).get("class") != "SomethingElse":
    print("unknown-class payload not kept")
PY
)
qr_case "malformed, unknown-class and outside-source jobs become failure entries" "${reasons[@]}"

# ---- SIGTERM while idle -----------------------------------------------------------
reasons=()
stop_worker TERM 10
[[ "$STOPPED" == 0 ]] || reasons+=("exit status $STOPPED")
[[ "$(rc SCARD resque:workers)" == 0 ]] || reasons+=("resque:workers still has $(rc SMEMBERS resque:workers)")
[[ "$(rc HLEN resque:workers:heartbeat)" == 0 ]] || reasons+=("heartbeat left behind")
[[ "$(rc EXISTS "resque:worker:$id:started")" == 0 ]] || reasons+=("started left behind")
if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$t/w1.err"; then
    reasons+=("sanitizer: $(grep -m1 -E 'Sanitizer|runtime error:' "$t/w1.err")")
fi
qr_case "SIGTERM while idle exits 0 and unregisters" "${reasons[@]}"

# ---- SIGTERM while a job runs: drain -----------------------------------------------
reasons=()
big='{"class":"Quire::ProcessBook","args":[{"book_id":"big","source":"'"$t/src/big.epub"'","revision":"r1"}]}'
start_worker "$t/w2" --drain-timeout 0.5 --threads 1
qr_wait_for 20 registered || reasons+=("worker did not register")
id2="$(rc SMEMBERS resque:workers)"
working() { [[ "$(rc EXISTS "resque:worker:$id2")" == 1 ]]; }
enqueue "$big"
qr_wait_for 20 working || reasons+=("job never started")
sleep 0.3
stop_worker TERM 15
[[ "$STOPPED" == 0 ]] || reasons+=("exit status $STOPPED")
if [[ "$(rc GET resque:stat:processed)" == 5 ]]; then
    echo "note: the drained job finished within the drain timeout"
elif [[ "$(rc LINDEX resque:queue:books 0)" != "$big" ]]; then
    reasons+=("job neither completed nor at the head of the queue: $(rc LRANGE resque:queue:books 0 -1)")
fi
[[ "$(rc SCARD resque:workers)" == 0 ]] || reasons+=("still registered")
[[ -z "$(rc KEYS 'resque:quire:processing:*')" ]] || reasons+=("processing list left behind")
qr_case "SIGTERM mid-job drains and exits 0" "${reasons[@]}"

# ---- the drained job runs to completion on the next worker ------------------------------
reasons=()
start_worker "$t/w3"
want=$(($(rc GET resque:stat:processed) + $(rc LLEN resque:queue:books)))
qr_wait_for 300 processed_is "$want" || reasons+=("stat:processed is $(rc GET resque:stat:processed), want $want")
[[ -f "$t/store/books/big/r1/manifest.json" ]] || reasons+=("no package for the requeued job")
stop_worker TERM 10
[[ "$STOPPED" == 0 ]] || reasons+=("second worker exit status $STOPPED")
qr_case "requeued job completes on the next worker" "${reasons[@]}"

# ---- a child killed by a signal: attempts, then a DirtyExit failure -------------------
reasons=()
rc DEL resque:failed >/dev/null
start_worker "$t/w4" --max-attempts 2 --drain-timeout 1 --threads 1
qr_wait_for 20 registered || reasons+=("worker did not register")
enqueue '{"class":"Quire::ProcessBook","args":[{"book_id":"big","source":"'"$t/src/big.epub"'","revision":"d1"}]}'
kills=0
for ((round = 0; round < 2; round++)); do
    child=""
    for ((i = 0; i < 200; i++)); do
        child="$(pgrep -P "$WORKER_PID" -f Processing || true)"
        [[ -n "$child" ]] && break
        sleep 0.1
    done
    if [[ -z "$child" ]]; then
        reasons+=("no child in round $round")
        break
    fi
    kill -KILL "$child"
    kills=$((kills + 1))
    if ((round == 0)); then
        for ((i = 0; i < 100; i++)); do
            [[ "$(pgrep -P "$WORKER_PID" -f Processing || true)" != "$child" ]] && break
            sleep 0.1
        done
    fi
done
qr_wait_for 20 failed_len_is 1 || reasons+=("resque:failed has $(rc LLEN resque:failed) entries after $kills kills")
exc="$(rc LINDEX resque:failed 0 | python3 -c 'import json,sys; e=json.load(sys.stdin); print(e["exception"], "|", e["error"])' 2>/dev/null || true)"
[[ "$exc" == "Resque::DirtyExit | Child process received unhandled signal"*SIGKILL* ]] ||
    reasons+=("failure is '$exc'")
[[ "$(rc LLEN resque:queue:books)" == 0 ]] || reasons+=("job still queued")
[[ "$(rc HLEN resque:quire:attempts)" == 0 ]] || reasons+=("attempt counter left behind")
stop_worker TERM 10
[[ "$STOPPED" == 0 ]] || reasons+=("worker exit status $STOPPED")
qr_case "a child that keeps dying ends as one DirtyExit failure" "${reasons[@]}"

# ---- limits: wall clock and memory; the failure names the limit, the stage and the log tail --
reasons=()
rc DEL resque:failed >/dev/null
# Fresh revisions: an already published book would finish in well under the limits.
start_worker "$t/w5" --job-timeout 0.5 --threads 1
qr_wait_for 20 registered || reasons+=("worker did not register")
enqueue '{"class":"Quire::ProcessBook","args":[{"book_id":"big","source":"'"$t/src/big.epub"'","revision":"t1"}]}'
qr_wait_for 30 failed_len_is 1 || reasons+=("no failure entry after the timeout: $(rc LLEN resque:queue:books) queued, log: $(tail -n 3 "$t/w5.err")")
stop_worker TERM 10
[[ "$STOPPED" == 0 ]] || reasons+=("worker exit status $STOPPED")
start_worker "$t/w6" --memory-limit 20 --threads 1
qr_wait_for 20 registered || reasons+=("worker did not register")
enqueue '{"class":"Quire::ProcessBook","args":[{"book_id":"big","source":"'"$t/src/big.epub"'","revision":"m1"}]}'
qr_wait_for 60 failed_len_is 2 || reasons+=("no failure entry after the memory limit")
stop_worker TERM 10
[[ "$STOPPED" == 0 ]] || reasons+=("worker exit status $STOPPED")
rc LRANGE resque:failed 0 -1 >"$t/limits.txt"
while IFS= read -r line; do
    reasons+=("$line")
done < <(python3 - "$t/limits.txt" <<'PY'
import json, sys
entries = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
for e, exc, words in zip(entries, ["timeout", "out-of-memory"], ["wall-clock limit", "memory limit of 20 MB"]):
    if e["exception"] != exc:
        print("exception %r, expected %r" % (e["exception"], exc))
    if words not in e["error"] or "in stage" not in e["error"]:
        print("error %r does not name the limit and the stage" % e["error"])
    if not any(l.startswith("stage: ") for l in e["backtrace"]):
        print("no stage line in the backtrace %r" % e["backtrace"][:3])
    if not any(l.startswith("quire: ") for l in e["backtrace"]):
        print("no log lines of the child in the backtrace %r" % e["backtrace"][:3])
if len(entries) != 2:
    print("%d entries" % len(entries))
PY
)
qr_case "wall-clock and memory limits kill the job with a clear failure" "${reasons[@]}"

# ---- pause, free disk space, QUIT ---------------------------------------------------
reasons=()
rc DEL resque:queue:books >/dev/null
rc SET resque:pause-all-workers true >/dev/null
start_worker "$t/w7"
qr_wait_for 20 registered || reasons+=("worker did not register")
enqueue '{"class":"Quire::ProcessBook","args":[{"book_id":"p1","source":"'"$t/src/b1.epub"'","revision":"r1"}]}'
before="$(rc GET resque:stat:processed)"
sleep 1.5
[[ "$(rc LLEN resque:queue:books)" == 1 ]] || reasons+=("took a job while pause-all-workers was set")
title="$(tr '\0' ' ' <"/proc/$WORKER_PID/cmdline")"
[[ "$title" == *Paused* ]] || reasons+=("title while paused is '$title'")
kill -USR2 "$WORKER_PID"
sleep 0.5
rc DEL resque:pause-all-workers >/dev/null
sleep 1
[[ "$(rc LLEN resque:queue:books)" == 1 ]] || reasons+=("took a job after USR2")
kill -CONT "$WORKER_PID"
qr_wait_for 60 processed_is $((before + 1)) || reasons+=("job not processed after CONT")
rc DEL resque:failed >/dev/null
enqueue '{"class":"Quire::ProcessBook","args":[{"book_id":"big","source":"'"$t/src/big.epub"'","revision":"u1"}]}'
child=""
for ((i = 0; i < 200; i++)); do
    child="$(pgrep -P "$WORKER_PID" -f Processing || true)"
    [[ -n "$child" ]] && break
    sleep 0.1
done
kill -USR1 "$WORKER_PID"
qr_wait_for 20 failed_len_is 1 || reasons+=("USR1 did not turn the running job into a failure")
[[ "$(rc LINDEX resque:failed 0)" == *'"exception":"Resque::DirtyExit"'*'killed on request'* ]] ||
    reasons+=("USR1 failure is $(rc LINDEX resque:failed 0 | head -c 300)")
stop_worker QUIT 10
[[ "$STOPPED" == 0 ]] || reasons+=("QUIT exit status $STOPPED")
start_worker "$t/w8" --min-free 1073741824
qr_wait_for 20 registered || reasons+=("worker did not register")
enqueue '{"class":"Quire::ProcessBook","args":[{"book_id":"p2","source":"'"$t/src/b1.epub"'"}]}'
sleep 1
[[ "$(rc LLEN resque:queue:books)" == 1 ]] || reasons+=("took a job without the free space asked for")
grep -q "not taking jobs" "$t/w8.err" || reasons+=("no log line about free space")
stop_worker TERM 10
[[ "$STOPPED" == 0 ]] || reasons+=("exit status $STOPPED")
qr_case "pause-all-workers, USR2/CONT, USR1, --min-free and QUIT" "${reasons[@]}"

# ---- --slots 2: two registered workers, a killed slot is restarted, TERM drains both -----
reasons=()
two_registered() { [[ "$(rc SCARD resque:workers)" == 2 ]]; }
rc DEL resque:queue:books >/dev/null
start_worker "$t/w9" --slots 2
qr_wait_for 20 two_registered || reasons+=("$(rc SCARD resque:workers) workers registered")
mapfile -t ids < <(rc SMEMBERS resque:workers)
for wid in "${ids[@]}"; do
    pid="${wid#testhost:}"
    pid="${pid%%:*}"
    [[ "$pid" != "$WORKER_PID" ]] || reasons+=("slot id uses the supervisor's pid")
    slot_title="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
    [[ "$slot_title" == resque-*"Waiting for books"* ]] || reasons+=("slot title is '$slot_title'")
done
before="$(rc GET resque:stat:processed)"
for i in 1 2 3 4; do
    enqueue '{"class":"Quire::ProcessBook","args":[{"book_id":"s'"$i"'","source":"'"$t/src/b1.epub"'","revision":"r1"}]}'
done
qr_wait_for 120 processed_is $((before + 4)) || reasons+=("stat:processed is $(rc GET resque:stat:processed), want $((before + 4))")
for i in 1 2 3 4; do
    [[ -f "$t/store/books/s$i/r1/manifest.json" ]] || reasons+=("no package for s$i")
done
# Kill a slot while it holds a job: its successor requeues the job, which then completes.
enqueue '{"class":"Quire::ProcessBook","args":[{"book_id":"big","source":"'"$t/src/big.epub"'","revision":"k1"}]}'
busy_slot() {
    local m
    for m in "${ids[@]}"; do
        [[ "$(rc EXISTS "resque:worker:$m")" == 1 ]] && victim_id="$m" && return 0
    done
    return 1
}
victim_id=""
qr_wait_for 20 busy_slot || reasons+=("no slot took the job")
[[ -n "$victim_id" ]] || victim_id="${ids[0]}"
if [[ "$victim_id" != "${ids[0]}" ]]; then
    ids=("${ids[1]}" "${ids[0]}")
fi
victim="${ids[0]#testhost:}"
victim="${victim%%:*}"
kill -KILL "$victim"
restarted() {
    local m
    for m in $(rc SMEMBERS resque:workers); do
        [[ "$m" != "${ids[0]}" && "$m" != "${ids[1]}" ]] && return 0
    done
    return 1
}
qr_wait_for 10 restarted || reasons+=("killed slot was not restarted: $(rc SMEMBERS resque:workers | tr '\n' ' ')")
gone() { ! rc SMEMBERS resque:workers | grep -q -F "${ids[0]}"; }
qr_wait_for 10 gone || reasons+=("the killed slot's id is still registered")
qr_wait_for 120 processed_is $((before + 5)) || reasons+=("the killed slot's job did not complete: processed $(rc GET resque:stat:processed), queue $(rc LLEN resque:queue:books)")
[[ -f "$t/store/books/big/k1/manifest.json" ]] || reasons+=("no package for the killed slot's job")
stop_worker TERM 15
[[ "$STOPPED" == 0 ]] || reasons+=("exit status $STOPPED")
[[ "$(rc SCARD resque:workers)" == 0 ]] || reasons+=("still registered: $(rc SMEMBERS resque:workers | tr '\n' ' ')")
qr_case "--slots 2 runs two workers, restarts a slot killed mid-job and its job completes, drains on TERM" "${reasons[@]}"

# ---- Redis restarts, idle and mid-job: the worker carries on and loses nothing ----------
reasons=()
rc DEL resque:queue:books >/dev/null
start_worker "$t/w10" --threads 1
qr_wait_for 20 registered || reasons+=("worker did not register")
kill -KILL "$REDIS_PID"
wait "$REDIS_PID" 2>/dev/null || true
sleep 1
start_redis
qr_wait_for 10 redis_up || qr_die "redis-server did not restart"
before="$(rc GET resque:stat:processed)"
enqueue '{"class":"Quire::ProcessBook","args":[{"book_id":"big","source":"'"$t/src/big.epub"'","revision":"x1"}]}'
qr_wait_for 20 working_any || reasons+=("job not taken after the restart")
kill -KILL "$REDIS_PID"
wait "$REDIS_PID" 2>/dev/null || true
sleep 1
start_redis
qr_wait_for 10 redis_up || qr_die "redis-server did not restart"
qr_wait_for 120 processed_is $((before + 1)) || reasons+=("stat:processed is $(rc GET resque:stat:processed), want $((before + 1))")
[[ "$(rc LLEN resque:queue:books)" == 0 ]] || reasons+=("job left in the queue")
[[ -z "$(rc KEYS 'resque:quire:processing:*')" ]] || reasons+=("processing list left behind")
[[ -f "$t/store/books/big/x1/manifest.json" ]] || reasons+=("no package")
registered || reasons+=("not registered after the restarts: $(rc SMEMBERS resque:workers | tr "\n" " ")")
stop_worker TERM 10
[[ "$STOPPED" == 0 ]] || reasons+=("exit status $STOPPED")
qr_case "Redis restarts while idle and mid-job lose nothing" "${reasons[@]}"

# ---- the admin endpoint: /healthz, /metrics, 404, 405; closed after TERM ----------------
# http_get PATH [METHOD]: prints the status code of a request to the admin port
# (000 when nothing answers) and leaves the body in $t/http.body.
http_get() {
    python3 - "http://127.0.0.1:$APORT$1" "${2:-GET}" "$t/http.body" <<'PY'
import sys, urllib.request, urllib.error
url, method, body = sys.argv[1:4]
try:
    r = urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=5)
    code, data = r.status, r.read()
except urllib.error.HTTPError as e:
    code, data = e.code, e.read()
except OSError:
    code, data = 0, b""
open(body, "wb").write(data)
print("%03d" % code)
PY
}
healthy() { [[ "$(http_get /healthz)" == 200 ]]; }
metrics_show_job() {
    [[ "$(http_get /metrics)" == 200 ]] &&
        grep -qx 'quire_jobs_total{outcome="succeeded"} 1' "$t/http.body"
}
reasons=()
APORT="$(qr_free_port)"
rc SET resque:stat:processed 0 >/dev/null
start_worker "$t/w11" --admin "127.0.0.1:$APORT"
qr_wait_for 20 healthy || reasons+=("/healthz is $(http_get /healthz): $(cat "$t/http.body")")
[[ "$(cat "$t/http.body")" == ok ]] || reasons+=("/healthz body is '$(cat "$t/http.body")'")
enqueue '{"class":"Quire::ProcessBook","args":[{"book_id":"m1","source":"'"$t/src/b1.epub"'","revision":"m1"}]}'
qr_wait_for 120 processed_is 1 || reasons+=("job not processed")
qr_wait_for 10 metrics_show_job || reasons+=("/metrics: $(head -c 600 "$t/http.body")")
for m in 'quire_jobs_total{outcome="failed"} 0' 'quire_job_duration_seconds_count 1' \
    'quire_busy_slots 0' 'quire_queue_depth{queue="books"} 0'; do
    grep -qxF "$m" "$t/http.body" || reasons+=("/metrics lacks '$m'")
done
grep -qE '^quire_worker_heartbeat_age_seconds [0-9.]+$' "$t/http.body" ||
    reasons+=("/metrics lacks the heartbeat age")
# What the worker runs, three ways: quire version, /metrics and quire status agree.
vips="$("$QUIRE_BIN" version --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["libraries"]["libvips"]["version"])')"
grep -qE "^quire_build_info\{version=\"[^\"]+\",commit=\"[^\"]+\",libvips=\"$vips\",qpdf=\"[^\"]+\".*\} 1\$" "$t/http.body" ||
    reasons+=("/metrics lacks quire_build_info with libvips $vips: $(grep quire_build_info "$t/http.body")")
qr_run "$t/st-info" status --json
python3 - "$t/st-info.out" "$vips" >"$t/st-info.check" <<'PY' || reasons+=("status: $(cat "$t/st-info.check")")
import json, sys
s = json.load(open(sys.argv[1]))
infos = [w.get("info") for w in s["workers"]]
ok = [i for i in infos if i and i["libraries"]["libvips"]["version"] == sys.argv[2]
      and all(l["ok"] for l in i["libraries"].values())]
if not ok:
    print("no worker reports libvips %s with every library ok: %r" % (sys.argv[2], infos))
    sys.exit(1)
PY
[[ "$(http_get /nope)" == 404 ]] || reasons+=("/nope is not 404")
[[ "$(http_get /metrics POST)" == 405 ]] || reasons+=("POST /metrics is not 405")
stop_worker TERM 10
[[ "$STOPPED" == 0 ]] || reasons+=("exit status $STOPPED")
[[ "$(http_get /healthz)" == 000 ]] || reasons+=("admin port still answers after TERM")
[[ -z "$(rc KEYS 'resque:quire:worker:*:info')" ]] ||
    reasons+=("the worker's info key outlives it: $(rc KEYS 'resque:quire:worker:*:info')")
qr_case "--admin serves /healthz and /metrics (with quire_build_info, as status shows it) and closes on TERM" "${reasons[@]}"

# ---- no sanitizer reports in any worker log -------------------------------------------
reasons=()
for f in "$t"/w*.err; do
    if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$f"; then
        reasons+=("$(basename "$f"): $(grep -m1 -E 'Sanitizer|runtime error:' "$f")")
    fi
done
qr_case "worker logs are free of sanitizer reports" "${reasons[@]}"

qr_summary
