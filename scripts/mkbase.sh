#!/usr/bin/env bash
# Builds the Debian trixie base image for the quire container without pulling
# from a registry: debootstrap a minbase rootfs, slim it the way Debian's
# official -slim images are slimmed, and `podman import` it under the name the
# Dockerfile's FROM uses. Reuses the image when it already exists, and the
# rootfs (kept outside the checkout) when only the image is missing.
#   scripts/mkbase.sh [--force]
# Env: QR_BASE_IMAGE (default docker.io/library/debian:trixie-slim),
#      QR_BASE_SUITE (trixie), QR_BASE_MIRROR (http://deb.debian.org/debian),
#      QR_IMAGE_CACHE (${XDG_CACHE_HOME:-$HOME/.cache}/quire-image).
set -euo pipefail

image="${QR_BASE_IMAGE:-docker.io/library/debian:trixie-slim}"
suite="${QR_BASE_SUITE:-trixie}"
mirror="${QR_BASE_MIRROR:-http://deb.debian.org/debian}"
cache="${QR_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/quire-image}"
rootfs="$cache/$suite-rootfs"
force=0
for arg in "$@"; do
    case "$arg" in
    --force) force=1 ;;
    *) echo "mkbase.sh: unknown option $arg" >&2; exit 2 ;;
    esac
done

if [ "$force" -eq 0 ] && podman image exists "$image"; then
    echo "mkbase: $image exists, reusing it"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "mkbase: debootstrap needs root (run under sudo)" >&2
    exit 1
fi
for tool in debootstrap podman tar; do
    command -v "$tool" >/dev/null || { echo "mkbase: $tool missing (scripts/setup.sh --image)" >&2; exit 1; }
done

start=$(date +%s)
if [ "$force" -eq 1 ] || [ ! -f "$rootfs/.quire-complete" ]; then
    rm -rf "$rootfs"
    mkdir -p "$cache/debs" "$rootfs"
    echo "mkbase: debootstrap --variant=minbase $suite into $rootfs"
    debootstrap --variant=minbase --cache-dir="$cache/debs" "$suite" "$rootfs" "$mirror"

    # Same slimming as Debian's official -slim images (debuerreotype-slimify):
    # later apt installs skip docs, man pages and translations, but keep the
    # copyright files (the licences of what ships in the image).
    cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
CFG
    find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
    find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
    rm -rf "$rootfs"/usr/share/{man,groff,info,lintian,linda,locale}/*

    # deb822 sources with updates and security, like the official image.
    rm -f "$rootfs/etc/apt/sources.list"
    cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<SRC
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin \
        "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/log/*.log
    touch "$rootfs/.quire-complete"
fi

echo "mkbase: importing $rootfs as $image"
tar --numeric-owner --exclude=./.quire-complete -C "$rootfs" -c . |
    podman import -q --change 'CMD ["bash"]' - "$image" >/dev/null
echo "mkbase: $image ready in $(($(date +%s) - start))s"
