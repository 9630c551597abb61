#!/usr/bin/env bash
# Alerts (docs/operations/monitoring.md, "Alerts") with a real redis-server, a
# real SMTP server (aiosmtpd, tests/tools/smtp_sink.py) and the signed-callback
# receiver, all on 127.0.0.1 inside a private network namespace:
#   - a job killed at the memory limit sends exactly one mail, with the book,
#     error id, stage, log lines and the `quire logs` command (plain SMTP);
#   - a child SIGKILLed by someone else at its last attempt sends one
#     "poisoned" mail naming the signal, and leaves a DirtyExit failure entry;
#   - the same through STARTTLS with AUTH, and a relay without STARTTLS is
#     refused while TLS is required;
#   - ten kills of the same book within the period send one mail;
#   - many distinct books at once: the burst goes singly, the rest in one digest;
#   - the relay down loses nothing of the outcome (history record, failure
#     entry) and the worker goes on;
#   - the webhook receives the alert as JSON, signed as callbacks are (the
#     receiver checks the HMAC with Python's hmac).
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
qr_netns_reexec "$@"
qr_init alerts

command -v openssl >/dev/null || qr_skip "openssl not installed"
/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null ||
    qr_die "python3-aiosmtpd missing: scripts/setup.sh installs it"

t="$QR_TMP"
PIDS=()
WPID=""
stop_all() {
    local p
    for p in "$WPID" "${PIDS[@]}"; do
        if [[ -n "$p" ]]; then kill -TERM "$p" 2>/dev/null || true; fi
    done
    sleep 0.2
    for p in "$WPID" "${PIDS[@]}"; do
        if [[ -n "$p" ]]; then kill -KILL "$p" 2>/dev/null || true; fi
    done
    qr_cleanup
}
trap stop_all EXIT

# shellcheck disable=SC2119 # no extra redis-server options
qr_redis_start
RPORT="$QR_REDIS_PORT"
PIDS+=("$QR_REDIS_PID")
rc() { qr_redis "$@"; }

# A self-signed certificate for 127.0.0.1, made now.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
    -addext "subjectAltName=IP:127.0.0.1" -keyout "$t/relay.key" -out "$t/relay.pem" \
    >"$t/openssl.log" 2>&1 || qr_die "openssl: $(cat "$t/openssl.log")"

# start_sink NAME ARGS...: an SMTP server writing to $t/NAME/; its port in $t/NAME.port.
start_sink() {
    local name="$1" port
    shift
    port="$(qr_free_port)"
    mkdir -p "$t/$name"
    /usr/bin/python3 "$QR_SRCDIR/tests/tools/smtp_sink.py" --port "$port" --dir "$t/$name" "$@" \
        >"$t/$name.log" 2>&1 &
    PIDS+=($!)
    echo "$port" >"$t/$name.port"
    qr_wait_for 20 test -e "$t/$name/ready" || qr_die "smtp sink $name did not start: $(cat "$t/$name.log")"
}
start_sink plain
start_sink tls --cert "$t/relay.pem" --key "$t/relay.key" --auth "quire:s3cret-relay-pw"
PLAIN="smtp://127.0.0.1:$(cat "$t/plain.port")"
TLS="smtp://127.0.0.1:$(cat "$t/tls.port")"
mails() { find "$t/$1" -name '*.eml' | wc -l; }

SECRET="whsec-quire-test-0123456789abcdef"
python3 "$QR_SRCDIR/tests/tools/callback_receiver.py" --secret "$SECRET" \
    --port-file "$t/hook.port" --record "$t/hook.json" >"$t/hook.log" 2>&1 &
PIDS+=($!)
qr_wait_for 10 test -s "$t/hook.port" || qr_die "receiver did not start: $(cat "$t/hook.log")"
HOOK="http://127.0.0.1:$(cat "$t/hook.port")/alerts"

mkdir -p "$t/src"
qr_run "$t/s1" sample-book "$t/src/good.epub" --chapters 2 --images 2 --size 800x600
qr_run "$t/s2" sample-book "$t/src/big.epub" --chapters 16 --images 40 --size 2400x1800
[[ "$(qr_rc "$t/s2")" == 0 ]] || qr_die "sample-book failed: $(cat "$t/s2.err")"
qr_run "$t/keys" keys generate -o "$t/keys.json"
printf 'PK\003\004 this is not a book' >"$t/src/broken.epub"

export REDIS_URL="redis://127.0.0.1:$RPORT/0"
export QUIRE_KEY_FILE="$t/keys.json" QUIRE_STORE="$t/store" QUIRE_INTERVAL=0.2
export QUIRE_ALERT_FROM="quire@ops.example" QUIRE_ALERT_TO="oncall@ops.example,books@ops.example"
unset QUIRE_ALERT_SMTP QUIRE_ALERT_WEBHOOK QUIRE_CALLBACK_SECRET QUIRE_NET_ALLOW QUIRE_NET_ALLOW_HTTP

job() { echo '{"class":"Quire::ProcessBook","args":[{"book_id":"'"$1"'","source":"'"$t/src/$2"'","revision":"r7"}]}'; }
# run_jobs NAME "BOOK FILE" ... -- ARGS...: the jobs through a fresh worker,
# which stops once each has a history record and its notifiers are done.
run_jobs() {
    local name="$1" specs=() n i before
    shift
    while [[ "$1" != -- ]]; do
        specs+=("$1")
        shift
    done
    shift
    rc SADD resque:queues books >/dev/null
    for s in "${specs[@]}"; do
        # shellcheck disable=SC2086
        rc RPUSH resque:queue:books "$(job $s)" >/dev/null
    done
    before="$(rc XLEN resque:quire:history)"
    "$QUIRE_BIN" worker --queues books --threads 1 --admin off --max-attempts 1 "$@" \
        >"$t/$name.out" 2>"$t/$name.err" </dev/null &
    WPID=$!
    for ((i = 0; i < 3000; i++)); do
        n="$(rc XLEN resque:quire:history)"
        ((n >= before + ${#specs[@]})) && break
        sleep 0.1
    done
    # The notifiers finish before the worker exits (it waits for them).
    kill -TERM "$WPID"
    wait "$WPID" || true
    WPID=""
}
# wait_mails DIR N [S]: until DIR holds N mails (at most S seconds, default 30).
wait_mails() { qr_wait_for "${3:-30}" bash -c "(( \$(find '$t/$1' -name '*.eml' | wc -l) >= $2 ))" || true; }

# ---- 1. a job killed at the memory limit: one mail, plain SMTP ----
run_jobs oom "book-oom big.epub" -- --memory-limit 60 --alert-smtp "$PLAIN" --alert-smtp-tls optional
wait_mails plain 1
m="$t/plain/0001.eml"
reasons=()
[[ "$(mails plain)" == 1 ]] || reasons+=("$(mails plain) mails, want 1")
[[ -f "$m" ]] || reasons+=("no mail")
JOB="$("$QUIRE_BIN" history --book book-oom --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["runs"][0]["job_id"])')"
if [[ -f "$m" ]]; then
    out="$(/usr/bin/python3 - "$m" "$JOB" <<'EOF'
import email, email.policy, sys
raw = open(sys.argv[1], "rb").read()
msg = email.message_from_bytes(raw, policy=email.policy.default)
job = sys.argv[2]
bad = []
def want(cond, what):
    if not cond: bad.append(what)
want(msg["From"] == "quire <quire@ops.example>", "From: %r" % msg["From"])
want(msg["To"] == "oncall@ops.example, books@ops.example", "To: %r" % msg["To"])
want(str(msg["Subject"]).startswith("[quire] killed: book book-oom: out-of-memory at "), "Subject: %r" % msg["Subject"])
want(msg["Date"] is not None and msg["Message-ID"] is not None, "Date/Message-ID")
want(msg.get_content_type() == "text/plain" and msg.get_content_charset() == "utf-8", "Content-Type")
body = msg.get_content()
for s in ("Book:      book-oom", "Revision:  r7", "Error:     out-of-memory", "Stage:     ",
          "exceeded the memory limit of 60 MB", "Worker:    ", "Job:       " + job,
          "Last log lines:", "quire logs " + job):
    want(s in body, "body lacks %r" % s)
want(b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b""), "bare LF in the message")
print("; ".join(bad))
EOF
)"
    [[ -z "$out" ]] || reasons+=("$out")
fi
grep -q '"rcpt_tos": \["oncall@ops.example", "books@ops.example"\]' "$t/plain/0001.json" 2>/dev/null ||
    reasons+=("envelope recipients: $(cat "$t/plain/0001.json" 2>/dev/null)")
[[ "$(rc EXISTS resque:quire:alert:book-oom)" == 1 ]] || reasons+=("no per-book alert key")
ttl="$(rc TTL resque:quire:alert:book-oom)"
((ttl > 3000 && ttl <= 3600)) || reasons+=("per-book key TTL $ttl, want the default hour")
qr_case "a job killed at the memory limit sends one mail with the book, error id, stage, log lines and the quire logs command" "${reasons[@]}"
[[ -n "${QR_ALERT_SAMPLE:-}" && -f "$m" ]] && cp "$m" "$QR_ALERT_SAMPLE"

# ---- 1b. a child killed by a signal the worker did not send (SIGKILL from here) ----
rc FLUSHDB >/dev/null
before="$(mails plain)"
rc SADD resque:queues books >/dev/null
rc RPUSH resque:queue:books "$(job book-crash big.epub)" >/dev/null
"$QUIRE_BIN" worker --queues books --threads 1 --admin off --max-attempts 1 --alert-smtp "$PLAIN" \
    --alert-smtp-tls optional >"$t/crash.out" 2>"$t/crash.err" </dev/null &
WPID=$!
child_of_worker() { CHILD="$(pgrep -P "$WPID" | head -n 1)" && [[ -n "$CHILD" ]]; }
CHILD=""
qr_wait_for 60 child_of_worker || true
[[ -n "$CHILD" ]] && kill -KILL "$CHILD"
qr_wait_for 60 bash -c "(( \$(redis-cli -p $RPORT XLEN resque:quire:history) >= 1 ))" || true
wait_mails plain $((before + 1))
kill -TERM "$WPID"
wait "$WPID" || true
WPID=""
reasons=()
[[ -n "$CHILD" ]] || reasons+=("no child to kill")
[[ "$(($(mails plain) - before))" == 1 ]] || reasons+=("$(($(mails plain) - before)) mails, want 1")
cm="$(find "$t/plain" -name '*.eml' -newer "$t/crash.out" | head -n 1)"
if [[ -n "$cm" ]]; then
    grep -q 'Subject: \[quire\] poisoned: book book-crash: internal at ' "$cm" || reasons+=("subject: $(grep Subject "$cm")")
    grep -q 'SIGKILL (signal 9)' "$cm" || reasons+=("the message does not name SIGKILL")
    grep -q '^  quire logs [0-9a-f]\{64\}' "$cm" || reasons+=("no quire logs command")
fi
rc LRANGE resque:failed 0 -1 | grep -q '"exception":"Resque::DirtyExit"' || reasons+=("no DirtyExit failure entry")
qr_case "a child killed by a signal the worker did not send, at its last attempt, sends one poisoned mail" "${reasons[@]}"

# ---- 2. STARTTLS + AUTH; TLS required against a relay without it ----
rc FLUSHDB >/dev/null
QUIRE_ALERT_SMTP_PASSWORD="s3cret-relay-pw" run_jobs tls "book-tls big.epub" -- --job-timeout 0.3 \
    --alert-smtp "$TLS" --alert-smtp-user quire --alert-smtp-ca "$t/relay.pem"
wait_mails tls 1
reasons=()
[[ "$(mails tls)" == 1 ]] || reasons+=("$(mails tls) mails through STARTTLS, want 1: $(grep alert "$t/tls.err" | tail -n 3)")
grep -q '"tls": true, "auth": true' "$t/tls/0001.json" 2>/dev/null || reasons+=("not over TLS with AUTH: $(cat "$t/tls/0001.json" 2>/dev/null)")
grep -q 'Subject: \[quire\] killed: book book-tls: timeout at' "$t/tls/0001.eml" 2>/dev/null || reasons+=("subject")
grep -q 's3cret-relay-pw' "$t/tls.err" && reasons+=("the relay password is in the log")
qr_case "a mail goes through STARTTLS with AUTH (the relay's certificate from --alert-smtp-ca)" "${reasons[@]}"

rc FLUSHDB >/dev/null
before="$(mails plain)"
run_jobs notls "book-notls big.epub" -- --job-timeout 0.3 --alert-smtp "$PLAIN"
qr_wait_for 20 grep -q 'alert-failed: the mail about book book-notls' "$t/notls.err" || true
reasons=()
[[ "$(mails plain)" == "$before" ]] || reasons+=("a mail went to a relay without STARTTLS")
grep -q 'alert-failed: the mail about book book-notls was not sent' "$t/notls.err" || reasons+=("no alert-failed line: $(grep alert "$t/notls.err" | tail -n 3)")
qr_case "with TLS required (the default) a relay that offers no STARTTLS gets nothing" "${reasons[@]}"

# ---- 3. ten kills of the same book within the period: one mail ----
rc FLUSHDB >/dev/null
before="$(mails plain)"
specs=()
for i in $(seq 1 10); do specs+=("book-same big.epub"); done
run_jobs ten "${specs[@]}" -- --job-timeout 0.3 --alert-smtp "$PLAIN" --alert-smtp-tls optional --alert-period 600
wait_mails plain $((before + 1))
sleep 1
reasons=()
n="$(rc XLEN resque:quire:history)"
[[ "$n" == 10 ]] || reasons+=("$n history records, want 10")
[[ "$(mails plain)" == $((before + 1)) ]] || reasons+=("$(($(mails plain) - before)) mails, want 1")
[[ "$(grep -c 'is not sent: one went out within 600 s' "$t/ten.err")" == 9 ]] || reasons+=("want 9 suppressed alerts in the log")
qr_case "ten kills of the same book within the period send one mail" "${reasons[@]}"

# ---- 4. many books at once: 2 singly, the rest in one digest ----
rc FLUSHDB >/dev/null
before="$(mails plain)"
specs=()
for i in $(seq 1 6); do specs+=("book-d$i big.epub"); done
run_jobs digest "${specs[@]}" -- --job-timeout 0.3 --alert-smtp "$PLAIN" --alert-smtp-tls optional \
    --alert-burst 2 --alert-window 20 --alert-period 600
# The digest is due when the window ends; a worker (here: another one) sends it.
"$QUIRE_BIN" worker --queues books --threads 1 --admin off --alert-smtp "$PLAIN" --alert-smtp-tls optional \
    >"$t/digest2.out" 2>"$t/digest2.err" </dev/null &
WPID=$!
wait_mails plain $((before + 3)) 60
kill -TERM "$WPID"
wait "$WPID" || true
WPID=""
reasons=()
got=$(($(mails plain) - before))
[[ "$got" == 3 ]] || reasons+=("$got mails, want 2 single and 1 digest")
dg="$(grep -l 'Subject: \[quire\] digest: 4 more books' "$t"/plain/*.eml 2>/dev/null | head -n 1)"
if [[ -z "$dg" ]]; then
    reasons+=("no digest of 4")
else
    [[ "$(grep -c '^- book book-d[1-6] (killed): timeout at ' "$dg")" == 4 ]] || reasons+=("the digest does not list 4 books")
    grep -q 'quire logs [0-9a-f]\{64\}' "$dg" || reasons+=("no quire logs command in the digest")
    [[ -n "${QR_ALERT_SAMPLE:-}" ]] && cp "$dg" "$QR_ALERT_SAMPLE.digest"
fi
[[ "$(rc EXISTS resque:quire:alert-digest)" == 0 ]] || reasons+=("the digest list is still in Redis")
qr_case "many books failing at once: the burst goes singly, the rest in one digest sent by a worker at the window's end" "${reasons[@]}"

# ---- 5. the relay down: nothing of the outcome is lost, the worker goes on ----
rc FLUSHDB >/dev/null
DEAD="smtp://127.0.0.1:$(qr_free_port)"
# A broken book with --alert-failures: it fails at once, with no time limit that the good
# book after it could also hit on a slow machine.
run_jobs down "book-down broken.epub" "book-fine good.epub" -- --alert-failures --alert-smtp "$DEAD" --alert-smtp-tls optional
reasons=()
"$QUIRE_BIN" history --book book-down --json >"$t/down.json"
/usr/bin/python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["runs"]
assert r and r[0]["outcome"] == "failed" and r[0]["error"], r
print(r[0]["error"])' "$t/down.json" >"$t/down.id" 2>"$t/down.py" || reasons+=("history: $(cat "$t/down.py")")
rc LRANGE resque:failed 0 -1 | grep -q "\"exception\":\"$(cat "$t/down.id")\"" || reasons+=("no failure entry")
[[ "$(rc GET resque:stat:processed)" == 2 ]] || reasons+=("processed $(rc GET resque:stat:processed), want 2 (the next job ran)")
[[ "$("$QUIRE_BIN" history --book book-fine --outcome succeeded --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["runs"]))')" == 1 ]] ||
    reasons+=("the next book was not published")
qr_wait_for 20 grep -q 'alert-failed: the mail about book book-down was not sent: alert-failed' "$t/down.err" ||
    reasons+=("no alert-failed log line: $(grep alert "$t/down.err" | tail -n 2)")
qr_case "the relay down: history record, failure entry and stats are there, the worker goes on, alert-failed is logged" "${reasons[@]}"

# ---- 6. the webhook: signed JSON, checked with Python's hmac ----
rc FLUSHDB >/dev/null
QUIRE_NET_ALLOW=127.0.0.1/32 QUIRE_NET_ALLOW_HTTP=1 QUIRE_CALLBACK_SECRET="$SECRET" \
    run_jobs hook "book-hook big.epub" -- --job-timeout 0.3 --alert-webhook "$HOOK"
qr_wait_for 20 bash -c "grep -q book-hook '$t/hook.json' 2>/dev/null" || true
reasons=()
/usr/bin/python3 - "$t/hook.json" >"$t/hook.check" 2>&1 <<'EOF' || reasons+=("$(cat "$t/hook.check")")
import json, sys
rec = json.load(open(sys.argv[1]))
at = [a for a in rec["attempts"] if a["event"] == "quire.alert"]
assert len(at) == 1, at
assert at[0]["signed"] and at[0]["signature_ok"] and at[0]["answer"] == 200, at
(key, d), = rec["deliveries"].items()
b = json.loads(d["body"]) if isinstance(d["body"], str) else d["body"]
assert b["event"] == "quire.alert" and b["kind"] == "killed" and b["book_id"] == "book-hook", b
assert b["error"]["code"] == "timeout" and b["job_id"] == key, b
assert b["logs_command"] == "quire logs " + key, b
EOF
qr_case "the webhook receives the alert as JSON, signed as callbacks are (verified with Python's hmac)" "${reasons[@]}"

qr_summary
