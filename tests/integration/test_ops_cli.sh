#!/usr/bin/env bash
# The operator commands (quire enqueue, status, failures, health) against a
# real redis-server this test starts on 127.0.0.1 (skipped without one).
# Every check reads the raw Redis keys a Ruby Resque client or resque-web
# would read.
#
# Cases: enqueue pushes byte for byte what Resque.enqueue pushes (SADD
# queues + RPUSH, keys class then args); status --json shows the queue
# depth, a worker's current job, a processing list and the newest failure;
# a seven-field failure entry written as Resque writes it is listed and
# shown, retry puts its payload back at the tail of its queue and sets
# retried_at, remove deletes it; health exits 1 without a worker of this
# host, 0 with a fresh heartbeat and 1 again when the heartbeat is old.
# Functions called through qr_wait_for and the EXIT trap look unreachable to shellcheck.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
qr_init ops-cli

t="$QR_TMP"
trap qr_cleanup EXIT
# shellcheck disable=SC2119 # no extra redis-server options
qr_redis_start
PORT="$QR_REDIS_PORT"
rc() { qr_redis "$@"; }
export REDIS_URL
HOST="$(hostname)"

# --- enqueue ---------------------------------------------------------------
reasons=()
qr_run "$t/enq" enqueue "s3://bucket/books/42 a.epub" --book-id 42 --queue books \
    --callback "https://app.example/cb?x=1&y=2" --profile tablet --revision 3
[[ "$(qr_rc "$t/enq")" == 0 ]] || reasons+=("enqueue exit $(qr_rc "$t/enq"): $(cat "$t/enq.err")")
# What Ruby's JSON.generate writes for
# Resque.enqueue(Quire::ProcessBook, {book_id: "42", source: ..., callback_url: ..., profile: ..., revision: "3"}),
# plus the enqueue time as a top-level "timestamp" (Resque ignores extra keys; quire reads it).
want='{"class":"Quire::ProcessBook","args":[{"book_id":"42","source":"s3://bucket/books/42 a.epub","callback_url":"https://app.example/cb?x=1&y=2","profile":"tablet","revision":"3"}]}'
got="$(rc LRANGE resque:queue:books 0 -1)"
stamp="$(sed -n 's/.*,"timestamp":\([0-9.]*\)}$/\1/p' <<<"$got")"
[[ "${got/,\"timestamp\":$stamp/}" == "$want" ]] || reasons+=("queue holds '$got', want '$want' with a timestamp")
now="$(date +%s)"
[[ -n "$stamp" ]] && ((${stamp%.*} >= now - 60 && ${stamp%.*} <= now)) ||
    reasons+=("timestamp '$stamp' is not the enqueue time (now $now)")
[[ "$(rc SISMEMBER resque:queues books)" == 1 ]] || reasons+=("books not in resque:queues")
qr_run "$t/enq2" enqueue /srv/b.epub --book-id 7 --queue covers --class Other::Job \
    --redis "redis://127.0.0.1:$PORT" --namespace ns2
got="$(rc LINDEX ns2:queue:covers 0)"
[[ "${got%,\"timestamp\":*}}" == '{"class":"Other::Job","args":[{"book_id":"7","source":"/srv/b.epub"}]}' ]] ||
    reasons+=("--class/--namespace: got '$got'")
qr_run "$t/enq3" enqueue /srv/b.epub
[[ "$(qr_rc "$t/enq3")" == 2 ]] || reasons+=("enqueue without --book-id: exit $(qr_rc "$t/enq3"), want 2")
qr_case "enqueue pushes what Resque.enqueue pushes" "${reasons[@]}"

# --- a worker mid-job, a processing list, a failure entry ------------------
WID="$HOST:123:books"
rc SADD resque:workers "$WID" >/dev/null
rc SET "resque:worker:$WID:started" "2026-11-26 10:56:29 +0000" >/dev/null
rc SET "resque:worker:$WID" '{"queue":"books","run_at":"2026-11-26T10:56:29Z","payload":{"class":"Quire::ProcessBook","args":[{"book_id":"9","source":"/b/9.epub"}]}}' >/dev/null
rc SADD resque:quire:processing "books:$WID" >/dev/null
rc RPUSH "resque:quire:processing:books:$WID" '{"class":"Quire::ProcessBook","args":[{"book_id":"9","source":"/b/9.epub"}]}' >/dev/null
rc SET resque:stat:processed 5 >/dev/null
rc SET resque:stat:failed 2 >/dev/null
# Two entries exactly as Resque::Failure::Redis#save writes them (seven fields, this order).
F0='{"failed_at":"2026/11/26 10:50:00 UTC","payload":{"class":"Quire::ProcessBook","args":[{"book_id":"1","source":"/b/1.epub"}]},"exception":"Quire::JobFailed","error":"zip-bomb: too large","backtrace":[],"worker":"other:1:books","queue":"books"}'
F1='{"failed_at":"2026/11/26 10:56:19 UTC","payload":{"class":"Quire::ProcessBook","args":[{"book_id":"42","source":"/b/42.epub","revision":"2"}]},"exception":"Quire::JobFailed","error":"drm-protected: book is encrypted","backtrace":["quire/epub: encryption.xml"],"worker":"vm:17662:covers","queue":"covers"}'
rc RPUSH resque:failed "$F0" "$F1" >/dev/null

reasons=()
qr_run "$t/st" status --json
[[ "$(qr_rc "$t/st")" == 0 ]] || reasons+=("status --json exit $(qr_rc "$t/st"): $(cat "$t/st.err")")
check="$(python3 - "$t/st.out" "$WID" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
wid = sys.argv[2]
out = []
q = {x["name"]: x["depth"] for x in s["queues"]}
if q != {"books": 1}:
    out.append(f"queues {q}")
w = [x for x in s["workers"] if x["id"] == wid]
if len(w) != 1:
    out.append(f"workers {s['workers']}")
else:
    j = w[0]["job"] or {}
    if (j.get("queue"), j.get("book_id"), j.get("class"), j.get("run_at")) != ("books", "9", "Quire::ProcessBook", "2026-11-26T10:56:29Z"):
        out.append(f"job {j}")
    if not isinstance(j.get("elapsed_s"), int):
        out.append(f"elapsed_s {j.get('elapsed_s')}")
    if w[0]["started"] != "2026-11-26 10:56:29 +0000" or w[0]["heartbeat"] is not None:
        out.append(f"worker {w[0]}")
p = s["processing"]
if [(x["queue"], x["worker"], x["length"]) for x in p] != [("books", wid, 1)]:
    out.append(f"processing {p}")
if (s["processed"], s["failed"], s["failed_entries"]) != (5, 2, 2):
    out.append(f"counters {s['processed']} {s['failed']} {s['failed_entries']}")
r = s["recent_failures"]
if [(x["index"], x["queue"], x["book_id"], x["exception"]) for x in r] != [(1, "covers", "42", "Quire::JobFailed"), (0, "books", "1", "Quire::JobFailed")]:
    out.append(f"recent_failures {r}")
elif r[0]["failed_at"] != "2026/11/26 10:56:19 UTC" or not r[0]["error"].startswith("drm-protected"):
    out.append(f"newest failure {r[0]}")
print("; ".join(out))
PY
)"
[[ -z "$check" ]] || reasons+=("status --json: $check")
qr_run "$t/sth" status
[[ "$(qr_rc "$t/sth")" == 0 ]] || reasons+=("status exit $(qr_rc "$t/sth")")
grep -q "working on Quire::ProcessBook book 9 from books" "$t/sth.out" ||
    reasons+=("human status lacks the job: $(cat "$t/sth.out")")
qr_case "status shows queues, workers, processing lists and failures" "${reasons[@]}"

# --- status --watch: refreshes until SIGTERM, one JSON object per line ------
reasons=()
"$QUIRE_BIN" status --watch --json --interval 0.2 >"$t/watch.out" 2>"$t/watch.err" </dev/null &
wpid=$!
# A loaded machine may take a while to start it: count from its first snapshot.
first_snapshot() { [[ -s "$t/watch.out" ]]; }
qr_wait_for 60 first_snapshot || reasons+=("status --watch printed nothing in 60 s")
sleep 1.5
kill -TERM "$wpid" 2>/dev/null || true
wrc=0
timeout 10 tail --pid="$wpid" -f /dev/null || reasons+=("status --watch did not stop on SIGTERM")
wait "$wpid" || wrc=$?
[[ "$wrc" == 0 ]] || reasons+=("status --watch exit $wrc: $(head -c 300 "$t/watch.err")")
nlines="$(python3 -c '
import json, sys
n = 0
for line in open(sys.argv[1]):
    json.loads(line)
    n += 1
print(n)' "$t/watch.out" 2>&1)" || reasons+=("status --watch output is not JSON lines: $nlines")
[[ "$nlines" =~ ^[0-9]+$ ]] && ((nlines >= 3)) || reasons+=("status --watch printed $nlines snapshots in 1.5 s after its first")
qr_case "status --watch refreshes and stops on SIGTERM" "${reasons[@]}"

# --- failures --------------------------------------------------------------
reasons=()
qr_run "$t/fl" failures list --json
[[ "$(qr_rc "$t/fl")" == 0 ]] || reasons+=("failures list exit $(qr_rc "$t/fl"): $(cat "$t/fl.err")")
got="$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["total"], [f["index"] for f in d["failures"]], d["failures"][1]["entry"]["error"])' "$t/fl.out" 2>&1)"
[[ "$got" == "2 [0, 1] drm-protected: book is encrypted" ]] || reasons+=("list --json: $got")
qr_run "$t/flh" failures list
grep -q "#1 .*covers  Quire::JobFailed: drm-protected" "$t/flh.out" || reasons+=("list: $(cat "$t/flh.out")")
qr_run "$t/fs" failures show 1
grep -q "^backtrace:" "$t/fs.out" && grep -q "  quire/epub: encryption.xml" "$t/fs.out" &&
    grep -q '^worker: *vm:17662:covers' "$t/fs.out" || reasons+=("show: $(cat "$t/fs.out")")
qr_run "$t/fsj" failures show 1 --json
got="$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(list(d["entry"]))' "$t/fsj.out" 2>&1)"
[[ "$got" == "['failed_at', 'payload', 'exception', 'error', 'backtrace', 'worker', 'queue']" ]] ||
    reasons+=("show --json fields: $got")
qr_run "$t/fs9" failures show 9
[[ "$(qr_rc "$t/fs9")" == 1 ]] || reasons+=("show 9 of 2: exit $(qr_rc "$t/fs9"), want 1")
qr_case "failures list and show a Resque failure entry" "${reasons[@]}"

reasons=()
rc RPUSH resque:queue:covers '{"class":"Quire::ProcessBook","args":[{"book_id":"8","source":"/b/8.epub"}]}' >/dev/null
qr_run "$t/fr" failures retry 1
[[ "$(qr_rc "$t/fr")" == 0 ]] || reasons+=("retry exit $(qr_rc "$t/fr"): $(cat "$t/fr.err")")
got="$(rc LINDEX resque:queue:covers -1)"
[[ "$got" == '{"class":"Quire::ProcessBook","args":[{"book_id":"42","source":"/b/42.epub","revision":"2"}]}' ]] ||
    reasons+=("tail of covers is '$got'")
[[ "$(rc LLEN resque:queue:covers)" == 2 ]] || reasons+=("covers depth $(rc LLEN resque:queue:covers), want 2")
[[ "$(rc SISMEMBER resque:queues covers)" == 1 ]] || reasons+=("covers not in resque:queues")
entry="$(rc LINDEX resque:failed 1)"
got="$(python3 - "$entry" "$F1" <<'PY'
import json, re, sys
e, orig = json.loads(sys.argv[1]), json.loads(sys.argv[2])
out = []
if list(e) != list(orig) + ["retried_at"]:
    out.append(f"keys {list(e)}")
if not re.fullmatch(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d", e.get("retried_at", "")):
    out.append(f"retried_at {e.get('retried_at')!r}")
if {k: v for k, v in e.items() if k != "retried_at"} != orig:
    out.append("entry changed beyond retried_at")
print("; ".join(out))
PY
)"
[[ -z "$got" ]] || reasons+=("retried entry: $got")
[[ "$(rc LLEN resque:failed)" == 2 ]] || reasons+=("retry removed the entry")
qr_case "failures retry requeues at the tail and sets retried_at" "${reasons[@]}"

reasons=()
qr_run "$t/frm" failures remove 0
[[ "$(qr_rc "$t/frm")" == 0 ]] || reasons+=("remove exit $(qr_rc "$t/frm"): $(cat "$t/frm.err")")
[[ "$(rc LLEN resque:failed)" == 1 ]] || reasons+=("failed holds $(rc LLEN resque:failed), want 1")
got="$(rc LINDEX resque:failed 0)"
[[ "$got" == *'"queue":"covers","retried_at":'* ]] || reasons+=("remaining entry is '$got'")
qr_run "$t/frm9" failures remove 5
[[ "$(qr_rc "$t/frm9")" == 2 ]] || reasons+=("remove 5 of 1: exit $(qr_rc "$t/frm9"), want 2")
[[ "$(rc LLEN resque:failed)" == 1 ]] || reasons+=("a bad remove changed the list")
qr_case "failures remove deletes exactly that entry" "${reasons[@]}"

# --- health ----------------------------------------------------------------
reasons=()
rc DEL resque:workers resque:workers:heartbeat >/dev/null
qr_run "$t/h0" health
[[ "$(qr_rc "$t/h0")" == 1 ]] || reasons+=("no worker: exit $(qr_rc "$t/h0"), want 1")
grep -q "no worker of host $HOST" "$t/h0.err" || reasons+=("no worker: $(cat "$t/h0.err")")
rc SADD resque:workers "$WID" >/dev/null
qr_run "$t/h1" health
[[ "$(qr_rc "$t/h1")" == 1 ]] || reasons+=("no heartbeat: exit $(qr_rc "$t/h1"), want 1")
rc HSET resque:workers:heartbeat "$WID" "$(date -u +%Y-%m-%dT%H:%M:%S+00:00)" >/dev/null
qr_run "$t/h2" health
[[ "$(qr_rc "$t/h2")" == 0 ]] || reasons+=("fresh heartbeat: exit $(qr_rc "$t/h2"): $(cat "$t/h2.err")")
qr_run "$t/h3" health --hostname "other-$HOST"
[[ "$(qr_rc "$t/h3")" == 1 ]] || reasons+=("other host: exit $(qr_rc "$t/h3"), want 1")
rc HSET resque:workers:heartbeat "$WID" "$(date -u -d '-200 seconds' +%Y-%m-%dT%H:%M:%SZ)" >/dev/null
qr_run "$t/h4" health
[[ "$(qr_rc "$t/h4")" == 1 ]] || reasons+=("old heartbeat: exit $(qr_rc "$t/h4"), want 1")
grep -q "s old (max 90)" "$t/h4.err" || reasons+=("old heartbeat: $(cat "$t/h4.err")")
qr_run "$t/h5" health --max-age 300
[[ "$(qr_rc "$t/h5")" == 0 ]] || reasons+=("--max-age 300: exit $(qr_rc "$t/h5")")
qr_run "$t/h6" health --redis "redis://127.0.0.1:1"
[[ "$(qr_rc "$t/h6")" == 1 ]] || reasons+=("Redis down: exit $(qr_rc "$t/h6"), want 1")
qr_case "health follows this host's heartbeat" "${reasons[@]}"

for p in "$t"/*.rc; do
    c="$(qr_crash "${p%.rc}")"
    [[ -z "$c" ]] || qr_fail "no crash in $(basename "${p%.rc}")" "$c"
done

qr_summary
