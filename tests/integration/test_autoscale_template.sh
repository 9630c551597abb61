#!/usr/bin/env bash
# The fleet template (autoscale/quire-fleet.yaml) passes yamllint, cfn-lint 1.x
# with quire's custom rules (autoscale/checks/cfnlint-custom.txt and
# autoscale/checks/cfnlint/) and cfn-guard with quire's invariants
# (autoscale/checks/quire.guard); and every one of those rules fails a broken
# copy made from the good template by autoscale/checks/mutants.py, naming
# the rule. Its CloudWatch dashboard and job alarms use only the metric contract
# (deploy/monitoring/metrics.txt, checked by deploy/monitoring/checks/check_monitoring.py),
# and broken copies of them fail that check. The tools come from scripts/setup.sh (cfn-lint from the Python
# first on PATH, cfn-guard from autoscale/tools/package-lock.json); a missing
# one fails the test, as the setup script would have installed it.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
qr_init autoscale-template

tpl="$QR_SRCDIR/autoscale/quire-fleet.yaml"
checks="$QR_SRCDIR/autoscale/checks"
case "$(uname -m)" in
x86_64) guard_arch=x86_64 ;;
aarch64) guard_arch=aarch64 ;;
*) qr_skip "cfn-guard ships no Linux binary for $(uname -m)" ;;
esac
guard="$QR_SRCDIR/autoscale/tools/node_modules/@cdklabs/cdk-validator-cfnguard/bin/ubuntu/$guard_arch/cfn-guard"

command -v yamllint >/dev/null || qr_die "yamllint is missing: run scripts/setup.sh"
/usr/bin/python3 -c 'import yaml' 2>/dev/null || qr_die "python3-yaml is missing: run scripts/setup.sh"
command -v cfn-lint >/dev/null || qr_die "cfn-lint is missing: run scripts/setup.sh (it needs cfn-lint 1.x in the python3 first on PATH)"
[[ "$(cfn-lint --version)" == "cfn-lint 1."* ]] || qr_die "cfn-lint 1.x is required, found: $(cfn-lint --version)"
[[ -x "$guard" ]] || qr_die "cfn-guard is missing at $guard: run scripts/setup.sh"

# check_with TOOL FILE: runs one of the three checks on FILE.
check_with() {
    case "$1" in
    yamllint) yamllint --strict -c "$QR_SRCDIR/.yamllint" "$2" ;;
    cfn-lint) cfn-lint --custom-rules "$checks/cfnlint-custom.txt" --append-rules "$checks/cfnlint" -- "$2" ;;
    guard) "$guard" validate --rules "$checks/quire.guard" --data "$2" --show-summary fail ;;
    *) qr_die "unknown check $1" ;;
    esac
}

# The good template passes all three, with nothing to say.
for tool in yamllint cfn-lint guard; do
    if out="$(check_with "$tool" "$tpl" 2>&1)"; then
        qr_pass "good template: $tool"
    else
        qr_fail "good template: $tool" "$out"
    fi
done

# The dashboard and the job alarms use only the metric contract (deploy/monitoring/metrics.txt):
# the good template passes, and copies with an unknown metric, a dimension the contract does
# not have, or a body that is not JSON fail, naming what is wrong.
cwcheck=(/usr/bin/python3 "$QR_SRCDIR/deploy/monitoring/checks/check_monitoring.py" cloudwatch)
contract="$QR_SRCDIR/deploy/monitoring/metrics.txt"
if out="$("${cwcheck[@]}" "$tpl" "$contract" 2>&1)"; then
    qr_pass "dashboard and alarms use the metric contract: $out"
else
    qr_fail "dashboard and alarms use the metric contract" "$out"
fi
# cw_broken NAME EXPECT FROM TO: a copy with FROM replaced by TO (once) fails naming EXPECT.
cw_broken() {
    local copy="$QR_TMP/cw-$1.yaml" out
    /usr/bin/python3 -c 'import sys; t = open(sys.argv[1]).read(); assert t.count(sys.argv[3]) >= 1, sys.argv[3]
open(sys.argv[2], "w").write(t.replace(sys.argv[3], sys.argv[4], 1))' "$tpl" "$copy" "$3" "$4" ||
        qr_die "cannot make the broken copy $1"
    if out="$("${cwcheck[@]}" "$copy" "$contract" 2>&1)"; then
        qr_fail "broken copy $1 fails the contract check" "it passed"
    elif grep -qF -- "$2" <<<"$out"; then
        qr_pass "broken copy $1 fails the contract check"
    else
        qr_fail "broken copy $1 fails the contract check" "without naming $2: $out"
    fi
}
cw_broken dashboard-unknown-metric "Quire PeakRss is not in the metric contract" '"PeakRssBytes","AutoScalingGroupName"' '"PeakRss","AutoScalingGroupName"'
cw_broken dashboard-extra-dimension "Quire StageSeconds with dimensions" '"Stage","slice"]' '"Stage","slice","Queue","books"]'
cw_broken dashboard-not-json "DashboardBody is not JSON" '{"widgets":[' '{"widgets":[,'
cw_broken alarm-unknown-metric "Quire JobsCrashes is not in the metric contract" 'MetricName: JobsCrashed' 'MetricName: JobsCrashes'
cw_broken alarm-undocumented-dimension "Quire JobsFailed with dimensions" \
    "MetricName: JobsFailed
      Dimensions: [{Name: AutoScalingGroupName, Value: !Ref WorkerGroup}]" \
    "MetricName: JobsFailed
      Dimensions: [{Name: AutoScalingGroupName, Value: !Ref WorkerGroup}, {Name: Queue, Value: books}]"

# The custom rules are loaded: cfn-lint lists them.
rules="$(cfn-lint --append-rules "$checks/cfnlint" --list-rules 2>&1)"
reasons=()
for id in E9101 E9102 E9103 E9104; do
    grep -q "^$id" <<<"$rules" || reasons+=("cfn-lint does not list $id")
done
qr_case "cfn-lint lists quire's rules" "${reasons[@]}"

# Each broken copy fails each tool it names, with the rule's id in the output.
python3 "$checks/mutants.py" "$tpl" "$QR_TMP/mutants" >"$QR_TMP/mutants.txt" ||
    qr_die "autoscale/checks/mutants.py could not make the broken copies"
n=0
while read -r name expects; do
    n=$((n + 1))
    reasons=()
    for expect in $expects; do
        tool="${expect%%:*}"
        id="${expect#*:}"
        if out="$(check_with "$tool" "$QR_TMP/mutants/$name.yaml" 2>&1)"; then
            reasons+=("$tool passed the broken copy")
        elif ! grep -qF -- "$id" <<<"$out"; then
            reasons+=("$tool failed without naming $id: $(head -c 600 <<<"$out")")
        fi
    done
    qr_case "broken copy $name fails: $expects" "${reasons[@]}"
done <"$QR_TMP/mutants.txt"
((n >= 20)) || qr_fail "mutant count" "only $n broken copies"

qr_summary
