#!/usr/bin/env bash
# The fleet policy simulator (autoscale/sim): its unit tests (CloudWatch's
# alarm-evaluation tables and the Auto Scaling guide's step-scaling walkthrough
# as golden cases, scale-out from zero, scale-in protection, hand-computed tiny
# traces, the rules read from autoscale/quire-fleet.yaml), then the check that
# the simulation section of docs/operations/autoscale.md and its chart are what
# the code and the template produce now. Runs with /usr/bin/python3 (Debian's
# python3-yaml).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
qr_init autoscale-sim

py=/usr/bin/python3
[[ -x "$py" ]] || qr_die "/usr/bin/python3 is missing (scripts/setup.sh installs python3)"
"$py" -c 'import yaml' 2>/dev/null || qr_die "python3-yaml is missing: run scripts/setup.sh"

sim="$QR_SRCDIR/autoscale/sim"
if timeout -k 5 600 "$py" -m unittest discover -s "$sim/tests" -t "$sim/tests" >"$QR_TMP/unit.log" 2>&1; then
    qr_pass "simulator unit tests ($(grep -o 'Ran [0-9]* tests' "$QR_TMP/unit.log"))"
else
    qr_fail "simulator unit tests" "$(tail -n 40 "$QR_TMP/unit.log")"
fi

if timeout -k 5 600 "$py" "$sim/run.py" --check-docs >"$QR_TMP/docs.log" 2>&1; then
    qr_pass "docs/operations/autoscale.md and autoscale-sim.svg match the simulation"
else
    qr_fail "simulation docs" "$(tail -n 5 "$QR_TMP/docs.log")"
fi
qr_summary
