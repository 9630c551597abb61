#!/usr/bin/env bash
# The SSRF guard against real off-host destinations (169.254.169.254,
# 10.0.0.1, [::ffff:10.0.0.1], localhost, redirects to them), run inside a
# private network namespace that has only loopback, so a guard that failed
# could not put a packet on any real network. Runs the cmocka executable
# net_test_ssrf (tests/unit/net/test_ssrf.c) there with
# QR_NETNS_ONLY_LOOPBACK=1. Skips (77) when not root or namespaces are
# unavailable.
set -euo pipefail

# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
qr_init net-ssrf

[[ "$(id -u)" == 0 ]] || qr_skip "needs root for ip netns"
command -v ip >/dev/null || qr_skip "ip (iproute2) not installed"

# ctest builds unit tests into <build>/tests; QUIRE_BIN sits in <build>.
exe="$(dirname "$QUIRE_BIN")/tests/net_test_ssrf"
[[ -x "$exe" ]] || qr_die "$exe not built (target net_test_ssrf)"

ns="qr-ssrf-$$"
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup_ns() {
    ip netns del "$ns" 2>/dev/null || true
    qr_cleanup
}
ip netns add "$ns" 2>/dev/null || qr_skip "ip netns add failed (no CAP_SYS_ADMIN?)"
trap cleanup_ns EXIT
ip netns exec "$ns" ip link set lo up || qr_die "cannot bring lo up in $ns"

# Nothing but loopback in there, or the test must not run.
others="$(ip netns exec "$ns" ip -o link show | awk -F': ' '{print $2}' | grep -vx lo || true)"
[[ -z "$others" ]] || qr_die "namespace $ns has interfaces other than lo: $others"

rc=0
ip netns exec "$ns" env QR_NETNS_ONLY_LOOPBACK=1 timeout -k 10 300 "$exe" \
    >"$QR_TMP/ssrf.out" 2>&1 || rc=$?
cat "$QR_TMP/ssrf.out"
reasons=()
[[ "$rc" == 0 ]] || reasons+=("net_test_ssrf exited $rc")
grep -q 'SKIPPED' "$QR_TMP/ssrf.out" && reasons+=("tests skipped inside the namespace")
grep -q 'PASSED  \] 3 test' "$QR_TMP/ssrf.out" || reasons+=("not every case passed")
qr_case "ssrf guard inside a loopback-only namespace" "${reasons[@]+"${reasons[@]}"}"
qr_summary
