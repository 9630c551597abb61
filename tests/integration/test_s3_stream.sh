#!/usr/bin/env bash
# S3 streaming with bounded memory: a 100 MB object goes up (multipart, from
# the file with pread) and comes down (into a file) through a real s3rver on
# loopback, in a private network namespace; the driver's peak RSS must stay
# within QR_S3_RSS_BOUND_KIB (64 MiB) of its baseline, and the bytes must
# round-trip exactly.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Only loopback: re-run inside a new network namespace (root only).
qr_netns_reexec "$@"

qr_init s3-stream
DRIVER="$(dirname "$QUIRE_BIN")/tests/aws_test_s3_stream"
[[ -x "$DRIVER" ]] || qr_die "$DRIVER missing (build the aws_test_s3_stream target)"
S3RVER="$(qr_s3rver)"

BOUND_KIB="${QR_S3_RSS_BOUND_KIB:-65536}"
BUCKET=quire-stream
PORT="$(qr_free_port)"
mkdir -p "$QR_TMP/s3data"
"$S3RVER" --directory "$QR_TMP/s3data" --address 127.0.0.1 --port "$PORT" --silent \
    --configure-bucket "$BUCKET" >"$QR_TMP/s3rver.log" 2>&1 &
S3PID=$!
trap 'kill "$S3PID" 2>/dev/null || true; qr_cleanup' EXIT

qr_wait_for 30 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT" 2>/dev/null || qr_die "s3rver did not listen on $PORT: $(tail -n 5 "$QR_TMP/s3rver.log")"

head -c 100000000 /dev/urandom >"$QR_TMP/up.bin"

# run_driver MODE FILE: runs one transfer; prints "baseline peak" in KiB.
run_driver() {
    local out="$QR_TMP/driver-$1.out"
    QR_S3_STREAM_ENDPOINT="http://127.0.0.1:$PORT" QR_S3_STREAM_BUCKET="$BUCKET" \
        QR_S3_STREAM_KEY="stream/100mb.bin" QR_S3_STREAM_MODE="$1" QR_S3_STREAM_FILE="$2" \
        LSAN_OPTIONS="suppressions=$QR_SRCDIR/tests/lsan.supp" \
        timeout -k 10 600 "$DRIVER" >"$out" 2>&1 || {
        echo "driver $1 failed: $(grep -v '^\[' "$out" | tail -n 5 | tr '\n' ' ')" >&2
        return 1
    }
    echo "$(awk '/^baseline_kib/ {print $2}' "$out") $(awk '/^peak_kib/ {print $2}' "$out")"
}

check_rss() {
    local name="$1" base="$2" peak="$3" grew
    grew=$((peak - base))
    echo "$name: baseline ${base} KiB, peak ${peak} KiB, grew ${grew} KiB (bound ${BOUND_KIB} KiB)"
    if ((grew < BOUND_KIB)); then
        qr_pass "$name: 100 MB with bounded memory"
    else
        qr_fail "$name: 100 MB with bounded memory" "peak RSS grew ${grew} KiB, over ${BOUND_KIB} KiB"
    fi
}

if read -r base peak < <(run_driver put "$QR_TMP/up.bin"); then
    check_rss upload "$base" "$peak"
else
    qr_fail "upload: 100 MB with bounded memory" "the upload failed"
fi
if read -r base peak < <(run_driver get "$QR_TMP/down.bin"); then
    check_rss download "$base" "$peak"
else
    qr_fail "download: 100 MB with bounded memory" "the download failed"
fi
if [[ -f "$QR_TMP/down.bin" ]] && cmp -s "$QR_TMP/up.bin" "$QR_TMP/down.bin"; then
    qr_pass "round trip: the 100 MB object came back byte for byte"
else
    qr_fail "round trip: the 100 MB object came back byte for byte" "downloaded bytes differ or are missing"
fi
qr_summary
