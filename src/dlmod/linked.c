/*
 * The "make sure it is loaded" calls where the libraries are linked (the
 * static library that tests and fuzzers use): nothing to load. The `quire`
 * binary loads libcrypto (where SHA-256 needs it), libcurl, libzip and
 * libxml2 on first use instead (src/dlmod/, docs/internals/dlmod.md).
 */
#include "qr/crypt.h"
#include "qr/epub.h"
#include "qr/http.h"

int qr_http_ready(qr_error *err)
{
    (void)err;
    return 0;
}

int qr_epub_zip_ready(qr_error *err)
{
    (void)err;
    return 0;
}

int qr_epub_xml_ready(qr_error *err)
{
    (void)err;
    return 0;
}

int qr_sha256_ready(qr_error *err)
{
    (void)err;
    return 0;
}
