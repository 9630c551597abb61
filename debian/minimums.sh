#!/bin/sh
# Prints the Depends that hold quire's own minimum library versions
# (cmake/QrDeps.cmake), naming the packages that provide the libraries the
# built binary and its libvips module link, whatever they are called on this
# release (libvips42 on bookworm, libvips42t64 on trixie ...). libcurl, libzip,
# libxml2 and libcrypto are loaded at run time, not linked
# (docs/internals/dlmod.md), so dpkg-shlibdeps does not see them: their
# packages are the ones owning the files the dynamic linker would load
# (libcurl.so.4, libzip.so.N, libxml2.so.2, libcrypto.so.3).
#   debian/minimums.sh debian/quire/usr/bin/quire debian/quire/usr/lib/quire/quire-vips.so
set -eu
bins="$*"
deps=cmake/QrDeps.cmake
min() { sed -n "s/^set($1 \([0-9.]*\))/\1/p" "$deps"; }
out=""
for pair in libvips:QR_MIN_VIPS libqpdf:QR_MIN_QPDF libcurl:QR_MIN_CURL libhiredis:QR_MIN_HIREDIS \
    libsodium:QR_MIN_SODIUM libzip:QR_MIN_LIBZIP libxml2:QR_MIN_LIBXML2 libcrypto:QR_MIN_LIBCRYPTO; do
    lib=${pair%%:*}
    var=${pair#*:}
    case "$lib" in
    libcurl | libzip | libxml2 | libcrypto)
        path=$(PATH="$PATH:/sbin:/usr/sbin" ldconfig -p |
            awk -v l="$lib" '$1 ~ "^" l "\\.so\\.[0-9]+$" {print $NF; exit}')
        ;;
    *)
        # shellcheck disable=SC2086 # one argument per file
        path=$(for b in $bins; do ldd "$b"; done | awk -v l="$lib" '$1 ~ "^" l "[.-]" {print $3; exit}')
        ;;
    esac
    [ -n "$path" ] || { echo "minimums.sh: none of $bins links $lib (libcurl, libzip, libxml2, libcrypto: ldconfig knows no LIB.so.N)" >&2; exit 1; }
    real=$(readlink -f "$path")
    pkg=$(dpkg -S "$real" 2>/dev/null | head -n 1 | cut -d: -f1) ||
        pkg=$(dpkg -S "$path" | head -n 1 | cut -d: -f1)
    [ -n "$pkg" ] || { echo "minimums.sh: no package owns $path" >&2; exit 1; }
    out="${out:+$out, }$pkg (>= $(min "$var"))"
done
echo "$out"
