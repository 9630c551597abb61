#!/usr/bin/env bash
# scripts/lint.sh must catch breakage, not just pass: copies of the real
# workflow and Dockerfile pass it, and the same copies with one typo each
# (`runs_on`, `FROMM`), or a script with an unquoted expansion, fail it with
# the right FAIL line. Skips (77) when node or the pinned validators are not
# installed (scripts/lint.sh installs them).
set -euo pipefail
src="${QR_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
lint="$src/scripts/lint.sh"
bin="$src/tools/lint/node_modules/.bin"
for t in node yamllint shellcheck; do
    command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
if [ ! -x "$bin/action-validator" ] || [ ! -x "$bin/dockerfile-utils" ]; then
    echo "FAIL: the npm validators in tools/lint are not installed: run scripts/setup.sh" >&2
    exit 1
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# tree NAME: a lint root holding the real ci.yml and Dockerfile.
tree() {
    mkdir -p "$tmp/$1/.github/workflows"
    cp "$src/.github/workflows/ci.yml" "$tmp/$1/.github/workflows/ci.yml"
    cp "$src/Dockerfile" "$tmp/$1/Dockerfile"
}
# run_lint NAME: lint that tree; output in $tmp/NAME.out, status echoed.
run_lint() {
    local rc=0
    "$lint" --root "$tmp/$1" --no-install >"$tmp/$1.out" 2>&1 || rc=$?
    if [ "$rc" -eq 77 ]; then
        echo "SKIP: lint.sh reports missing tools"
        exit 77
    fi
    echo "$rc"
}
fails=0
expect() {
    local name="$1" want_rc="$2" want_line="$3" rc
    rc="$(run_lint "$name")"
    if [ "$rc" != "$want_rc" ] || ! grep -qF -- "$want_line" "$tmp/$name.out"; then
        echo "FAIL $name: want rc $want_rc and '$want_line', got rc $rc:"
        sed 's/^/    /' "$tmp/$name.out"
        fails=$((fails + 1))
    else
        echo "PASS $name: rc $rc, '$want_line'"
    fi
}

tree good
expect good 0 "lint: all checks passed"

tree bad-workflow
sed -i 's/^\(  *\)runs-on:/\1runs_on:/' "$tmp/bad-workflow/.github/workflows/ci.yml"
grep -q 'runs_on:' "$tmp/bad-workflow/.github/workflows/ci.yml"
expect bad-workflow 1 "FAIL action-validator .github/workflows/ci.yml"

tree bad-dockerfile
sed -i '0,/^FROM /s//FROMM /' "$tmp/bad-dockerfile/Dockerfile"
grep -q '^FROMM ' "$tmp/bad-dockerfile/Dockerfile"
expect bad-dockerfile 1 "FAIL dockerfile-utils Dockerfile"

tree bad-script
mkdir -p "$tmp/bad-script/scripts"
# shellcheck disable=SC2016 # the unquoted $1 is the point of this script
printf '#!/usr/bin/env bash\nrm -rf $1/build\n' >"$tmp/bad-script/scripts/clean.sh"
expect bad-script 1 "FAIL shellcheck scripts/clean.sh"

[ "$fails" -eq 0 ]
