#!/usr/bin/env bash
# The worker in an EC2 Auto Scaling group (docs/operations/autoscale.md,
# "Metric and API contract"), against real components in a private network
# namespace with only loopback: a fake IMDSv2 bound to 169.254.169.254 (the
# instance id, region, target lifecycle state and the instance profile's
# credentials), moto in server mode (Auto Scaling, CloudWatch, SSM, EC2) behind
# tests/tools/aws_endpoint.py, which recomputes every request's SigV4
# signature with botocore and answers the lifecycle calls moto lacks after
# checking them against botocore's Auto Scaling model, and redis-server.
# Cases: quire fleet ready off EC2 and on it; secrets from SSM (a wrong name
# stops the worker); scale-in protection around a job; the terminating hook
# (no new job, heartbeats, the job finishes, CONTINUE, exit 0); quire metrics
# publish read back with GetMetricData. tests/tools/fleet_check.py runs them.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
qr_netns_reexec "$@"
qr_init fleet

command -v redis-server >/dev/null || qr_skip "redis-server not installed"
command -v redis-cli >/dev/null || qr_skip "redis-cli not installed"
command -v moto_server >/dev/null || qr_die "moto_server is missing: moto (server mode) must be in the python3 first on PATH"
python3 -c 'import boto3, botocore' 2>/dev/null || qr_die "boto3 and botocore must be in the python3 first on PATH"

t="$QR_TMP"
# The metadata service's address, on this namespace's loopback only.
ip addr add 169.254.169.254/32 dev lo || qr_die "cannot add 169.254.169.254 to lo in the namespace"

"$QUIRE_BIN" sample-book "$t/book.epub" --chapters 12 --images 24 --size 2400x1800 >/dev/null 2>"$t/book.err" ||
    qr_die "sample-book failed: $(cat "$t/book.err")"

redis_port="$(qr_free_port)"
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no >"$t/redis.log" 2>&1 &
redis_pid=$!
moto_port="$(qr_free_port)"
moto_server -H 127.0.0.1 -p "$moto_port" >"$t/moto.log" 2>&1 &
moto_pid=$!
python3 "$QR_SRCDIR/tests/tools/aws_endpoint.py" --port-file "$t/endpoint.port" \
    --moto "http://127.0.0.1:$moto_port" --log "$t/aws.jsonl" >"$t/endpoint.log" 2>&1 &
endpoint_pid=$!
mkdir -p "$t/meta"
python3 "$QR_SRCDIR/tests/tools/fake_imds.py" --bind 169.254.169.254 --port 80 --port-file "$t/imds.port" \
    --meta-dir "$t/meta" >"$t/imds.log" 2>&1 &
imds_pid=$!
# shellcheck disable=SC2317 # runs from the EXIT trap
stop() {
    kill "$redis_pid" "$moto_pid" "$endpoint_pid" "$imds_pid" 2>/dev/null || true
    wait "$redis_pid" "$moto_pid" "$endpoint_pid" "$imds_pid" 2>/dev/null || true
    qr_cleanup
}
trap stop EXIT

# shellcheck disable=SC2317 # the *_up functions run through qr_wait_for
redis_up() { redis-cli -p "$redis_port" ping 2>/dev/null | grep -q PONG; }
# shellcheck disable=SC2317
moto_up() { python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$moto_port/moto-api/', timeout=1)" 2>/dev/null; }
# shellcheck disable=SC2317
file_up() { [[ -s "$1" ]]; }
qr_wait_for 10 redis_up || qr_die "redis-server did not start: $(cat "$t/redis.log")"
qr_wait_for 30 moto_up || qr_die "moto_server did not start: $(tail -n 5 "$t/moto.log")"
qr_wait_for 30 file_up "$t/endpoint.port" || qr_die "aws_endpoint.py did not start: $(tail -n 5 "$t/endpoint.log")"
qr_wait_for 10 file_up "$t/imds.port" || qr_die "fake_imds.py did not start: $(tail -n 5 "$t/imds.log")"

timeout -k 5 1200 python3 "$QR_SRCDIR/tests/tools/fleet_check.py" "$QUIRE_BIN" "$redis_port" \
    "http://127.0.0.1:$moto_port" "http://127.0.0.1:$(cat "$t/endpoint.port")" "$t/meta" \
    "http://169.254.169.254/_count" "$t" "$t/aws.jsonl" "$t/book.epub" >"$t/cases.txt" 2>"$t/harness.err" ||
    qr_fail "harness" "fleet_check.py failed: $(tail -n 30 "$t/harness.err")"
n=0
while IFS=$'\t' read -r name reason; do
    n=$((n + 1))
    qr_case "fleet: $name" "$reason"
done <"$t/cases.txt"
((n >= 18)) || qr_fail "fleet case count" "only $n cases ran: $(tail -n 30 "$t/harness.err")"
qr_summary
