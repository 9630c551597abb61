# shellcheck shell=bash
# Podman helpers for the tests that install quire's package and converge its
# cookbook in containers (test_package.sh, test_cookbook_converge.sh).
# Sourced after lib.sh. Every image and package is built once per source tree
# and reused by the next test (a lock makes tests running at once wait for
# each other rather than build twice): CI's time is the budget.
#
#   qr_podman_require            skip (77) where podman cannot run here
#   qr_pod ARGS...               podman with the runtime and flags this machine needs
#   qr_base SUITE                the debootstrap base image of SUITE (scripts/mkbase.sh)
#   qr_image NAME SUITE PKGS...  an image FROM the base with PKGS installed (CMD /sbin/init
#                                when NAME ends in -systemd); prints its name
#   qr_deb SUITE                 builds quire's .deb for SUITE (on this machine when it runs
#                                SUITE, else in a build container) and prints its path

QR_POD_CACHE="${QR_POD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/quire-image}"

qr_podman_require() {
    command -v podman >/dev/null || qr_skip "podman is not installed (scripts/setup.sh --image installs it)"
    command -v debootstrap >/dev/null || qr_skip "debootstrap is not installed (scripts/setup.sh --image)"
    [[ "$(id -u)" == 0 ]] || qr_skip "the container tests need root (rootful podman, debootstrap)"
    mkdir -p "$QR_POD_CACHE"
}

# podman here runs rootful with runc: rlimits above the host's must be set explicitly, and host
# networking avoids slirp/CNI (the tests reach a redis-server on the host's loopback).
qr_pod() {
    local sub=$1
    shift
    case "$sub" in
    run) podman --runtime runc run --ulimit nofile=4096:4096 --ulimit nproc=4096:4096 --network=host "$@" ;;
    *) podman --runtime runc "$sub" "$@" ;;
    esac
}

# qr_locked NAME CMD...: runs CMD under an exclusive lock (one builder at a time).
qr_locked() {
    local name=$1
    shift
    (
        flock -w 3600 9 || qr_die "waited an hour for the lock $name"
        "$@"
    ) 9>"$QR_POD_CACHE/$name.lock"
}

qr_base() {
    local suite=$1 image="docker.io/library/debian:$1-slim"
    if ! podman image exists "$image"; then
        qr_locked "base-$suite" env QR_BASE_SUITE="$suite" QR_BASE_IMAGE="$image" \
            "$QR_SRCDIR/scripts/mkbase.sh" >&2 || qr_die "scripts/mkbase.sh for $suite failed"
    fi
    echo "$image"
}

qr_image() {
    local name=$1 suite=$2
    shift 2
    local base
    base="$(qr_base "$suite")"
    local tag
    tag="$(printf '%s\n' "$base" "$@" | sha256sum | cut -c1-12)"
    local image="localhost/quire-test-$name:$suite-$tag"
    if ! podman image exists "$image"; then
        local ctx
        ctx="$(mktemp -d)"
        {
            echo "FROM $base"
            # The -slim bases skip /usr/share/{doc,man,lintian}: lintian needs its own files.
            echo "RUN rm -f /etc/dpkg/dpkg.cfg.d/docker && apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $* && rm -rf /var/lib/apt/lists/*"
            [[ "$name" == *-systemd ]] && echo 'CMD ["/sbin/init"]'
        } >"$ctx/Containerfile"
        qr_locked "image-$name-$suite" podman build --isolation=chroot --format docker -q -t "$image" "$ctx" \
            >"$ctx/build.log" 2>&1 || { cat "$ctx/build.log" >&2; qr_die "building $image failed"; }
        rm -rf "$ctx"
    fi
    echo "$image"
}

# The packages debian/control's Build-Depends names (first alternatives, no versions).
qr_build_depends() {
    awk '/^Build-Depends:/ {on = 1; sub(/^Build-Depends:/, "")} on && /^[A-Z]/ && !/^Build-Depends/ {on = 0} on {print}' \
        "$QR_SRCDIR/debian/control" | tr ',' '\n' | sed 's/(.*)//; s/|.*//; s/^ *//; s/ *$//' |
        grep -v '^$' | sed 's/^debhelper-compat$/debhelper/' | tr '\n' ' '
}

# A hash of what goes into the package (tracked and untracked-but-not-ignored files): a change to
# a test or a document does not rebuild it.
qr_source_hash() {
    (cd "$QR_SRCDIR" && git ls-files -z --cached --others --exclude-standard -- \
        src include cmake CMakeLists.txt debian packaging scripts/package.sh | sort -z |
        xargs -0 sha256sum 2>/dev/null | sha256sum | cut -c1-16)
}

qr_deb() {
    local suite=$1 hash dir
    hash="$(qr_source_hash)"
    dir="$QR_POD_CACHE/packages/$suite-$hash"
    qr_locked "deb-$suite" _qr_build_deb "$suite" "$dir" || qr_die "building the $suite package failed"
    ls "$dir"/quire_*.deb
}

_qr_build_deb() {
    local suite=$1 dir=$2 here
    if ls "$dir"/quire_*.deb >/dev/null 2>&1; then
        return 0
    fi
    mkdir -p "$dir"
    here="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
    if [[ "$here" == "$suite" ]]; then
        "$QR_SRCDIR/scripts/package.sh" "$dir" >"$dir/build.log" 2>&1 || { cat "$dir/build.log" >&2; return 1; }
        return 0
    fi
    # Another release: build in a container of that release, from a clean copy of the sources.
    local image src commit
    # shellcheck disable=SC2046 # one word per package
    image="$(qr_image debbuild "$suite" build-essential dpkg-dev lintian file $(qr_build_depends))"
    src="$(mktemp -d)"
    (cd "$QR_SRCDIR" && git ls-files -z --cached --others --exclude-standard |
        xargs -0 cp --parents -t "$src" 2>/dev/null) || true
    commit="$(git -C "$QR_SRCDIR" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
    qr_pod run --rm -v "$src:/src:ro" -v "$dir:/out" -e QR_COMMIT="$commit" "$image" \
        bash -c 'cp -a /src /tmp/quire && cd /tmp/quire && rm -rf .git && scripts/package.sh /out' \
        >"$dir/build.log" 2>&1 || { cat "$dir/build.log" >&2; rm -rf "$src"; return 1; }
    rm -rf "$src"
}
