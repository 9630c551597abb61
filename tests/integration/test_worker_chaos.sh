#!/usr/bin/env bash
# Chaos: three `quire worker` processes share one queue of small jobs while
# this test SIGKILLs a random worker every ~2 s and starts a replacement with
# the same arguments (skipped without redis-server). Jobs are pushed with
# redis-cli as Ruby's Resque.enqueue pushes them.
#
# At the end (bounded waits): every book id has a published package, a
# sample of them verifies, stat:processed + stat:failed covers every job and
# nothing failed, the queue and every processing list are empty, the
# attempt counters are gone, and the three survivors drain on SIGTERM and exit 0. The output reports how many
# kills hit a running job and how many jobs the sweeps requeued (re-runs).
#
# QR_CHAOS_JOBS (default 200) and QR_CHAOS_SECONDS (how long the killing
# goes on, default 40) size the run; the defaults finish in well under four
# minutes with an ASan+UBSan Debug build on two cores.
# Functions called through qr_wait_for and the EXIT trap look unreachable to shellcheck.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
qr_init worker-chaos

command -v redis-server >/dev/null || qr_skip "redis-server not installed"
command -v redis-cli >/dev/null || qr_skip "redis-cli not installed"

t="$QR_TMP"
JOBS="${QR_CHAOS_JOBS:-200}"
CHAOS_SECONDS="${QR_CHAOS_SECONDS:-40}"
NWORKERS=3
REDIS_PID=""
PIDS=()

stop_all() {
    local p
    for p in "${PIDS[@]}"; do
        if [[ -n "$p" ]]; then
            kill -KILL "$p" 2>/dev/null || true
        fi
    done
    if [[ -n "$REDIS_PID" ]]; then
        kill -KILL "$REDIS_PID" 2>/dev/null || true
    fi
    qr_cleanup
}
trap stop_all EXIT

PORT="$(qr_free_port)"
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$t" \
    >>"$t/redis.log" 2>&1 &
REDIS_PID=$!

rc() {
    redis-cli -p "$PORT" --raw "$@"
}


redis_up() { [[ "$(rc PING 2>/dev/null)" == PONG ]]; }
qr_wait_for 10 redis_up || qr_die "redis-server did not start: $(cat "$t/redis.log")"

mkdir -p "$t/src"
qr_run "$t/sample" sample-book "$t/src/tiny.epub" --chapters 1 --images 0
[[ "$(qr_rc "$t/sample")" == 0 ]] || qr_die "sample-book failed: $(cat "$t/sample.err")"
qr_run "$t/keys" keys generate -o "$t/keys.json"
[[ "$(qr_rc "$t/keys")" == 0 ]] || qr_die "keys generate failed: $(cat "$t/keys.err")"

export REDIS_URL="redis://127.0.0.1:$PORT/0"

# start_worker SLOT: starts (or restarts) worker SLOT in the background.
NSTARTS=0
start_worker() {
    local slot="$1"
    NSTARTS=$((NSTARTS + 1))
    "$QUIRE_BIN" worker --queues chaos --store "$t/store" --key-file "$t/keys.json" \
        --source-dir "$t/src" --hostname "chaos$slot" --interval 0.2 \
        --heartbeat-interval 1 --sweep-interval 2 --max-attempts 20 \
        --threads 1 --drain-timeout 20 \
        >"$t/w$NSTARTS.out" 2>"$t/w$NSTARTS.err" </dev/null &
    PIDS[slot]=$!
}

processed() { local n; n="$(rc GET resque:stat:processed)"; echo "${n:-0}"; }
failed() { local n; n="$(rc GET resque:stat:failed)"; echo "${n:-0}"; }
processing_left() { rc KEYS 'resque:quire:processing:*' | grep -c . || true; }
all_done() {
    (($(processed) + $(failed) >= JOBS)) && [[ "$(rc LLEN resque:queue:chaos)" == 0 ]] &&
        [[ "$(processing_left)" == 0 ]]
}
registered_n() { [[ "$(rc SCARD resque:workers)" == "$1" ]]; }

payloads=()
for ((i = 1; i <= JOBS; i++)); do
    payloads+=('{"class":"Quire::ProcessBook","args":[{"book_id":"j'"$i"'","source":"'"$t/src/tiny.epub"'","revision":"r1"}]}')
done
rc SADD resque:queues chaos >/dev/null
rc RPUSH resque:queue:chaos "${payloads[@]}" >/dev/null

for ((s = 0; s < NWORKERS; s++)); do
    start_worker "$s"
done

# ---- kill a random worker every ~2 s while jobs run ----------------------------------
reasons=()
kills=0
busy_kills=0
start_s=$SECONDS
while ((SECONDS - start_s < CHAOS_SECONDS)) && ! all_done; do
    sleep 2
    s=$((RANDOM % NWORKERS))
    victim="${PIDS[s]}"
    working="$(rc GET "resque:worker:chaos$s:$victim:chaos")"
    if [[ -n "$working" ]]; then
        busy_kills=$((busy_kills + 1))
        # When, and which book: the kill-to-rerun time is measured from here.
        book="$(grep -o '"book_id":"j[0-9]*"' <<<"$working" | head -n 1 | cut -d'"' -f4)"
        echo "$(date +%s.%N) $book" >>"$t/kills.txt"
    fi
    kill -KILL "$victim" 2>/dev/null || reasons+=("worker $victim had already exited")
    wait "$victim" 2>/dev/null || true
    kills=$((kills + 1))
    start_worker "$s"
done
chaos_s=$((SECONDS - start_s))
qr_wait_for 150 all_done || reasons+=("not done: processed $(processed), failed $(failed), queued $(rc LLEN resque:queue:chaos), processing lists $(processing_left)")
total_s=$((SECONDS - start_s))
p="$(processed)"
f="$(failed)"
[[ "$f" == 0 ]] || reasons+=("stat:failed is $f: $(rc LINDEX resque:failed 0 | head -c 400)")
((p + f >= JOBS)) || reasons+=("stat:processed $p + stat:failed $f < $JOBS jobs")
[[ "$(rc LLEN resque:queue:chaos)" == 0 ]] || reasons+=("queue holds $(rc LLEN resque:queue:chaos) jobs")
[[ "$(processing_left)" == 0 ]] || reasons+=("processing lists left: $(rc KEYS 'resque:quire:processing:*' | tr '\n' ' ')")
[[ "$(rc HLEN resque:quire:attempts)" == 0 ]] || reasons+=("attempt counters left: $(rc HLEN resque:quire:attempts)")
missing=0
for ((i = 1; i <= JOBS; i++)); do
    [[ -f "$t/store/books/j$i/r1/manifest.json" ]] || missing=$((missing + 1))
done
((missing == 0)) || reasons+=("$missing of $JOBS books have no package")
((kills >= 3)) || reasons+=("only $kills kills: the run ended before the chaos did anything")
qr_case "$JOBS jobs under $kills SIGKILLs: every book published, none lost or left queued" "${reasons[@]}"

# ---- a sample of the packages verifies ---------------------------------------------------
reasons=()
for ((k = 0; k < 10; k++)); do
    i=$((RANDOM % JOBS + 1))
    qr_run "$t/verify$k" verify "$t/store" --prefix "books/j$i/r1" --key-file "$t/keys.json"
    [[ "$(qr_rc "$t/verify$k")" == 0 ]] || reasons+=("j$i: $(head -c 300 "$t/verify$k.err")")
done
qr_case "10 sampled packages verify" "${reasons[@]}"

# ---- dead workers are forgotten -------------------------------------------------------
# Every killed worker, busy or idle, is pruned at once by its replacement on the
# same host (its process is gone), not after --prune-after: only the survivors
# stay registered.
survivors=()
for ((s = 0; s < NWORKERS; s++)); do
    survivors+=("chaos$s:${PIDS[s]}:chaos")
done
for ((i = 0; i < 150; i++)); do
    [[ "$(rc SCARD resque:workers)" == "$NWORKERS" ]] && break
    sleep 0.1
done
reasons=()
while IFS= read -r wid; do
    [[ -n "$wid" ]] || continue
    live=0
    for sv in "${survivors[@]}"; do
        [[ "$wid" != "$sv" ]] || live=1
    done
    ((live)) || reasons+=("$wid, killed, is still registered")
done < <(rc SMEMBERS resque:workers)
qr_case "the ids of killed workers are pruned from resque:workers" "${reasons[@]}"

# ---- the survivors drain on SIGTERM --------------------------------------------------
reasons=()
for ((s = 0; s < NWORKERS; s++)); do
    kill -TERM "${PIDS[s]}"
done
for ((s = 0; s < NWORKERS; s++)); do
    st=0
    for ((i = 0; i < 300; i++)); do
        if ! kill -0 "${PIDS[s]}" 2>/dev/null || [[ "$(ps -o stat= -p "${PIDS[s]}")" == Z* ]]; then
            break
        fi
        sleep 0.1
    done
    if ((i == 300)); then
        reasons+=("worker ${PIDS[s]} did not exit on TERM")
        kill -KILL "${PIDS[s]}" 2>/dev/null || true
    fi
    wait "${PIDS[s]}" || st=$?
    [[ "$st" == 0 ]] || reasons+=("worker ${PIDS[s]} exit status $st")
    PIDS[s]=""
done
stale=0
while IFS= read -r wid; do
    [[ -n "$wid" ]] || continue
    for sv in "${survivors[@]}"; do
        [[ "$wid" != "$sv" ]] || reasons+=("$wid still registered after TERM")
    done
    stale=$((stale + 1))
done < <(rc SMEMBERS resque:workers)
for e in "$t"/w*.err; do
    if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$e"; then
        reasons+=("$(basename "$e"): $(grep -m1 -E 'Sanitizer|runtime error:' "$e")")
    fi
done
qr_case "survivors drain on SIGTERM, exit 0 and unregister; no sanitizer reports" "${reasons[@]}"

requeued="$(cat "$t"/w*.err | python3 -c '
import json, re, sys
n = 0
for line in sys.stdin:
    try:
        m = json.loads(line).get("msg", "")
    except ValueError:
        continue
    r = re.search(r"(\d+) job\(s\) requeued", m)
    if r:
        n += int(r.group(1))
print(n)')"
# Kill-to-rerun: from each SIGKILL of a busy worker to the next start of that
# book's job by any worker (its replacement prunes the dead id at start-up).
rerun="$(cat "$t"/w*.err | python3 -c '
import datetime, json, re, statistics, sys
kills = [l.split() for l in open(sys.argv[1])] if len(sys.argv) > 1 else []
starts = {}
for line in sys.stdin:
    try:
        e = json.loads(line)
    except ValueError:
        continue
    m = re.match(r"book (\S+) from chaos: child", e.get("msg", ""))
    if m:
        t = datetime.datetime.strptime(e["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
        starts.setdefault(m.group(1), []).append(t.timestamp())
waits = []
for k in kills:
    if len(k) != 2:
        continue
    later = [s for s in starts.get(k[1], []) if s > float(k[0])]
    if later:
        waits.append(min(later) - float(k[0]))
if waits:
    print("%d %.1f %.1f" % (len(waits), statistics.median(waits), max(waits)))
else:
    print("0 0 0")
' "$t/kills.txt" 2>/dev/null || echo "0 0 0")"
read -r rerun_n rerun_p50 rerun_max <<<"$rerun"
reasons=()
# Generous for a noisy machine: without the same-host check this is --prune-after (300 s).
if ((rerun_n > 0)) && python3 -c "import sys; sys.exit(0 if float('$rerun_max') < 60 else 1)"; then
    :
elif ((rerun_n == 0)); then
    echo "note: no kill hit a running job whose book was then re-run"
else
    reasons+=("kill-to-rerun max ${rerun_max}s over 60 s")
fi
qr_case "a killed worker's job re-runs within seconds under a same-host restart ($rerun_n: p50 ${rerun_p50}s, max ${rerun_max}s)" "${reasons[@]}"

echo "chaos report: $JOBS jobs, $kills SIGKILLs ($busy_kills while a job ran), $NSTARTS worker starts," \
    "re-runs: $requeued job(s) requeued by sweeps, $((p + f - JOBS)) recorded twice;" \
    "ids of killed workers left registered: $stale;" \
    "stat:processed $p, stat:failed $f; chaos ${chaos_s}s, done after ${total_s}s;" \
    "kill-to-rerun of $rerun_n busy kills: p50 ${rerun_p50}s, max ${rerun_max}s"

qr_summary
