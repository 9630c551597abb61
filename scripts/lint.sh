#!/usr/bin/env bash
# Lints what the compiler does not see: GitHub workflows (action-validator
# schema check + yamllint), the Dockerfile (dockerfile-utils), the layering
# of the C sources (scripts/check-layers.py) and the shell scripts
# (shellcheck), and the Chef cookbooks (scripts/lint-cookbook.sh). Prints PASS/FAIL per file and exits 1 on any finding.
#   scripts/lint.sh [--root DIR] [--no-install]
# --root DIR    lint the files under DIR instead of this checkout (the tools
#               and .yamllint still come from this checkout); used by
#               tests/integration/test_lint_catches_breakage.sh.
# --no-install  do not apt-get/npm-install missing tools; exit 77 instead.
# The npm validators are pinned in tools/lint/package-lock.json.
set -euo pipefail
self="$(cd "$(dirname "$0")/.." && pwd)"
root="$self"
install=1
while [ $# -gt 0 ]; do
    case "$1" in
    --root) root="$(cd "$2" && pwd)"; shift 2 ;;
    --no-install) install=0; shift ;;
    *) echo "lint.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
tools="$self/tools/lint"
bin="$tools/node_modules/.bin"

missing_apt=()
command -v yamllint >/dev/null || missing_apt+=(yamllint)
command -v shellcheck >/dev/null || missing_apt+=(shellcheck)
command -v rubocop >/dev/null || missing_apt+=(rubocop)
need_npm=0
# npm ci again whenever the lockfile changed since the last install.
if [ ! -x "$bin/action-validator" ] || [ ! -x "$bin/dockerfile-utils" ] ||
    [ "$tools/package-lock.json" -nt "$tools/node_modules/.package-lock.json" ]; then
    need_npm=1
fi
if [ "$install" -eq 0 ]; then
    if [ ${#missing_apt[@]} -gt 0 ] || [ "$need_npm" -eq 1 ] || ! command -v node >/dev/null; then
        echo "lint: tools missing (${missing_apt[*]:-} npm validators=$need_npm); run scripts/lint.sh once" >&2
        exit 77
    fi
else
    if [ ${#missing_apt[@]} -gt 0 ]; then
        SUDO=""
        [ "$(id -u)" -eq 0 ] || SUDO="sudo"
        echo "lint: installing ${missing_apt[*]}"
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
            "${missing_apt[@]}" >/dev/null
    fi
    if [ "$need_npm" -eq 1 ]; then
        command -v npm >/dev/null || { echo "lint: npm is required (apt-get install nodejs npm)" >&2; exit 1; }
        echo "lint: npm ci in tools/lint"
        npm ci --prefix "$tools" --no-audit --no-fund --loglevel=error >/dev/null
    fi
fi

failures=0
check() {
    local what="$1"
    shift
    local out
    if out="$("$@" 2>&1)"; then
        echo "PASS $what"
    else
        echo "FAIL $what"
        printf '%s\n' "$out" | sed 's/^/    /'
        failures=$((failures + 1))
    fi
}

shopt -s nullglob
cd "$root"
workflows=(.github/workflows/*.yml .github/workflows/*.yaml)
for wf in "${workflows[@]}"; do
    check "action-validator $wf" "$bin/action-validator" "$wf"
done
if [ -d .github ]; then
    check "yamllint .github/" yamllint --strict -c "$self/.yamllint" .github/
fi
if [ -f Dockerfile ]; then
    # dockerfile-utils prints diagnostics but only errors change its status.
    check "dockerfile-utils Dockerfile" "$bin/dockerfile-utils" lint Dockerfile
fi
if [ -d src ] && [ -d include/qr ]; then
    # The layer table in docs/architecture.md against every #include.
    check "layers (docs/architecture.md)" python3 "$self/scripts/check-layers.py" "$root"
fi
if [ -d cookbooks ]; then
    for cb in cookbooks/*/; do
        check "cookbook ${cb%/}" "$self/scripts/lint-cookbook.sh" "$root/$cb"
    done
fi
scripts=(scripts/*.sh tests/integration/*.sh)
[ -f .ci/run ] && scripts+=(.ci/run)
for s in "${scripts[@]}"; do
    check "shellcheck $s" shellcheck -x -P SCRIPTDIR "$s"
done

if [ "$failures" -gt 0 ]; then
    echo "lint: $failures check(s) failed"
    exit 1
fi
echo "lint: all checks passed"
