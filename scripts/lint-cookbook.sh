#!/usr/bin/env bash
# Lints the Chef cookbooks where no Chef tooling installs: `ruby -wc` on every
# Ruby file (a warning fails it too) and Debian's rubocop with the
# cookbook's .rubocop.yml (the core cops cookstyle enables). cookstyle itself,
# with the Chef cops, runs in .github/workflows/cookbooks.yml.
#   scripts/lint-cookbook.sh [COOKBOOK_DIR...]   (default: cookbooks/*/)
# Prints PASS/FAIL per check; exits 1 on any finding, 77 when ruby or
# rubocop is missing (scripts/setup.sh --lint installs them).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
for t in ruby rubocop; do
    command -v "$t" >/dev/null || { echo "lint-cookbook: $t missing (scripts/setup.sh --lint)" >&2; exit 77; }
done
dirs=("$@")
if [ ${#dirs[@]} -eq 0 ]; then
    shopt -s nullglob
    dirs=("$root"/cookbooks/*/)
fi
failures=0
for dir in "${dirs[@]}"; do
    dir="${dir%/}"
    name="cookbooks/$(basename "$dir")"
    bad=()
    while IFS= read -r -d '' f; do
        out="$(ruby -wc "$f" 2>&1)" || true
        [ "$out" = "Syntax OK" ] || bad+=("${f#"$dir"/}: $out")
    done < <(find "$dir" -name '*.rb' -not -path '*/vendor/*' -print0 | sort -z)
    if [ ${#bad[@]} -eq 0 ]; then
        echo "PASS ruby -wc $name"
    else
        echo "FAIL ruby -wc $name"
        printf '    %s\n' "${bad[@]}"
        failures=$((failures + 1))
    fi
    if out="$(cd "$dir" && rubocop --format emacs 2>&1)"; then
        echo "PASS rubocop $name"
    else
        echo "FAIL rubocop $name"
        printf '%s\n' "$out" | sed 's/^/    /'
        failures=$((failures + 1))
    fi
done
[ "$failures" -eq 0 ]
