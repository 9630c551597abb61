#!/usr/bin/env bash
# quire's Prometheus rules and Grafana dashboard (deploy/monitoring/) hold:
# - `promtool check rules` and `promtool test rules` pass on the rules and their unit
#   tests (deploy/monitoring/prometheus/tests/), which make every alert fire and not fire;
# - broken copies of the rules (a threshold, a `for:`, a label value, an annotation, the
#   syntax) fail them: the tests can fail;
# - the rules and the dashboard name only metrics of the contract
#   (deploy/monitoring/metrics.txt), and every name of the contract is documented in
#   docs/operations/monitoring.md;
# - the dashboard is JSON with a datasource variable, a unit and that datasource on every
#   panel, and every panel's expression parses (promtool, as recording rules);
#   broken copies of it fail.
# promtool comes from Debian's prometheus package (scripts/setup.sh); the test skips only
# where apt has no such package, and fails when it is merely not installed.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
qr_init monitoring-rules

mon="$QR_SRCDIR/deploy/monitoring"
rules="$mon/prometheus/quire-rules.yml"
contract="$mon/metrics.txt"
check=(/usr/bin/python3 "$mon/checks/check_monitoring.py")

if ! command -v promtool >/dev/null; then
    if command -v apt-cache >/dev/null && apt-cache show prometheus >/dev/null 2>&1; then
        qr_die "promtool is missing: run scripts/setup.sh (Debian package prometheus)"
    fi
    qr_skip "promtool cannot be installed here (no Debian prometheus package)"
fi
/usr/bin/python3 -c 'import yaml' 2>/dev/null || qr_die "python3-yaml is missing: run scripts/setup.sh"

# run_case NAME CMD...: PASS when CMD succeeds, FAIL with its output otherwise.
run_case() {
    local name="$1" out
    shift
    if out="$("$@" 2>&1)"; then
        qr_pass "$name"
    else
        qr_fail "$name" "$out"
    fi
}

run_case "promtool check rules" promtool check rules "$rules"
run_case "promtool check config (the example)" promtool check config "$mon/prometheus/prometheus-example.yml"
for t in "$mon"/prometheus/tests/*.yml; do
    run_case "promtool test rules $(basename "$t")" promtool test rules "$t"
done

# Every alert of the rules has a unit test that makes it fire (a test naming it with
# exp_alerts holding one) and one where it stays quiet (exp_alerts: []).
/usr/bin/python3 - "$rules" "$mon"/prometheus/tests/*.yml >"$QR_TMP/coverage.txt" <<'PY' || true
import sys, yaml
alerts = [r["alert"] for g in yaml.safe_load(open(sys.argv[1]))["groups"] for r in g["rules"] if "alert" in r]
fired, quiet = set(), set()
for path in sys.argv[2:]:
    for test in yaml.safe_load(open(path)).get("tests", []):
        for a in test.get("alert_rule_test", []):
            (fired if a.get("exp_alerts") else quiet).add(a["alertname"])
for a in alerts:
    if a not in fired:
        print(f"{a}: no unit test where it fires")
    if a not in quiet:
        print(f"{a}: no unit test where it stays quiet")
PY
qr_verdict "every alert is tested firing and not firing" "$QR_TMP/coverage.txt"

run_case "the rules use only the metric contract" "${check[@]}" rules "$rules" "$contract"
run_case "the metric contract is documented" "${check[@]}" doc "$contract" "$QR_SRCDIR/docs/operations/monitoring.md"

# Broken copies: the rules directory copied whole (the unit tests find ../quire-rules.yml),
# one text replaced; promtool STEP (check or test) must then fail.
# broken NAME STEP FROM TO
broken() {
    local name="$1" step="$2" from="$3" to="$4" dir="$QR_TMP/broken-$1" out
    mkdir -p "$dir"
    cp -r "$mon/prometheus/." "$dir/"
    /usr/bin/python3 -c 'import sys; p = sys.argv[1]; t = open(p).read(); assert t.count(sys.argv[2]) == 1, sys.argv[2]
open(p, "w").write(t.replace(sys.argv[2], sys.argv[3]))' "$dir/quire-rules.yml" "$from" "$to" ||
        qr_die "cannot make the broken copy $name"
    case "$step" in
    check) out="$(promtool check rules "$dir/quire-rules.yml" 2>&1)" && rc=0 || rc=$? ;;
    test) out="$(promtool test rules "$dir"/tests/*.yml 2>&1)" && rc=0 || rc=$? ;;
    esac
    if ((rc == 0)); then
        qr_fail "broken rules $name fail promtool $step" "promtool passed: $(head -c 400 <<<"$out")"
    else
        qr_pass "broken rules $name fail promtool $step"
    fi
}
broken disk-threshold test "instance:quire_disk_free:ratio < 0.15" "instance:quire_disk_free:ratio < 0.6"
broken queue-no-for test "        for: 10m
        labels:
          severity: warning
        annotations:
          summary: \"quire queue" "        labels:
          severity: warning
        annotations:
          summary: \"quire queue"
broken crash-label test 'outcome="crashed"}[15m]' 'outcome="crash"}[15m]'
broken heartbeat-threshold test "quire_worker_heartbeat_age_seconds > 180" "quire_worker_heartbeat_age_seconds > 600"
broken failure-minimum test ">= 3" ">= 1"
broken severity test "          severity: critical
        annotations:
          summary: \"quire job crashed" "          severity: warning
        annotations:
          summary: \"quire job crashed"
broken annotation test "First run" "Run"
broken worker-down-job test 'up{job="quire"}' 'up{job="quire-worker"}'
broken syntax check "quire_worker_heartbeat_age_seconds > 180" "quire_worker_heartbeat_age_seconds >> 180"

# The dashboard: structure, units, datasource, contract; then every expression parsed.
dash="$mon/grafana/quire.json"
if out="$("${check[@]}" grafana "$dash" "$contract" "$QR_TMP/dashboard-rules.yml" 2>&1)"; then
    qr_pass "grafana dashboard: $out"
    run_case "every dashboard expression parses (promtool)" promtool check rules "$QR_TMP/dashboard-rules.yml"
else
    qr_fail "grafana dashboard" "$out"
fi

# Broken dashboards fail: the checker (a unit gone, a fixed datasource, a metric outside
# the contract, not JSON) or promtool (an expression that does not parse).
# broken_dash NAME EXPECT FROM TO   (EXPECT: the checker's message, or "promtool")
broken_dash() {
    local name="$1" expect="$2" copy="$QR_TMP/dash-$1.json" out
    /usr/bin/python3 -c 'import sys; t = open(sys.argv[1]).read(); assert t.count(sys.argv[3]) >= 1, sys.argv[3]
open(sys.argv[2], "w").write(t.replace(sys.argv[3], sys.argv[4], 1))' "$dash" "$copy" "$3" "$4" ||
        qr_die "cannot make the broken dashboard $name"
    if out="$("${check[@]}" grafana "$copy" "$contract" "$QR_TMP/dash-$1-rules.yml" 2>&1)"; then
        if [[ "$expect" == promtool ]] && ! out="$(promtool check rules "$QR_TMP/dash-$1-rules.yml" 2>&1)"; then
            qr_pass "broken dashboard $name fails"
        else
            qr_fail "broken dashboard $name fails" "it passed"
        fi
    elif grep -qF -- "$expect" <<<"$out"; then
        qr_pass "broken dashboard $name fails"
    else
        qr_fail "broken dashboard $name fails" "without naming $expect: $out"
    fi
}
broken_dash no-unit "Child RSS: no unit" '"unit": "bytes"' '"unit": ""'
# shellcheck disable=SC2016 # a literal ${datasource}, as the dashboard writes it
broken_dash fixed-datasource "datasource is not \${datasource}" '"uid": "${datasource}"' '"uid": "prom-1"'
broken_dash unknown-metric "quire_child_rss is not in the metric contract" "quire_child_rss_bytes{" "quire_child_rss{"
broken_dash not-json "not JSON" '"panels": [' '"panels": [,'
broken_dash bad-expr promtool "sum(quire_busy_slots{" "sum(quire_busy_slots{{"
broken_dash no-datasource-variable "no template variable 'datasource'" '"type": "datasource"' '"type": "custom"'

qr_summary
