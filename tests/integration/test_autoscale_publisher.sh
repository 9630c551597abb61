#!/usr/bin/env bash
# The queue metrics publisher of the fleet template (the Publisher function's
# inline code in autoscale/quire-fleet.yaml) against a real redis-server and
# moto in server mode, both on loopback inside a private network namespace:
# the metrics of the contract (docs/operations/autoscale.md) are computed from
# Resque's queues and quire's processing lists, published to CloudWatch and
# read back with GetMetricData; a wrong SSM name, a wrong password and an
# unreachable Redis fail and publish nothing. tests/tools/publisher_check.py
# does the work.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
qr_netns_reexec "$@"
qr_init autoscale-publisher

command -v redis-server >/dev/null || qr_skip "redis-server not installed"
command -v redis-cli >/dev/null || qr_skip "redis-cli not installed"
command -v moto_server >/dev/null || qr_die "moto_server is missing: moto (server mode) must be in the python3 first on PATH"
python3 -c 'import boto3, cfnlint' 2>/dev/null || qr_die "boto3 and cfn-lint must be in the python3 first on PATH"

t="$QR_TMP"
redis_port="$(qr_free_port)"
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
    --requirepass 's3cret word' --daemonize no >"$t/redis.log" 2>&1 &
redis_pid=$!
moto_port="$(qr_free_port)"
moto_server -H 127.0.0.1 -p "$moto_port" >"$t/moto.log" 2>&1 &
moto_pid=$!
# shellcheck disable=SC2317 # runs from the EXIT trap
stop() {
    kill "$redis_pid" "$moto_pid" 2>/dev/null || true
    wait "$redis_pid" "$moto_pid" 2>/dev/null || true
    qr_cleanup
}
trap stop EXIT

# shellcheck disable=SC2317 # redis_up and moto_up run through qr_wait_for
redis_up() { redis-cli -p "$redis_port" -a 's3cret word' --no-auth-warning ping 2>/dev/null | grep -q PONG; }
# shellcheck disable=SC2317
moto_up() { python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$moto_port/moto-api/', timeout=1)" 2>/dev/null; }
qr_wait_for 10 redis_up || qr_die "redis-server did not start: $(cat "$t/redis.log")"
qr_wait_for 30 moto_up || qr_die "moto_server did not start: $(tail -n 5 "$t/moto.log")"

timeout -k 5 120 python3 "$QR_SRCDIR/tests/tools/publisher_check.py" "$QR_SRCDIR/autoscale/quire-fleet.yaml" \
    "$redis_port" "http://127.0.0.1:$moto_port" "$t" >"$t/cases.txt" 2>"$t/harness.err" ||
    qr_fail "harness" "publisher_check.py failed: $(tail -n 20 "$t/harness.err")"
n=0
while IFS=$'\t' read -r name reason; do
    n=$((n + 1))
    qr_case "publisher: $name" "$reason"
done <"$t/cases.txt"
((n >= 8)) || qr_fail "publisher case count" "only $n cases ran: $(tail -n 20 "$t/harness.err")"
qr_summary
