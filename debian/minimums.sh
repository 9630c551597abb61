#!/bin/sh
# Prints the Depends that hold quire's own minimum library versions
# (cmake/QrDeps.cmake), naming the packages that provide the libraries the
# built binary and its libvips module link, whatever they are called on this
# release (libvips42 on bookworm, libvips42t64 on trixie ...). libcurl is loaded
# at run time, not linked (docs/internals/curlmod.md): its package is the one
# owning the libcurl.so.4 the dynamic linker would load.
#   debian/minimums.sh debian/quire/usr/bin/quire debian/quire/usr/lib/quire/quire-vips.so
set -eu
bins="$*"
deps=cmake/QrDeps.cmake
min() { sed -n "s/^set($1 \([0-9.]*\))/\1/p" "$deps"; }
out=""
for pair in libvips:QR_MIN_VIPS libqpdf:QR_MIN_QPDF libcurl:QR_MIN_CURL libhiredis:QR_MIN_HIREDIS \
    libsodium:QR_MIN_SODIUM; do
    lib=${pair%%:*}
    var=${pair#*:}
    # shellcheck disable=SC2086 # one argument per file
    if [ "$lib" = libcurl ]; then
        path=$(PATH="$PATH:/sbin:/usr/sbin" ldconfig -p | awk '$1 == "libcurl.so.4" {print $NF; exit}')
    else
        path=$(for b in $bins; do ldd "$b"; done | awk -v l="$lib" '$1 ~ "^" l "[.-]" {print $3; exit}')
    fi
    [ -n "$path" ] || { echo "minimums.sh: none of $bins links $lib (libcurl: ldconfig knows no libcurl.so.4)" >&2; exit 1; }
    real=$(readlink -f "$path")
    pkg=$(dpkg -S "$real" 2>/dev/null | head -n 1 | cut -d: -f1) ||
        pkg=$(dpkg -S "$path" | head -n 1 | cut -d: -f1)
    [ -n "$pkg" ] || { echo "minimums.sh: no package owns $path" >&2; exit 1; }
    out="${out:+$out, }$pkg (>= $(min "$var"))"
done
echo "$out"
