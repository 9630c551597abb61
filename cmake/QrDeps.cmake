# Third-party libraries, found through pkg-config as IMPORTED targets. The
# minimum versions are quire's own: `quire version --check` compares the
# libraries loaded at run time against them (generated qr_minimums.h), and the
# Debian package's Depends carries them (debian/rules).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
set(QR_MIN_LIBZIP 1.7)
set(QR_MIN_LIBXML2 2.9)
set(QR_MIN_VIPS 8.14)
set(QR_MIN_JANSSON 2.13)
set(QR_MIN_SODIUM 1.0.18)
set(QR_MIN_LIBCRYPTO 3.0)
set(QR_MIN_HIREDIS 0.14)
set(QR_MIN_MHD 0.9.71)
set(QR_MIN_CURL 7.88)
set(QR_MIN_QPDF 11.3)
pkg_check_modules(LIBZIP REQUIRED IMPORTED_TARGET libzip>=${QR_MIN_LIBZIP})
pkg_check_modules(LIBXML2 REQUIRED IMPORTED_TARGET libxml-2.0>=${QR_MIN_LIBXML2})
pkg_check_modules(VIPS REQUIRED IMPORTED_TARGET vips>=${QR_MIN_VIPS})
# GLib on its own: Unicode normalisation of EPUB names (src/parse/epub_nfc.c).
pkg_check_modules(GLIB REQUIRED IMPORTED_TARGET glib-2.0)
pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson>=${QR_MIN_JANSSON})
pkg_check_modules(ZLIB REQUIRED IMPORTED_TARGET zlib)
pkg_check_modules(LIBJPEG REQUIRED IMPORTED_TARGET libjpeg)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium>=${QR_MIN_SODIUM})
# SHA-256 of bulk data only (src/crypt/sha256.c): libcrypto runs it on SHA-NI/AVX2.
pkg_check_modules(LIBCRYPTO REQUIRED IMPORTED_TARGET libcrypto>=${QR_MIN_LIBCRYPTO})
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis>=${QR_MIN_HIREDIS})
pkg_check_modules(MHD REQUIRED IMPORTED_TARGET libmicrohttpd>=${QR_MIN_MHD})
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl>=${QR_MIN_CURL})
pkg_check_modules(QPDF REQUIRED IMPORTED_TARGET libqpdf>=${QR_MIN_QPDF})
if(QR_BUILD_TESTS)
    pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka>=1.1)
endif()
