#!/usr/bin/env bash
# The dashboard of quire serve (--ui) in a real browser: Debian's headless
# chromium driven by puppeteer-core (tests/ui/ui.mjs) against a live worker
# and Redis, in a loopback-only network namespace. Pages render (overview,
# a book, history charts), a hostile book id from Redis shows as text and
# injects nothing, Retry without the CSRF token is refused, a phone width
# has no horizontal overflow, and clicking Retry puts the failed job back in
# its queue. On a non-loopback address the dashboard needs a token.
# QR_UI_SCREENSHOTS=DIR keeps the screenshots (docs/operations/serve.md uses them).
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
qr_netns_reexec "$@"
qr_init serve-ui

command -v curl >/dev/null || qr_die "curl is required (scripts/setup.sh installs it)"
command -v node >/dev/null || qr_die "node is required (scripts/setup.sh installs it)"
command -v chromium >/dev/null || qr_die "chromium is required (scripts/setup.sh installs it)"
ui="$(qr_npm_dir tests/ui puppeteer-core/package.json)" || exit 1

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

# shellcheck disable=SC2119 # no extra redis-server options
qr_redis_start
RPORT="$QR_REDIS_PORT"
PIDS+=("$QR_REDIS_PID")
rc() { qr_redis "$@"; }

qr_run "$t/s1" sample-book "$t/good.epub" --chapters 2 --images 1 --size 400x300
[[ "$(qr_rc "$t/s1")" == 0 ]] || qr_die "sample-book failed: $(cat "$t/s1.err")"
printf 'PK\003\004 this is not a book' >"$t/broken.epub"
qr_run "$t/keys" keys generate -o "$t/keys.json"
TOKEN="tok-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '%s\n' "$TOKEN" >"$t/tokens"
chmod 600 "$t/tokens"

export REDIS_URL="redis://127.0.0.1:$RPORT/0"
SPORT="$(qr_free_port)"
BASE="http://127.0.0.1:$SPORT"
"$QUIRE_BIN" serve --listen "127.0.0.1:$SPORT" --store "$t/store" --tokens-file "$t/tokens" --ui \
    >"$t/serve.out" 2>"$t/serve.err" </dev/null &
SERVE_PID=$!
PIDS+=("$SERVE_PID")
serve_up() { curl -s -o /dev/null "$BASE/healthz"; }
qr_wait_for 30 serve_up || qr_die "quire serve did not start: $(cat "$t/serve.err")"

# One good book through serve; one job a Ruby producer pushed, with a hostile book id.
code="$(curl -s -o "$t/post.json" -w '%{http_code}' -X POST "$BASE/v1/books?book_id=good-1" \
    -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/epub+zip" --data-binary @"$t/good.epub")"
[[ "$code" == 202 ]] || qr_die "POST failed: $code $(cat "$t/post.json")"
HOSTILE='<img src=x onerror=alert(1)>"'"'"'&<script>alert(2)</script>'
python3 -c 'import json, sys; print(json.dumps({"class": "Quire::ProcessBook", "args": [{"book_id": sys.argv[1], "source": sys.argv[2]}]}, separators=(",", ":")))' \
    "$HOSTILE" "$t/broken.epub" >"$t/hostile.json"
rc SADD resque:queues books >/dev/null
rc RPUSH resque:queue:books "$(cat "$t/hostile.json")" >/dev/null

export QUIRE_KEY_FILE="$t/keys.json" QUIRE_STORE="$t/store" QUIRE_INTERVAL=0.2
"$QUIRE_BIN" worker --queues books --threads 1 --admin off --max-attempts 1 \
    >"$t/worker.out" 2>"$t/worker.err" </dev/null &
WPID=$!
PIDS+=("$WPID")
two_done() { (($(rc XLEN resque:quire:history) >= 2)); }
qr_wait_for 300 two_done || qr_die "the worker did not finish both jobs: $(tail -n 5 "$t/worker.err")"
qr_case "the worker published the good book and failed the hostile one" \
    "$([[ "$(rc LLEN resque:failed)" == 1 ]] || echo "$(rc LLEN resque:failed) failure entries")"
# The worker stays registered but takes no job, so the retried one stays in its queue.
rc SET resque:pause-all-workers true >/dev/null

mkdir -p "$t/shots"
node "$ui/ui.mjs" "$BASE" "$t/shots" good-1 "$HOSTILE" >"$t/ui.log" 2>&1 || true
cat "$t/ui.log"
fails="$(grep -v '^ok ' "$t/ui.log" || true)"
qr_case "chromium: every page and check ($(grep -c '^ok ' "$t/ui.log") passed)" "$fails" \
    "$( (($(grep -c "^ok " "$t/ui.log") >= 14)) || echo "only $(grep -c '^ok ' "$t/ui.log") checks passed")"
entry="$(rc LINDEX resque:failed 0)"
qr_case "Retry put the failed job back in its queue (and marked the entry retried)" \
    "$([[ "$(rc LLEN resque:queue:books)" == 1 ]] || echo "queue length $(rc LLEN resque:queue:books)")" \
    "$(rc LINDEX resque:queue:books 0 | grep -qF '"book_id":"<img src=x' || echo "queue holds: $(rc LINDEX resque:queue:books 0)")" \
    "$(grep -q '"retried_at"' <<<"$entry" || echo "entry not retried: $entry")"
qr_case "screenshots saved" \
    "$(for f in serve-ui-overview-desktop serve-ui-overview-phone serve-ui-history-desktop; do [[ -s "$t/shots/$f.png" ]] || echo "$f.png missing"; done)"
if [[ -n "${QR_UI_SCREENSHOTS:-}" ]]; then
    cp "$t/shots/"*.png "$QR_UI_SCREENSHOTS/"
fi

# Beyond loopback the dashboard needs a token.
APORT="$(qr_free_port)"
"$QUIRE_BIN" serve --listen "0.0.0.0:$APORT" --tokens-file "$t/tokens" --ui \
    >"$t/s2.out" 2>"$t/s2.err" </dev/null &
S2=$!
PIDS+=("$S2")
s2_up() { curl -s -o /dev/null "http://127.0.0.1:$APORT/healthz"; }
qr_wait_for 30 s2_up || qr_die "the second quire serve did not start: $(cat "$t/s2.err")"
c1="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$APORT/ui")"
c2="$(curl -s -o /dev/null -w '%{http_code}' -u "ops:wrong-token-000000" "http://127.0.0.1:$APORT/ui")"
c3="$(curl -s -o /dev/null -w '%{http_code}' -u "ops:$TOKEN" "http://127.0.0.1:$APORT/ui")"
c4="$(curl -s -o /dev/null -w '%{http_code}' "$BASE/ui")"
qr_case "on 0.0.0.0 the dashboard needs a token (401, 401, then 200); on 127.0.0.1 it is open" \
    "$([[ "$c1 $c2 $c3 $c4" == "401 401 200 200" ]] || echo "got $c1 $c2 $c3 $c4")"
kill -TERM "$S2" "$WPID"
wait "$S2" "$WPID" || true

kill -TERM "$SERVE_PID"
src=0
wait "$SERVE_PID" || src=$?
qr_case "quire serve stops on SIGTERM, exit 0, no sanitizer report" \
    "$([[ "$src" == 0 ]] || echo "exit $src")" \
    "$(grep -E 'Sanitizer|runtime error' "$t/serve.err" "$t/s2.err" | head -n 5)"
qr_summary
