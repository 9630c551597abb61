#!/usr/bin/env bash
# scripts/lint-cookbook.sh must catch breakage, not just pass: the real
# cookbook passes; a copy with a recipe that does not parse fails `ruby -wc`,
# and a copy with a recipe that breaks a cop (a double-quoted string with no
# interpolation, a trailing space) fails rubocop. Skips (77) without ruby or
# rubocop (scripts/setup.sh --lint installs them).
set -euo pipefail
src="${QR_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
lint="$src/scripts/lint-cookbook.sh"
for t in ruby rubocop; do
    command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fails=0
expect() {
    local name="$1" want_rc="$2" want_line="$3" rc=0
    "$lint" "$tmp/$name" >"$tmp/$name.out" 2>&1 || rc=$?
    if [ "$rc" != "$want_rc" ] || ! grep -qF -- "$want_line" "$tmp/$name.out"; then
        echo "FAIL $name: want rc $want_rc and '$want_line', got rc $rc:"
        sed 's/^/    /' "$tmp/$name.out"
        fails=$((fails + 1))
    else
        echo "PASS $name: rc $rc, '$want_line'"
    fi
}
copy() { cp -r "$src/cookbooks/quire" "$tmp/$1"; }

copy good
expect good 0 "PASS rubocop"

copy unparsable
printf '\nexecute "broken" do\n  command "true"\n' >>"$tmp/unparsable/recipes/shutdown.rb"
expect unparsable 1 "FAIL ruby -wc"

copy offense
printf "\nexecute 'reload' do\n  command \"systemctl daemon-reload\" \nend\n" >>"$tmp/offense/recipes/undeploy.rb"
expect offense 1 "Style/StringLiterals"
grep -qF "Layout/TrailingWhitespace" "$tmp/offense.out" || {
    echo "FAIL offense: the trailing space was not reported"
    fails=$((fails + 1))
}
[ "$fails" -eq 0 ]
