#!/usr/bin/env bash
# quire serve (docs/operations/serve.md) with a real redis-server, a real
# worker and curl as the client, inside a network namespace that has only
# loopback (a source the guard failed to refuse could not leave the host):
# - a book submitted by URL and one streamed in the body are published, and
#   their status moves queued -> running -> published (the URL source is
#   held by a local HTTP server until the test has seen the job running);
#   a broken upload ends failed with its error id;
# - the payload serve pushes is byte for byte what `quire enqueue --job-id`
#   pushes; an Idempotency-Key, or the same book and source, gives one job;
#   DELETE removes a queued job, and only a queued one;
# - a table of malformed and unauthenticated requests each get their status
#   and error id and leave Redis unchanged (DEBUG DIGEST before and after);
# - bearer tokens and signed requests (HMAC, once only) are accepted;
# - every JSON response is valid against docs/api/openapi.yaml, itself
#   checked by @seriousme/openapi-schema-validator (tools/openapi);
# - the rate limit answers 429; serve stops on SIGTERM without a sanitizer report.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
qr_netns_reexec "$@"
qr_init serve

command -v curl >/dev/null || qr_die "curl is required (scripts/setup.sh installs it)"
command -v node >/dev/null || qr_die "node is required (scripts/setup.sh installs it)"
openapi="$(qr_npm_dir tools/openapi @seriousme/openapi-schema-validator/package.json)" || exit 1

t="$QR_TMP"
PIDS=()
stop_all() {
    local p
    for p in "${PIDS[@]+"${PIDS[@]}"}"; do
        kill -KILL "$p" 2>/dev/null || true
    done
    qr_cleanup
}
trap stop_all EXIT

qr_redis_start --enable-debug-command yes
RPORT="$QR_REDIS_PORT"
PIDS+=("$QR_REDIS_PID")
rc() { qr_redis "$@"; }
digest() { rc DEBUG DIGEST; }

# Books, and an HTTP server for URL sources: /slow/NAME waits for $t/release.
mkdir -p "$t/www"
qr_run "$t/s1" sample-book "$t/www/good.epub" --chapters 2 --images 1 --size 400x300
[[ "$(qr_rc "$t/s1")" == 0 ]] || qr_die "sample-book failed: $(cat "$t/s1.err")"
printf 'PK\003\004 this is not a book' >"$t/www/broken.epub"
qr_run "$t/keys" keys generate -o "$t/keys.json"
HPORT="$(qr_free_port)"
cat >"$t/www.py" <<'EOF'
import http.server, os, sys, time
root, release = sys.argv[2], sys.argv[3]
class H(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *a, **k):
        super().__init__(*a, directory=root, **k)
    def do_GET(self):
        if self.path.startswith("/slow/"):
            end = time.time() + 300
            while not os.path.exists(release) and time.time() < end:
                time.sleep(0.05)
            self.path = self.path[len("/slow"):]
        return super().do_GET()
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOF
python3 "$t/www.py" "$HPORT" "$t/www" "$t/release" >"$t/www.log" 2>&1 &
PIDS+=($!)
www_up() { curl -s -o /dev/null "http://127.0.0.1:$HPORT/good.epub"; }
qr_wait_for 10 www_up || qr_die "the HTTP server did not start: $(cat "$t/www.log")"

TOKEN="tok-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
SECRET="sec-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '# bearer tokens\n%s\n\nsecond-token-0123456789\n' "$TOKEN" >"$t/tokens"
printf '%s\n' "$SECRET" >"$t/hmac"
chmod 600 "$t/tokens" "$t/hmac"

export REDIS_URL="redis://127.0.0.1:$RPORT/0"
export QUIRE_NET_ALLOW=127.0.0.1/32 QUIRE_NET_ALLOW_HTTP=1
SPORT="$(qr_free_port)"
BASE="http://127.0.0.1:$SPORT"
"$QUIRE_BIN" serve --listen "127.0.0.1:$SPORT" --store "$t/store" --tokens-file "$t/tokens" \
    --hmac-secret-file "$t/hmac" --max-upload 1 --rate 100000 --spool-dir "$t" \
    >"$t/serve.out" 2>"$t/serve.err" </dev/null &
SERVE_PID=$!
PIDS+=("$SERVE_PID")
serve_up() { curl -s -o /dev/null "$BASE/healthz"; }
qr_wait_for 30 serve_up || qr_die "quire serve did not start: $(cat "$t/serve.err")"

AUTH=(-H "Authorization: Bearer $TOKEN")
JSON=(-H "Content-Type: application/json")
: >"$t/responses.jsonl"
# req METHOD TEMPLATE PATH CURL_ARGS...: $ST is the status, $t/last.json the body; a JSON
# body is recorded for the OpenAPI check under TEMPLATE, the document's path ("-": none).
req() {
    local m="$1" tpl="$2" p="$3"
    shift 3
    ST="$(curl -s -o "$t/last.json" -w '%{http_code}' --max-time 60 --path-as-is -X "$m" "$@" "$BASE$p" || echo 000)"
    [[ "$tpl" != - ]] || return 0 # a route the document does not have
    python3 - "$t/last.json" "$tpl" "$m" "$ST" >>"$t/responses.jsonl" <<'EOF'
import json, sys
try:
    body = json.load(open(sys.argv[1]))
except Exception:
    sys.exit(0)
print(json.dumps({"path": sys.argv[2], "method": sys.argv[3].lower(), "status": int(sys.argv[4]), "body": body}))
EOF
}
# jget FIELD: a field of the last body (dots for nesting), "" when absent.
jget() {
    python3 -c '
import json, sys
try:
    v = json.load(open(sys.argv[1]))
    for k in sys.argv[2].split("."):
        v = v[k]
    print("" if v is None else (json.dumps(v) if isinstance(v, (dict, list, bool)) else v))
except Exception:
    print("")' "$t/last.json" "$1"
}
# sign METHOD TARGET BODYFILE [T]: the X-Quire-Signature of a request.
sign() {
    python3 -c '
import hashlib, hmac, sys, time
m, target, body, t = sys.argv[1], sys.argv[2], open(sys.argv[3], "rb").read(), sys.argv[5] or str(int(time.time()))
msg = t.encode() + b"." + m.encode() + b" " + target.encode() + b"\n" + body
print("t=%s,v1=%s" % (t, hmac.new(sys.argv[4].encode(), msg, hashlib.sha256).hexdigest()))' \
        "$1" "$2" "$3" "$SECRET" "${4:-}"
}
llen() { rc LLEN resque:queue:books; }

# ---- submissions ----------------------------------------------------------------
printf '{"book_id":"url-1","source":"http://127.0.0.1:%s/slow/good.epub","revision":"r1"}' "$HPORT" >"$t/url1.json"
req POST /v1/books /v1/books "${AUTH[@]}" "${JSON[@]}" --data-binary @"$t/url1.json"
JOB_URL="$(jget job_id)"
qr_case "POST by URL: 202 with a job id and its status URL" \
    "$([[ "$ST" == 202 ]] || echo "status $ST: $(cat "$t/last.json")")" \
    "$([[ "$JOB_URL" =~ ^[0-9a-f]{32}$ ]] || echo "job_id '$JOB_URL'")" \
    "$([[ "$(jget status_url)" == "/v1/jobs/$JOB_URL" ]] || echo "status_url $(jget status_url)")"

req POST /v1/books "/v1/books?book_id=up-1&profile=phone" "${AUTH[@]}" \
    -H "Content-Type: application/epub+zip" --data-binary @"$t/www/good.epub"
JOB_UP="$(jget job_id)"
upload="$(find "$t/store/uploads/up-1" -name '*.epub' 2>/dev/null | head -n 1)"
qr_case "POST streamed EPUB: 202, the book in the store's uploads/ folder, byte for byte" \
    "$([[ "$ST" == 202 ]] || echo "status $ST: $(cat "$t/last.json")")" \
    "$([[ -n "$upload" ]] && cmp -s "$upload" "$t/www/good.epub" || echo "upload not in $t/store/uploads/up-1")" \
    "$(rc LINDEX resque:queue:books -1 | grep -qF "\"source\":\"$upload\"" || echo "payload does not name $upload")" \
    "$(find "$t" -maxdepth 1 -name 'quire-upload.*' | head -n 1 | sed 's/^/spool file left: /')"

req POST /v1/books "/v1/books?book_id=bad-1" "${AUTH[@]}" \
    -H "Content-Type: application/epub+zip" -H "Transfer-Encoding: chunked" --data-binary @"$t/www/broken.epub"
JOB_BAD="$(jget job_id)"
qr_case "POST a broken EPUB, chunked: 202" "$([[ "$ST" == 202 ]] || echo "status $ST: $(cat "$t/last.json")")"

# Byte for byte what `quire enqueue` pushes for the same book, but for the value of the
# enqueue time both stamp ("timestamp": Unix seconds), which each must carry.
stamp_masked() { sed 's/,"timestamp":[0-9][0-9.]*}$/,"timestamp":T}/'; }
serve_payload="$(rc LINDEX resque:queue:books 0 | stamp_masked)"
qr_run "$t/enq" enqueue "http://127.0.0.1:$HPORT/slow/good.epub" --book-id url-1 --revision r1 \
    --job-id "$JOB_URL" --namespace twin
qr_case "serve pushes byte for byte what quire enqueue --job-id pushes" \
    "$([[ "$(qr_rc "$t/enq")" == 0 ]] || echo "enqueue failed: $(cat "$t/enq.err")")" \
    "$([[ "$serve_payload" == *',"timestamp":T}' ]] || echo "serve's payload has no timestamp: $serve_payload")" \
    "$([[ "$(rc LINDEX twin:queue:books 0 | stamp_masked)" == "$serve_payload" ]] || echo "serve: $serve_payload / enqueue: $(rc LINDEX twin:queue:books 0)")" \
    "$([[ "$(rc SISMEMBER resque:queues books)" == 1 ]] || echo "books not in resque:queues")"
rc DEL twin:queue:books twin:queues >/dev/null

# Idempotency: the key, then the same book and source without one.
n0="$(llen)"
printf '{"book_id":"idem-1","source":"s3://bucket/idem-1.epub"}' >"$t/idem.json"
req POST /v1/books /v1/books "${AUTH[@]}" "${JSON[@]}" -H "Idempotency-Key: order-77" --data-binary @"$t/idem.json"
first="$(jget job_id)"
s1="$ST"
printf '{"book_id":"idem-2","source":"s3://bucket/other.epub"}' >"$t/idem2.json"
req POST /v1/books /v1/books "${AUTH[@]}" "${JSON[@]}" -H "Idempotency-Key: order-77" --data-binary @"$t/idem2.json"
again="$(jget job_id)"
s2="$ST"
dup="$(jget duplicate)"
req POST /v1/books /v1/books "${AUTH[@]}" "${JSON[@]}" --data-binary @"$t/url1.json"
same_book="$(jget job_id)"
qr_case "Idempotency-Key and the same book+source each give the first job" \
    "$([[ "$s1" == 202 && "$s2" == 200 && "$dup" == true ]] || echo "statuses $s1 $s2, duplicate=$dup")" \
    "$([[ -n "$first" && "$first" == "$again" ]] || echo "jobs $first and $again")" \
    "$([[ "$same_book" == "$JOB_URL" ]] || echo "same book and source: $same_book, first was $JOB_URL")" \
    "$([[ "$(llen)" == $((n0 + 1)) ]] || echo "queue grew from $n0 to $(llen)")"

# GET while queued; DELETE the idempotency job (queued), twice.
req GET "/v1/jobs/{job_id}" "/v1/jobs/$JOB_URL" "${AUTH[@]}"
qr_case "GET /v1/jobs/{id} of a waiting job: queued" \
    "$([[ "$ST" == 200 && "$(jget status)" == queued && "$(jget book_id)" == url-1 ]] || echo "status $ST: $(cat "$t/last.json")")"
n1="$(llen)"
req DELETE "/v1/jobs/{job_id}" "/v1/jobs/$first" "${AUTH[@]}"
d1="$ST/$(jget status)"
req DELETE "/v1/jobs/{job_id}" "/v1/jobs/$first" "${AUTH[@]}"
d2="$ST/$(jget error.id)"
req GET "/v1/jobs/{job_id}" "/v1/jobs/$first" "${AUTH[@]}"
qr_case "DELETE removes a queued job (LREM of its payload), then 409" \
    "$([[ "$d1" == 200/deleted ]] || echo "first DELETE: $d1")" \
    "$([[ "$d2" == 409/invalid-argument ]] || echo "second DELETE: $d2")" \
    "$([[ "$(llen)" == $((n1 - 1)) ]] || echo "queue $n1 -> $(llen)")" \
    "$([[ "$(jget status)" == deleted ]] || echo "GET after: $(cat "$t/last.json")")"

# Signed requests: accepted once, refused when replayed.
printf '{"book_id":"signed-1","source":"s3://bucket/signed-1.epub"}' >"$t/signed.json"
sig="$(sign POST /v1/books "$t/signed.json")"
req POST /v1/books /v1/books "${JSON[@]}" -H "X-Quire-Signature: $sig" --data-binary @"$t/signed.json"
signed_job="$(jget job_id)"
s1="$ST"
before="$(digest)"
req POST /v1/books /v1/books "${JSON[@]}" -H "X-Quire-Signature: $sig" --data-binary @"$t/signed.json"
qr_case "a signed request is accepted once; its replay is 403 access-denied, Redis unchanged" \
    "$([[ "$s1" == 202 && -n "$signed_job" ]] || echo "signed: $s1")" \
    "$([[ "$ST/$(jget error.id)" == 403/access-denied ]] || echo "replay: $ST $(cat "$t/last.json")")" \
    "$([[ "$(digest)" == "$before" ]] || echo "Redis changed")"
req DELETE "/v1/jobs/{job_id}" "/v1/jobs/$signed_job" "${AUTH[@]}"
: >"$t/empty"
sig="$(sign GET "/v1/jobs/$JOB_URL" "$t/empty")"
req GET "/v1/jobs/{job_id}" "/v1/jobs/$JOB_URL" -H "X-Quire-Signature: $sig"
qr_case "a signed GET (empty body) is accepted" "$([[ "$ST" == 200 ]] || echo "status $ST: $(cat "$t/last.json")")"
req GET "/v1/books/{book_id}" /v1/books/url-1 -H "Authorization: Bearer second-token-0123456789"
qr_case "the second token of the file is accepted" "$([[ "$ST" == 200 ]] || echo "status $ST")"

# ---- malformed requests: status, error id, Redis unchanged ---------------------------
ROWS=0
# bad NAME STATUS ID METHOD TEMPLATE PATH CURL_ARGS...
bad() {
    local name="$1" want_st="$2" want_id="$3"
    shift 3
    local before after
    ROWS=$((ROWS + 1))
    before="$(digest)"
    req "$@"
    after="$(digest)"
    qr_case "bad request: $name -> $want_st $want_id" \
        "$([[ "$ST" == "$want_st" ]] || echo "status $ST: $(head -c 300 "$t/last.json")")" \
        "$([[ "$(jget error.id)" == "$want_id" ]] || echo "error id '$(jget error.id)'")" \
        "$([[ "$before" == "$after" ]] || echo "Redis changed")" \
        "$(kill -0 "$SERVE_PID" 2>/dev/null || echo "quire serve died")"
}
P=(POST /v1/books /v1/books)
body() { printf '%s' "$1" >"$t/body.json"; }
bad "no credentials" 401 credentials-missing "${P[@]}" "${JSON[@]}" --data-binary @"$t/url1.json"
bad "wrong bearer token" 401 access-denied "${P[@]}" -H "Authorization: Bearer not-the-token-at-all" "${JSON[@]}" --data-binary @"$t/url1.json"
bad "Basic credentials" 401 access-denied "${P[@]}" -H "Authorization: Basic dXNlcjpwYXNz" "${JSON[@]}" --data-binary @"$t/url1.json"
bad "malformed signature header" 401 access-denied "${P[@]}" -H "X-Quire-Signature: v1=abc" "${JSON[@]}" --data-binary @"$t/url1.json"
sig="$(sign POST /v1/books "$t/idem.json")"
bad "signature over another body" 401 access-denied "${P[@]}" -H "X-Quire-Signature: $sig" "${JSON[@]}" --data-binary @"$t/url1.json"
sig="$(sign POST /v1/books "$t/url1.json" "$(($(date +%s) - 3600))")"
bad "signature an hour old" 403 access-denied "${P[@]}" -H "X-Quire-Signature: $sig" "${JSON[@]}" --data-binary @"$t/url1.json"
sig="$(sign GET /v1/books/url-1 "$t/empty")"
bad "signature for another route" 401 access-denied GET "/v1/jobs/{job_id}" "/v1/jobs/$JOB_URL" -H "X-Quire-Signature: $sig"
body '{"book_id":"x1","source":'
bad "truncated JSON" 400 invalid-argument "${P[@]}" "${AUTH[@]}" "${JSON[@]}" --data-binary @"$t/body.json"
body '["x1","s3://b/k.epub"]'
bad "JSON array, not an object" 400 invalid-argument "${P[@]}" "${AUTH[@]}" "${JSON[@]}" --data-binary @"$t/body.json"
body '{"book_id":"x1","source":"s3://b/k.epub","priority":9}'
bad "unknown field" 400 invalid-argument "${P[@]}" "${AUTH[@]}" "${JSON[@]}" --data-binary @"$t/body.json"
body '{"book_id":true,"source":"s3://b/k.epub"}'
bad "book_id of the wrong type" 400 invalid-argument "${P[@]}" "${AUTH[@]}" "${JSON[@]}" --data-binary @"$t/body.json"
body '{"book_id":"x1","source":"s3://b/k.epub","revision":{"n":1}}'
bad "revision of the wrong type" 400 invalid-argument "${P[@]}" "${AUTH[@]}" "${JSON[@]}" --data-binary @"$t/body.json"
body '{"book_id":"x1","book_id":"x2","source":"s3://b/k.epub"}'
bad "duplicate key" 400 invalid-argument "${P[@]}" "${AUTH[@]}" "${JSON[@]}" --data-binary @"$t/body.json"
body '{"book_id":"x1"}'
bad "no source" 400 invalid-argument "${P[@]}" "${AUTH[@]}" "${JSON[@]}" --data-binary @"$t/body.json"
body '{"book_id":"../../etc","source":"s3://b/k.epub"}'
bad "traversal in book_id" 400 invalid-argument "${P[@]}" "${AUTH[@]}" "${JSON[@]}" --data-binary @"$t/body.json"
body '{"book_id":"a/b","source":"s3://b/k.epub"}'
bad "slash in book_id" 400 invalid-argument "${P[@]}" "${AUTH[@]}" "${JSON[@]}" --data-binary @"$t/body.json"
body '{"book_id":"x1","source":"http://169.254.169.254/latest/meta-data/"}'
bad "SSRF source: instance metadata" 403 source-forbidden "${P[@]}" "${AUTH[@]}" "${JSON[@]}" --data-binary @"$t/body.json"
body '{"book_id":"x1","source":"https://10.1.2.3/book.epub"}'
bad "SSRF source: private address" 403 source-forbidden "${P[@]}" "${AUTH[@]}" "${JSON[@]}" --data-binary @"$t/body.json"
body '{"book_id":"x1","source":"https://[::ffff:10.0.0.1]/book.epub"}'
bad "SSRF source: IPv4-mapped private address" 403 source-forbidden "${P[@]}" "${AUTH[@]}" "${JSON[@]}" --data-binary @"$t/body.json"
body '{"book_id":"x1","source":"https://user:pw@127.0.0.1/book.epub"}'
bad "userinfo in source" 403 source-forbidden "${P[@]}" "${AUTH[@]}" "${JSON[@]}" --data-binary @"$t/body.json"
body '{"book_id":"x1","source":"file:///etc/passwd"}'
bad "file:// source" 403 source-forbidden "${P[@]}" "${AUTH[@]}" "${JSON[@]}" --data-binary @"$t/body.json"
body '{"book_id":"x1","source":"/etc/passwd"}'
bad "local path as source" 400 invalid-argument "${P[@]}" "${AUTH[@]}" "${JSON[@]}" --data-binary @"$t/body.json"
body '{"book_id":"x1","source":"s3://b/k.epub","profile":"balanced"}'
bad "unknown profile" 400 invalid-argument "${P[@]}" "${AUTH[@]}" "${JSON[@]}" --data-binary @"$t/body.json"
body '{"book_id":"x1","source":"s3://b/k.epub","callback_url":"ftp://example/x"}'
bad "callback_url not https" 400 invalid-argument "${P[@]}" "${AUTH[@]}" "${JSON[@]}" --data-binary @"$t/body.json"
python3 -c 'import sys; sys.stdout.write("{\"book_id\":\"x1\",\"source\":\"s3://b/k.epub\",\"profile\":\"" + "a" * 200000 + "\"}")' >"$t/huge.json"
bad "huge JSON body" 413 input-too-large "${P[@]}" "${AUTH[@]}" "${JSON[@]}" --data-binary @"$t/huge.json"
bad "huge JSON body, chunked" 413 input-too-large "${P[@]}" "${AUTH[@]}" "${JSON[@]}" -H "Transfer-Encoding: chunked" --data-binary @"$t/huge.json"
bad "wrong content type" 415 unsupported-format "${P[@]}" "${AUTH[@]}" -H "Content-Type: text/plain" --data-binary @"$t/url1.json"
bad "upload that is not an EPUB" 415 unsupported-format POST /v1/books "/v1/books?book_id=x1" "${AUTH[@]}" -H "Content-Type: application/epub+zip" --data-binary @"$t/url1.json"
bad "upload without book_id" 400 invalid-argument POST /v1/books "/v1/books" "${AUTH[@]}" -H "Content-Type: application/epub+zip" --data-binary @"$t/www/good.epub"
bad "upload with an unknown query parameter" 400 invalid-argument POST /v1/books "/v1/books?book_id=x1&queue=urgent" "${AUTH[@]}" -H "Content-Type: application/epub+zip" --data-binary @"$t/www/good.epub"
{ printf 'PK\003\004'; head -c 2000000 /dev/zero; } >"$t/big.epub"
bad "upload over --max-upload" 413 input-too-large POST /v1/books "/v1/books?book_id=x1" "${AUTH[@]}" -H "Content-Type: application/epub+zip" --data-binary @"$t/big.epub"
bad "upload over --max-upload, chunked" 413 input-too-large POST /v1/books "/v1/books?book_id=x1" "${AUTH[@]}" -H "Content-Type: application/epub+zip" -H "Transfer-Encoding: chunked" --data-binary @"$t/big.epub"
bad "headers over the limit" 431 input-too-large GET "/v1/books/{book_id}" /v1/books/url-1 "${AUTH[@]}" -H "X-Padding: $(head -c 12000 /dev/zero | tr '\0' a)"
bad "Idempotency-Key too long" 400 invalid-argument "${P[@]}" "${AUTH[@]}" "${JSON[@]}" -H "Idempotency-Key: $(head -c 300 /dev/zero | tr '\0' k)" --data-binary @"$t/url1.json"
bad "job id with traversal" 400 invalid-argument GET "/v1/jobs/{job_id}" "/v1/jobs/..%2F..%2Fetc" "${AUTH[@]}"
bad "unknown job" 404 source-not-found GET "/v1/jobs/{job_id}" /v1/jobs/0123456789abcdef "${AUTH[@]}"
bad "DELETE of an unknown job" 404 source-not-found DELETE "/v1/jobs/{job_id}" /v1/jobs/0123456789abcdef "${AUTH[@]}"
bad "unknown book" 404 source-not-found GET "/v1/books/{book_id}" /v1/books/nobody "${AUTH[@]}"
bad "PUT on /v1/books" 405 invalid-argument PUT - /v1/books "${AUTH[@]}" "${JSON[@]}" --data-binary @"$t/url1.json"
bad "unknown route" 404 source-not-found GET - /v2/books "${AUTH[@]}"
qr_case "the malformed-request table has at least 25 rows" "$( ((ROWS >= 25)) || echo "$ROWS rows")"

# ---- the worker: queued -> running -> published, and a failure ------------------------
export QUIRE_KEY_FILE="$t/keys.json" QUIRE_STORE="$t/store" QUIRE_INTERVAL=0.2
"$QUIRE_BIN" worker --queues books --threads 1 --admin off --max-attempts 1 \
    --source-dir "$t/store/uploads" >"$t/worker.out" 2>"$t/worker.err" </dev/null &
WPID=$!
PIDS+=("$WPID")
# status_of JOB: the job's status, without recording (polled: no python per poll).
status_of() {
    curl -s --max-time 30 "${AUTH[@]}" "$BASE/v1/jobs/$1" | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p'
}
running() { [[ "$(status_of "$JOB_URL")" == running ]]; }
seen_running=no
if qr_wait_for 120 running; then
    seen_running=yes
    req GET "/v1/jobs/{job_id}" "/v1/jobs/$JOB_URL" "${AUTH[@]}"
    stage_while="$(jget stage)"
    up_while="$(status_of "$JOB_UP")"
fi
touch "$t/release"
terminal() {
    local s
    s="$(status_of "$1")"
    [[ "$s" == published || "$s" == failed ]]
}
for j in "$JOB_URL" "$JOB_UP" "$JOB_BAD"; do
    qr_wait_for 300 terminal "$j" || true
done
# Each job's final answer, recorded for the OpenAPI check (the polls above are not).
for j in "$JOB_URL" "$JOB_UP" "$JOB_BAD"; do
    req GET "/v1/jobs/{job_id}" "/v1/jobs/$j" "${AUTH[@]}"
done
req GET "/v1/books/{book_id}" /v1/books/url-1 "${AUTH[@]}"
url_status="$(jget status)"
url_manifest="$(jget manifest_url)"
url_rev="$(jget revision)"
qr_case "by URL: queued, then running (the source held), then published with its manifest URL" \
    "$([[ "$seen_running" == yes ]] || echo "never running: $(cat "$t/last.json")")" \
    "$([[ "${up_while:-}" == queued ]] || echo "the upload behind it was '${up_while:-}', not queued")" \
    "$([[ -n "${stage_while:-}" ]] || echo "no stage while running")" \
    "$([[ "$url_status" == published ]] || echo "final: $(cat "$t/last.json"); worker: $(tail -n 3 "$t/worker.err")")" \
    "$([[ "$url_rev" == r1 ]] || echo "revision '$url_rev'")" \
    "$([[ "$url_manifest" == "$t/store/books/url-1/r1/manifest.json" && -f "$url_manifest" ]] || echo "manifest_url '$url_manifest'")"
req GET "/v1/books/{book_id}" /v1/books/up-1 "${AUTH[@]}"
up_manifest="$(jget manifest_url)"
qr_case "streamed upload: published, its manifest in the store" \
    "$([[ "$(jget status)" == published && -n "$up_manifest" && -f "$up_manifest" ]] || cat "$t/last.json")"
req GET "/v1/books/{book_id}" /v1/books/bad-1 "${AUTH[@]}"
bad_id="$(jget error.id)"
qr_case "broken upload: failed with its error id and attempt 1" \
    "$([[ "$(jget status)" == failed ]] || cat "$t/last.json")" \
    "$([[ "$bad_id" == corrupt-archive || "$bad_id" == unsupported-format || "$bad_id" == container-missing ]] || echo "error id '$bad_id'")" \
    "$([[ "$(jget attempt)" == 1 ]] || echo "attempt '$(jget attempt)'")"
kill -TERM "$WPID" 2>/dev/null || true
wait "$WPID" 2>/dev/null || true

# ---- the rate limit ----------------------------------------------------------------------
RLPORT="$(qr_free_port)"
"$QUIRE_BIN" serve --listen "127.0.0.1:$RLPORT" --tokens-file "$t/tokens" --rate 1 \
    >"$t/rl.out" 2>"$t/rl.err" </dev/null &
RLPID=$!
PIDS+=("$RLPID")
rl_up() { curl -s -o /dev/null "http://127.0.0.1:$RLPORT/healthz"; }
qr_wait_for 30 rl_up || qr_die "the second quire serve did not start: $(cat "$t/rl.err")"
# One curl for the 20 (a URL range, one kept-alive connection): 20 curl processes could
# start slower than the bucket refills on a loaded machine.
codes="$(curl -s -o "$t/rl-#1.json" -w '%{http_code} ' "${AUTH[@]}" "http://127.0.0.1:$RLPORT/v1/books/none[1-20]")"
qr_case "--rate 1: a burst of 20 requests gets 429 with a JSON error" \
    "$([[ "$codes" == *429* ]] || echo "codes: $codes")" \
    "$(grep -q '"id":"access-denied"' "$t/rl-20.json" || echo "last body: $(cat "$t/rl-20.json")")"
kill -TERM "$RLPID"
wait "$RLPID" || true

# ---- the OpenAPI document and the responses ---------------------------------------------
qr_case "docs/api/openapi.yaml is valid OpenAPI 3.1 and every response matches its schema" \
    "$(node "$openapi/check.mjs" "$QR_SRCDIR/docs/api/openapi.yaml" "$t/responses.jsonl" >"$t/openapi.log" 2>&1 || cat "$t/openapi.log")" \
    "$( (($(wc -l <"$t/responses.jsonl") >= 60)) || echo "only $(wc -l <"$t/responses.jsonl") responses recorded")"

# ---- stop ----------------------------------------------------------------------------------
kill -TERM "$SERVE_PID"
src=0
wait "$SERVE_PID" || src=$?
qr_case "quire serve stops on SIGTERM, exit 0, no sanitizer report" \
    "$([[ "$src" == 0 ]] || echo "exit $src")" \
    "$(grep -E 'Sanitizer|runtime error' "$t/serve.err" "$t/rl.err" | head -n 5)"
qr_summary
