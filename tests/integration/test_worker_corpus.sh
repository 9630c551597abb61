#!/usr/bin/env bash
# End to end through the queue: every corpus EPUB is enqueued with
# `quire enqueue` (what Resque.enqueue pushes), one `quire worker` takes them
# from a private redis-server on loopback, and at the end (bounded waits):
# every book quire must accept has a published package that `quire verify`
# passes, every book quire must refuse is one failure entry whose exception is
# the expected error id, stat:processed (every job, as in Resque) and
# stat:failed (the refused ones) add up, and the queue
# and processing lists are empty. Skipped without the corpus or redis-server.
# shellcheck disable=SC2317 # functions called through qr_wait_for and the EXIT trap
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
qr_init worker-corpus
qr_corpus
command -v redis-server >/dev/null || qr_skip "redis-server not installed"
command -v redis-cli >/dev/null || qr_skip "redis-cli not installed"

t="$QR_TMP"
REDIS_PID=""
WPID=""
stop_all() {
    [[ -z "$WPID" ]] || kill -KILL "$WPID" 2>/dev/null || true
    [[ -z "$REDIS_PID" ]] || kill -KILL "$REDIS_PID" 2>/dev/null || true
    qr_cleanup
}
trap stop_all EXIT

PORT="$(qr_free_port)"
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$t" \
    >>"$t/redis.log" 2>&1 &
REDIS_PID=$!
rc() { redis-cli -p "$PORT" --raw "$@"; }
redis_up() { [[ "$(rc PING 2>/dev/null)" == PONG ]]; }
qr_wait_for 10 redis_up || qr_die "redis-server did not start: $(cat "$t/redis.log")"
export REDIS_URL="redis://127.0.0.1:$PORT/0"

qr_run "$t/keys" keys generate -o "$t/keys.json"
[[ "$(qr_rc "$t/keys")" == 0 ]] || qr_die "keys generate failed: $(cat "$t/keys.err")"

# Enqueue every corpus EPUB; remember what each must end as.
declare -A want
n=0
while IFS=$'\t' read -r file status; do
    n=$((n + 1))
    id="b$n"
    want[$id]="$(qr_expected "$file" "$status")"$'\t'"$file"
    qr_run "$t/enq$n" enqueue "$QR_CORPUS/$file" --book-id "$id" --queue corpus
    [[ "$(qr_rc "$t/enq$n")" == 0 ]] || qr_die "enqueue $file failed: $(cat "$t/enq$n.err")"
done < <(qr_manifest_epubs)
((n > 0)) || qr_die "no corpus EPUBs found"

"$QUIRE_BIN" worker --queues corpus --store "$t/store" --key-file "$t/keys.json" \
    --source-dir "$QR_CORPUS" --interval 0.2 --admin off \
    >"$t/worker.out" 2>"$t/worker.err" </dev/null &
WPID=$!

count() { local v; v="$(rc GET "resque:stat:$1")"; echo "${v:-0}"; }
# As in Resque, stat:processed counts every job run, failed ones included.
finished() { (($(count processed) >= n)); }
qr_wait_for 900 finished || qr_die "only $(count processed) of $n processed after 900 s: $(tail -n 5 "$t/worker.err")"
kill -TERM "$WPID"
wait "$WPID" || qr_die "worker exit status $? on TERM"
WPID=""

# Failure entries by book id: exception (the error id).
rc LRANGE resque:failed 0 -1 >"$t/failed.jsonl"
declare -A failure
while IFS=$'\t' read -r fid exc; do
    failure[$fid]="$exc"
done < <(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    line = line.strip()
    if not line:
        continue
    e = json.loads(line)
    args = e["payload"]["args"][0]
    print("%s\t%s" % (args.get("book_id", "?"), e.get("exception", "")))' "$t/failed.jsonl")

accepted=0
refused=0
for id in "${!want[@]}"; do
    expect="${want[$id]%%$'\t'*}"
    file="${want[$id]#*$'\t'}"
    reasons=()
    case "$expect" in
    ok | warn)
        manifest="$(find "$t/store/books/$id" -name manifest.json 2>/dev/null | head -n 1)"
        if [[ -z "$manifest" ]]; then
            reasons+=("no package published (failure: ${failure[$id]:-none})")
        else
            qr_run "$t/verify-$id" verify "$(dirname "$manifest")" --key-file "$t/keys.json"
            [[ "$(qr_rc "$t/verify-$id")" == 0 ]] ||
                reasons+=("verify: $(head -c 300 "$t/verify-$id.err")")
        fi
        [[ -z "${failure[$id]:-}" ]] || reasons+=("also a failure entry: ${failure[$id]}")
        accepted=$((accepted + 1))
        ;;
    error:*)
        ids="${expect#error:}"
        got="${failure[$id]:-}"
        [[ "|$ids|" == *"|$got|"* ]] || reasons+=("failure exception '$got', expected one of $ids")
        [[ ! -d "$t/store/books/$id" ]] || reasons+=("a package was published for a refused book")
        refused=$((refused + 1))
        ;;
    *) reasons+=("no expectation for status of $file") ;;
    esac
    qr_case "$file ($id): $expect" "${reasons[@]}"
done

reasons=()
(($(count processed) == accepted + refused)) ||
    reasons+=("stat:processed $(count processed), expected $((accepted + refused))")
(($(count failed) == refused)) || reasons+=("stat:failed $(count failed), expected $refused")
[[ "$(rc LLEN resque:queue:corpus)" == 0 ]] || reasons+=("queue not empty")
[[ -z "$(rc KEYS 'resque:quire:processing:*')" ]] || reasons+=("a processing list is left")
[[ "$(rc SCARD resque:workers)" == 0 ]] || reasons+=("the worker is still registered")
grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$t/worker.err" &&
    reasons+=("sanitizer report in the worker log")
qr_case "counters add up ($accepted published, $refused refused), nothing left behind" "${reasons[@]}"
qr_summary
