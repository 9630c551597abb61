#!/usr/bin/env bash
# Recovery of `quire worker` against a real redis-server on 127.0.0.1:
#   - a worker killed mid-job and restarted on the same host: its job re-runs
#     at once (the replacement sees the dead process), not after --prune-after;
#     a worker of another PID namespace (another machine tag) is left alone;
#   - Redis loses its data (FLUSHALL) under an idle and under a busy worker:
#     both register again, the busy one's job is recorded once;
#   - a drain whose deadline passes: the job that finished in time is recorded
#     once; the one still running gets TERM, leaves no work directory and is
#     back at the head of its queue with no attempt counted; a job that cannot
#     stop (stuck in a download) is killed after --term-timeout;
#   - --slots 2 --admin: one /healthz and /metrics showing both slots;
#   - a payload carrying an add-on's "timestamp": run as usual, its queue wait
#     in quire_queue_wait_seconds.
# Functions called through qr_wait_for and the EXIT trap look unreachable to shellcheck.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
qr_init worker-recovery

command -v curl >/dev/null || qr_skip "curl not installed"

t="$QR_TMP"
REDIS_PID=""
PIDS=()
HF_PID=""

stop_all() {
    local p
    for p in "${PIDS[@]}" "$HF_PID" "$REDIS_PID"; do
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

mkdir -p "$t/src" "$t/work"
qr_run "$t/small" sample-book "$t/src/small.epub" --chapters 1 --images 0
[[ "$(qr_rc "$t/small")" == 0 ]] || qr_die "sample-book failed: $(cat "$t/small.err")"
qr_run "$t/big" sample-book "$t/src/big.epub" --chapters 16 --images 40 --size 2400x1800
[[ "$(qr_rc "$t/big")" == 0 ]] || qr_die "sample-book failed: $(cat "$t/big.err")"
qr_run "$t/keys" keys generate -o "$t/keys.json"
[[ "$(qr_rc "$t/keys")" == 0 ]] || qr_die "keys generate failed: $(cat "$t/keys.err")"

export REDIS_URL="redis://127.0.0.1:$PORT/0"
export QUIRE_KEY_FILE="$t/keys.json" QUIRE_STORE="$t/store" QUIRE_INTERVAL=0.2

# start_worker NAME ARGS...: a worker in the background; its pid is ${PIDS[-1]}.
start_worker() {
    local log="$1"
    shift
    "$QUIRE_BIN" worker --queues books --heartbeat-interval 1 --sweep-interval 60 \
        --hostname recohost --threads 1 --work-dir "$t/work" --admin off "$@" \
        >"$t/$log.out" 2>"$t/$log.err" </dev/null &
    PIDS+=($!)
}
# stop_pid PID SECONDS: TERM, wait; STOPPED = exit status or "hang".
stop_pid() {
    local pid="$1" i
    STOPPED=hang
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < $2 * 10; i++)); do
        if ! kill -0 "$pid" 2>/dev/null || [[ "$(ps -o stat= -p "$pid")" == Z* ]]; then
            STOPPED=0
            wait "$pid" || STOPPED=$?
            return 0
        fi
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
job() { echo '{"class":"Quire::ProcessBook","args":[{"book_id":"'"$1"'","source":"'"$2"'","revision":"r1"}]'"${3:-}"'}'; }
enqueue() {
    rc SADD resque:queues books >/dev/null
    rc RPUSH resque:queue:books "$1" >/dev/null
}
registered_as() { [[ "$(rc SISMEMBER resque:workers "recohost:$1:books")" == 1 ]]; }
running_by() { [[ "$(rc EXISTS "resque:quire:processing:books:recohost:$1:books")" == 1 ]]; }
published() { [[ -f "$t/store/books/$1/r1/manifest.json" ]]; }
idle_n() { (($(rc LLEN resque:queue:books) == 0)); }

# ---- killed mid-job, restarted on the same host: the job re-runs at once -----------------
reasons=()
start_worker a1
a1="${PIDS[-1]}"
enqueue "$(job kill1 "$t/src/big.epub")"
qr_wait_for 60 running_by "$a1" || reasons+=("the first worker never ran the job: $(tail -c 400 "$t/a1.err")")
kill -KILL "$a1"
wait "$a1" 2>/dev/null || true
killed_at=$SECONDS
start_worker a2
a2="${PIDS[-1]}"
qr_wait_for 30 running_by "$a2" || reasons+=("the replacement did not take the job within 30 s (prune-after is 300 s): $(tail -c 600 "$t/a2.err")")
rerun_s=$((SECONDS - killed_at))
[[ "$(rc SISMEMBER resque:workers "recohost:$a1:books")" == 0 ]] || reasons+=("the dead worker is still registered")
qr_wait_for 300 published kill1 || reasons+=("the re-run did not publish")
qr_case "a worker killed mid-job and restarted on the same host: the job re-runs after ${rerun_s}s, not the prune window" "${reasons[@]}"

# A dead pid under this host's name but another machine tag (another PID namespace): left alone.
reasons=()
sleep 0.1 &
other_pid=$!
sleep 0.1 &
same_pid=$!
wait "$other_pid" "$same_pid"
tag="$(rc GET "resque:quire:worker:recohost:$a2:books:info" | python3 -c 'import json,sys; print(json.load(sys.stdin)["machine"])')"
beat="$(date -u +%Y-%m-%dT%H:%M:%S+00:00)"
for pair in "$other_pid 0000-other/pid:[1]" "$same_pid $tag"; do
    read -r pid m <<<"$pair"
    wid="recohost:$pid:books"
    rc SADD resque:workers "$wid" >/dev/null
    rc HSET resque:workers:heartbeat "$wid" "$beat" >/dev/null
    rc SET "resque:quire:worker:$wid:info" '{"machine":"'"$m"'"}' >/dev/null
done
stop_pid "$a2" 60
start_worker a3
a3="${PIDS[-1]}"
qr_wait_for 20 registered_as "$a3" || reasons+=("a3 did not register")
sleep 1
[[ "$(rc SISMEMBER resque:workers "recohost:$other_pid:books")" == 1 ]] || reasons+=("the worker of another PID namespace was pruned")
[[ "$(rc SISMEMBER resque:workers "recohost:$same_pid:books")" == 0 ]] || reasons+=("the dead worker of this machine (same tag) was not pruned")
rc SREM resque:workers "recohost:$other_pid:books" >/dev/null
qr_case "a worker of another PID namespace under the same host name keeps the heartbeat rule" "${reasons[@]}"

# ---- Redis loses its data ---------------------------------------------------------------
reasons=()
rc FLUSHALL >/dev/null
qr_wait_for 10 registered_as "$a3" || reasons+=("the idle worker did not register again")
[[ "$(rc EXISTS "resque:quire:worker:recohost:$a3:books:info")" == 1 ]] || reasons+=("its info key is gone")
grep -q "registration was gone" "$t/a3.err" || reasons+=("nothing logged")
qr_case "FLUSHALL under an idle worker: it registers again at its next heartbeat" "${reasons[@]}"

reasons=()
enqueue "$(job flush1 "$t/src/big.epub")"
qr_wait_for 60 running_by "$a3" || reasons+=("the job did not start")
rc FLUSHALL >/dev/null
qr_wait_for 10 registered_as "$a3" || reasons+=("the busy worker did not register again")
running_by "$a3" || reasons+=("its processing list was not recreated")
[[ -n "$(rc GET "resque:worker:recohost:$a3:books")" ]] || reasons+=("Resque's working-on value was not recreated")
qr_wait_for 300 published flush1 || reasons+=("the job did not publish")
done_once() { [[ "$(rc GET resque:stat:processed)" == 1 ]] && ! running_by "$a3"; }
qr_wait_for 30 done_once || reasons+=("stat:processed is '$(rc GET resque:stat:processed)', processing list $(rc LLEN "resque:quire:processing:books:recohost:$a3:books")")
[[ "$(rc LLEN resque:queue:books)" == 0 ]] || reasons+=("the job is also back in its queue")
[[ "$(rc LLEN resque:failed)" == 0 ]] || reasons+=("a failure was recorded")
qr_case "FLUSHALL under a busy worker: it registers again, and the job is recorded once" "${reasons[@]}"
stop_pid "$a3" 60

# ---- a drain whose deadline passes ------------------------------------------------------
reasons=()
start_worker d1 --slots 2 --drain-timeout 6 --term-timeout 20
d1="${PIDS[-1]}"
small="$(job drain-small "$t/src/small.epub")"
big="$(job drain-big "$t/src/big.epub")"
enqueue "$big"
enqueue "$small"
both_running() { (($(rc KEYS 'resque:quire:processing:books:*' | grep -c .) >= 2)) || published drain-small; }
qr_wait_for 60 both_running || reasons+=("the two jobs did not start")
stop_pid "$d1" 120
[[ "$STOPPED" == 0 ]] || reasons+=("the supervisor exit status is $STOPPED")
published drain-small || reasons+=("the job that fits the deadline was not published")
[[ "$(rc LINDEX resque:queue:books 0)" == "$big" ]] || reasons+=("the long job is not at the head of its queue: $(rc LRANGE resque:queue:books 0 -1 | head -c 300)")
[[ "$(rc HLEN resque:quire:attempts)" == 0 ]] || reasons+=("an attempt was counted: $(rc HGETALL resque:quire:attempts)")
[[ -z "$(ls -A "$t/work")" ]] || reasons+=("work directories left: $(ls "$t/work")")
grep -q "asking the job" "$t/d1.err" || reasons+=("no TERM at the deadline logged")
grep -q "did not stop within" "$t/d1.err" && reasons+=("the job had to be killed: it did not stop on TERM")
published drain-big && reasons+=("the long job was published although drained")
qr_case "drain deadline: the short job is recorded, the long one gets TERM, cleans up and is back at the head, no attempt counted" "${reasons[@]}"
rc DEL resque:queue:books >/dev/null

# A job stuck in a download cannot reach a safe point: killed after --term-timeout.
reasons=()
mkfifo "$t/hf.in"
exec 7<>"$t/hf.in"
python3 "$QR_SRCDIR/tests/tools/httpfault.py" --max-seconds 300 <"$t/hf.in" >"$t/hf.out" 2>"$t/hf.err" &
HF_PID=$!
hf_up() { grep -q '^PORT ' "$t/hf.out"; }
qr_wait_for 10 hf_up || qr_die "httpfault.py did not start: $(cat "$t/hf.err")"
hf_port="$(awk '/^PORT /{print $2}' "$t/hf.out")"
stuck="$(job drain-stuck "http://127.0.0.1:$hf_port/stall")"
QUIRE_NET_ALLOW=127.0.0.1/32 QUIRE_NET_ALLOW_HTTP=1 start_worker d2 --drain-timeout 1 --term-timeout 2
d2="${PIDS[-1]}"
enqueue "$stuck"
qr_wait_for 30 running_by "$d2" || reasons+=("the job did not start")
sleep 1
stop_pid "$d2" 60
[[ "$STOPPED" == 0 ]] || reasons+=("exit status $STOPPED")
grep -q "did not stop within 2 s: killed" "$t/d2.err" || reasons+=("not killed after the grace: $(tail -c 400 "$t/d2.err")")
[[ "$(rc LINDEX resque:queue:books 0)" == "$stuck" ]] || reasons+=("the job is not back at the head of its queue")
[[ "$(rc HLEN resque:quire:attempts)" == 0 ]] || reasons+=("an attempt was counted")
qr_case "a job that does not stop on TERM is killed after --term-timeout and requeued without an attempt" "${reasons[@]}"
rc DEL resque:queue:books >/dev/null

# ---- --slots 2 --admin: one endpoint for both slots; a payload's timestamp ----------------
reasons=()
admin="127.0.0.1:$(qr_free_port)"
start_worker s1 --slots 2 --admin "$admin"
s1="${PIDS[-1]}"
healthy() { curl -sf "http://$admin/healthz" >/dev/null; }
qr_wait_for 30 healthy || reasons+=("/healthz did not answer 200: $(curl -s "http://$admin/healthz")")
m="$(curl -s "http://$admin/metrics")"
for want in 'quire_slots 2' 'quire_slot_registered{slot="0"} 1' 'quire_slot_registered{slot="1"} 1'; do
    grep -qF "$want" <<<"$m" || reasons+=("/metrics lacks '$want'")
done
qr_case "--slots 2 --admin: the supervisor's /healthz and /metrics show both slots" "${reasons[@]}"

reasons=()
enqueue "$(job stamped "$t/src/small.epub" ',"timestamp":'"$(($(date +%s) - 30))")"
qr_wait_for 120 published stamped || reasons+=("the job with a timestamp key was not published")
waited() { curl -s "http://$admin/metrics" | grep -q '^quire_queue_wait_seconds_count 1$'; }
qr_wait_for 10 waited || reasons+=("no queue wait recorded: $(curl -s "http://$admin/metrics" | grep queue_wait)")
sum="$(curl -s "http://$admin/metrics" | awk '/^quire_queue_wait_seconds_sum/{print int($2)}')"
((${sum:-0} >= 30)) || reasons+=("queue wait sum ${sum:-none} < 30 s")
[[ "$(rc LLEN resque:failed)" == 0 ]] || reasons+=("failed: $(rc LINDEX resque:failed 0 | head -c 300)")
qr_case "a payload with an add-on's timestamp key runs, and its queue wait is in /metrics" "${reasons[@]}"
stop_pid "$s1" 60

qr_summary
