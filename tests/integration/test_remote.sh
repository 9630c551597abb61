#!/usr/bin/env bash
# quire against the real world, on loopback only: a real s3rver (sources and
# the store), a real redis-server, an HTTP server for https-style sources and
# the signature-checking callback receiver (tests/tools/callback_receiver.py).
# Runs inside a private network namespace that has only loopback (root), so
# a job URL aimed at 10.0.0.1 or 169.254.169.254 cannot leave the host even
# if the guard were wrong. s3rver does not check signatures (SigV4 is checked
# against botocore's vectors in unit/aws/test_sigv4).
#
# Cases: process s3:// -> s3:// and verify/unpack from S3; a re-run is
# already published; an http source is refused without the allowlist and
# fetched with it; sources at 10.0.0.1 and 169.254.169.254 are refused; the
# worker publishes an s3:// job and its callback reaches the receiver exactly
# once (signed) although the first two attempts fail; failed jobs (missing
# key, forbidden address) send book.failed callbacks with their error ids; a
# callback that never gets through fails the job with callback-failed while
# the package stays published.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

qr_netns_reexec "$@"

qr_init remote
command -v redis-server >/dev/null || qr_skip "redis-server not installed"
command -v redis-cli >/dev/null || qr_skip "redis-cli not installed"
python3 -c 'import botocore' 2>/dev/null || qr_skip "python3-botocore not installed"
S3RVER="$(qr_s3rver)"

t="$QR_TMP"
PIDS=()
# shellcheck disable=SC2317  # called by the EXIT trap
stop_all() {
    local p
    for p in "${PIDS[@]+"${PIDS[@]}"}"; do
        kill -KILL "$p" 2>/dev/null || true
    done
    qr_cleanup
}
trap stop_all EXIT

S3PORT="$(qr_free_port)"
mkdir -p "$t/s3data"
"$S3RVER" --directory "$t/s3data" --address 127.0.0.1 --port "$S3PORT" --silent \
    --configure-bucket inbox --configure-bucket books >"$t/s3rver.log" 2>&1 &
PIDS+=($!)
RPORT="$(qr_free_port)"
redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$t" \
    >"$t/redis.log" 2>&1 &
PIDS+=($!)
mkdir -p "$t/www"
HPORT="$(qr_free_port)"
python3 -m http.server "$HPORT" --bind 127.0.0.1 --directory "$t/www" >"$t/http.log" 2>&1 &
PIDS+=($!)
SECRET="whsec-quire-test-0123456789abcdef"
start_receiver() { # NAME ARGS...: starts a receiver, prints its port
    local name="$1"
    shift
    python3 "$QR_SRCDIR/tests/tools/callback_receiver.py" --secret "$SECRET" \
        --port-file "$t/$name.port" --record "$t/$name.json" "$@" >"$t/$name.log" 2>&1 &
    PIDS+=($!)
}
start_receiver cb --fail 2 --fail-mode 503
start_receiver dead --always 503

# shellcheck disable=SC2317  # called through qr_wait_for
port_up() { bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
qr_wait_for 30 port_up "$S3PORT" || qr_die "s3rver did not start: $(tail -n 5 "$t/s3rver.log")"
qr_wait_for 10 port_up "$RPORT" || qr_die "redis-server did not start: $(tail -n 5 "$t/redis.log")"
qr_wait_for 10 port_up "$HPORT" || qr_die "http.server did not start: $(tail -n 5 "$t/http.log")"
qr_wait_for 10 test -s "$t/cb.port" || qr_die "receiver did not start: $(cat "$t/cb.log")"
qr_wait_for 10 test -s "$t/dead.port" || qr_die "receiver did not start: $(cat "$t/dead.log")"
CBPORT="$(cat "$t/cb.port")"
DEADPORT="$(cat "$t/dead.port")"

export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
export AWS_ENDPOINT_URL="http://127.0.0.1:$S3PORT" AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE="$t/no-aws-config" AWS_SHARED_CREDENTIALS_FILE="$t/no-aws-credentials"
export XDG_CONFIG_HOME="$t/config"
unset QUIRE_NET_ALLOW QUIRE_NET_ALLOW_HTTP QUIRE_CALLBACK_SECRET QUIRE_KEY_FILE

qr_run "$t/sample" sample-book "$t/book.epub" --chapters 3 --images 2 --size 800x600
[[ "$(qr_rc "$t/sample")" == 0 ]] || qr_die "sample-book failed: $(cat "$t/sample.err")"
cp "$t/book.epub" "$t/www/book.epub"
qr_run "$t/keys" keys generate -o "$t/keys.json"
[[ "$(qr_rc "$t/keys")" == 0 ]] || qr_die "keys generate failed: $(cat "$t/keys.err")"
chmod 600 "$t/keys.json"
export QUIRE_KEY_FILE="$t/keys.json"

# s3 put/list through botocore: an independent S3 client.
s3py() {
    python3 - "$@" <<'PY'
import os, sys
import botocore.session
c = botocore.session.get_session().create_client(
    "s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1",
    aws_access_key_id="S3RVER", aws_secret_access_key="S3RVER")
op = sys.argv[1]
if op == "put":
    with open(sys.argv[4], "rb") as f:
        c.put_object(Bucket=sys.argv[2], Key=sys.argv[3], Body=f.read())
elif op == "keys":
    pages = c.get_paginator("list_objects_v2").paginate(Bucket=sys.argv[2], Prefix=sys.argv[3])
    for p in pages:
        for o in p.get("Contents", []):
            print(o["Key"])
elif op == "head":
    h = c.head_object(Bucket=sys.argv[2], Key=sys.argv[3])
    print(h.get("ContentType", ""), "|", h.get("CacheControl", ""))
PY
}
s3py put inbox "new/The Book+1.epub" "$t/book.epub"

# ---- quire process: s3 -> s3, verify and unpack from s3, idempotent re-run ----
qr_run "$t/p1" process "s3://inbox/new/The Book+1.epub" --store s3://books/pub --json
reasons=()
[[ "$(qr_rc "$t/p1")" == 0 ]] || reasons+=("exit $(qr_rc "$t/p1"): $(tail -c 400 "$t/p1.err")")
prefix="$(qr_json_get "$t/p1.out" prefix 2>/dev/null || true)"
[[ -n "$prefix" ]] || reasons+=("no prefix in the JSON report")
if [[ -n "$prefix" ]]; then
    s3py keys books "pub/$prefix" >"$t/keys.txt"
    grep -qx "pub/${prefix%/}/manifest.json" "$t/keys.txt" || reasons+=("no manifest.json in s3://books/pub/$prefix")
    grep -q "/slices/0000.qs$" "$t/keys.txt" || reasons+=("no slices in s3://books/pub/$prefix")
    read -r ct _ cc < <(s3py head books "pub/${prefix%/}/manifest.json") || true
    [[ "$ct" == application/json ]] || reasons+=("manifest Content-Type '$ct'")
    [[ "$cc" == no-cache ]] || reasons+=("manifest Cache-Control '$cc'")
    qr_run "$t/v1" verify s3://books/pub --prefix "$prefix"
    [[ "$(qr_rc "$t/v1")" == 0 ]] || reasons+=("verify from s3 failed: $(tail -c 300 "$t/v1.err")")
    qr_run "$t/u1" unpack s3://books/pub --prefix "$prefix" -o "$t/back.epub"
    [[ "$(qr_rc "$t/u1")" == 0 ]] || reasons+=("unpack from s3 failed: $(tail -c 300 "$t/u1.err")")
fi
qr_case "process s3:// source into an s3:// store; verify and unpack read it back" "${reasons[@]+"${reasons[@]}"}"

qr_run "$t/p2" process "s3://inbox/new/The Book+1.epub" --store s3://books/pub --json
qr_case "the same job again is already published" \
    "$([[ "$(qr_rc "$t/p2")" == 0 ]] || echo "exit $(qr_rc "$t/p2")")" \
    "$([[ "$(qr_json_get "$t/p2.out" already_published 2>/dev/null)" == true ]] || echo "already_published is not true")"

qr_run "$t/p3" process "s3://inbox/missing.epub" --store s3://books/pub
qr_case "a missing S3 source is source-not-found, naming bucket and key" \
    "$(qr_check_error "$t/p3" source-not-found)" \
    "$(grep -q 's3://inbox/missing.epub' "$t/p3.err" || echo "the error does not name s3://inbox/missing.epub")"

# ---- http(s) sources and the guard ----
qr_run "$t/h1" process "http://127.0.0.1:$HPORT/book.epub" -o "$t/h1pkg"
qr_case "an http source on loopback is refused without the allowlist" \
    "$(qr_check_error "$t/h1" source-forbidden)" \
    "$(grep -q 'GET /book.epub' "$t/http.log" && echo "the server saw a request")"
QUIRE_NET_ALLOW=127.0.0.1/32 QUIRE_NET_ALLOW_HTTP=1 qr_run "$t/h2" process \
    "http://127.0.0.1:$HPORT/book.epub?token=secret-query" -o "$t/h2pkg"
qr_case "with QUIRE_NET_ALLOW and QUIRE_NET_ALLOW_HTTP it is fetched and processed" \
    "$([[ "$(qr_rc "$t/h2")" == 0 ]] || echo "exit $(qr_rc "$t/h2"): $(tail -c 300 "$t/h2.err")")" \
    "$(grep -q secret-query "$t/h2.err" && echo "the query string reached the log")"
for target in "http://10.0.0.1/book.epub" "http://169.254.169.254/latest/meta-data/" \
    "https://[::ffff:10.0.0.1]/book.epub"; do
    QUIRE_NET_ALLOW=127.0.0.1/32 QUIRE_NET_ALLOW_HTTP=1 qr_run "$t/ssrf" process "$target" -o "$t/ssrfpkg"
    qr_case "source $target is refused" "$(qr_check_error "$t/ssrf" source-forbidden)"
done

# ---- the worker: s3 sources, s3 store, callbacks ----
rc() { redis-cli -p "$RPORT" --raw "$@"; }
enqueue() { # SOURCE BOOK_ID CALLBACK
    qr_run "$t/enq" enqueue "$1" --book-id "$2" --callback "$3" --redis "redis://127.0.0.1:$RPORT"
    [[ "$(qr_rc "$t/enq")" == 0 ]] || qr_die "enqueue failed: $(cat "$t/enq.err")"
}
enqueue "s3://inbox/new/The Book+1.epub" 101 "http://127.0.0.1:$CBPORT/hook"
enqueue "s3://inbox/missing.epub" 102 "http://127.0.0.1:$CBPORT/hook"
enqueue "http://10.0.0.1/book.epub" 103 "http://127.0.0.1:$CBPORT/hook"
enqueue "s3://inbox/new/The Book+1.epub" 104 "http://127.0.0.1:$DEADPORT/hook"
QUIRE_NET_ALLOW=127.0.0.1/32 QUIRE_NET_ALLOW_HTTP=1 QUIRE_CALLBACK_SECRET="$SECRET" \
    QUIRE_CALLBACK_ATTEMPTS=3 QUIRE_LOG_FORMAT=json \
    timeout -k 5 300 "$QUIRE_BIN" worker --redis "redis://127.0.0.1:$RPORT" --queues books \
    --store s3://books/fleet --interval 0.2 --admin off --work-dir "$t" --min-free 1 \
    >"$t/worker.out" 2>"$t/worker.err" &
WPID=$!
PIDS+=("$WPID")
# shellcheck disable=SC2317  # called through qr_wait_for
settled() {
    local p f
    p="$(rc GET resque:stat:processed)"
    f="$(rc GET resque:stat:failed)"
    [[ "$((${p:-0} + 0))" -ge 4 && "$((${f:-0} + 0))" -ge 3 ]]
}
qr_wait_for 240 settled || echo "worker did not settle: processed=$(rc GET resque:stat:processed) failed=$(rc GET resque:stat:failed); $(tail -n 5 "$t/worker.err")"
kill -TERM "$WPID" 2>/dev/null || true
wait "$WPID" 2>/dev/null || true

rc LRANGE resque:failed 0 -1 >"$t/failed.txt"
python3 - "$t/cb.json" "$t/dead.json" "$t/failed.txt" "$CBPORT" >"$t/worker-check.txt" <<'PY' ||
import json, sys
cb = json.load(open(sys.argv[1]))
dead = json.load(open(sys.argv[2]))
failed = [json.loads(l) for l in open(sys.argv[3]) if l.strip()]
by_book = {}
for key, d in cb["deliveries"].items():
    body = json.loads(d["body"]) if isinstance(d["body"], str) else d["body"]
    by_book[body["book_id"]] = (key, d["count"], body)
def say(case, why):
    print("%s\t%s" % (case, why))
a = by_book.get("101")
if not a:
    say("published", "no callback for book 101")
else:
    key, count, body = a
    if body["status"] != "published" or body["event"] != "book.published":
        say("published", "status %r event %r" % (body["status"], body["event"]))
    mu = body.get("manifest_url") or ""
    if not (mu.startswith("s3://books/fleet/books/101/") and mu.endswith("/manifest.json")):
        say("published", "manifest_url %r" % mu)
    if count != 1:
        say("published", "%d logical deliveries" % count)
    tries = [x for x in cb["attempts"] if x["key"] == key]
    if len(tries) != 3:
        say("published", "%d attempts, expected 3 (two failures, then 200)" % len(tries))
    if not all(x["signature_ok"] for x in tries):
        say("published", "an attempt was not validly signed")
for book, code in (("102", "source-not-found"), ("103", "source-forbidden")):
    f = by_book.get(book)
    if not f:
        say("failed-" + book, "no callback")
    elif f[2]["status"] != "failed" or (f[2].get("error") or {}).get("code") != code:
        say("failed-" + book, "status %r error %r" % (f[2]["status"], f[2].get("error")))
exc = sorted(e.get("exception") for e in failed)
if exc != ["callback-failed", "source-forbidden", "source-not-found"]:
    say("failures", "failure entries %r" % exc)
d104 = [x for x in dead["attempts"]]
if len(d104) != 3:
    say("dead", "%d attempts at the dead receiver, expected 3" % len(d104))
PY
    qr_die "cannot read the receivers' records: $(tail -n 3 "$t/cb.log" "$t/dead.log")"
reasons_for() { awk -F'\t' -v c="$1" '$1 == c {print $2}' "$t/worker-check.txt"; }
qr_case "worker: an s3:// job is published to the s3 store and its callback arrives once, signed, after two failures" "$(reasons_for published)"
qr_case "worker: a missing S3 source fails with source-not-found and a book.failed callback" "$(reasons_for failed-102)"
qr_case "worker: a source at 10.0.0.1 fails with source-forbidden and a book.failed callback" "$(reasons_for failed-103)"
qr_case "worker: failure entries name the error ids" "$(reasons_for failures)"
reasons=("$(reasons_for dead)")
prefix104="$(s3py keys books fleet/books/104/ | grep -m1 '/manifest.json$' || true)"
[[ -n "$prefix104" ]] || reasons+=("book 104 is not published in s3://books/fleet")
qr_case "worker: a callback that never gets through fails the job with callback-failed; the book stays published" "${reasons[@]}"
qr_case "worker: no secret in the worker's log" "$(grep -q "$SECRET" "$t/worker.err" && echo "the callback secret is in the log")"

# A job the parent kills (wall-clock limit) still tells the application.
qr_run "$t/slow" sample-book "$t/slow.epub" --chapters 4 --images 12 --size 3200x2400
[[ "$(qr_rc "$t/slow")" == 0 ]] || qr_die "sample-book failed: $(cat "$t/slow.err")"
s3py put inbox slow.epub "$t/slow.epub"
qr_run "$t/enq" enqueue s3://inbox/slow.epub --book-id 105 --queue slow \
    --callback "http://127.0.0.1:$CBPORT/hook" --redis "redis://127.0.0.1:$RPORT"
QUIRE_NET_ALLOW=127.0.0.1/32 QUIRE_NET_ALLOW_HTTP=1 QUIRE_CALLBACK_SECRET="$SECRET" \
    timeout -k 5 120 "$QUIRE_BIN" worker --redis "redis://127.0.0.1:$RPORT" --queues slow \
    --store s3://books/fleet --interval 0.2 --admin off --work-dir "$t" --min-free 1 \
    --job-timeout 0.5 >"$t/worker2.out" 2>"$t/worker2.err" &
WPID=$!
PIDS+=("$WPID")
# shellcheck disable=SC2317  # called through qr_wait_for
timeout_reported() {
    python3 - "$t/cb.json" <<'PY'
import json, sys
cb = json.load(open(sys.argv[1]))
for d in cb["deliveries"].values():
    body = json.loads(d["body"]) if isinstance(d["body"], str) else d["body"]
    if body["book_id"] == "105" and body["status"] == "failed" and (body.get("error") or {}).get("code") == "timeout":
        sys.exit(0)
sys.exit(1)
PY
}
reasons=()
qr_wait_for 60 timeout_reported || reasons+=("no book.failed callback with error timeout for book 105")
kill -TERM "$WPID" 2>/dev/null || true
wait "$WPID" 2>/dev/null || true
rc LRANGE resque:failed 0 -1 | grep -q '"exception":"timeout"' || reasons+=("no timeout failure entry")
qr_case "worker: a job killed at the wall-clock limit sends a book.failed callback (timeout)" "${reasons[@]+"${reasons[@]}"}"
qr_summary
