/*
 * qr_http_ready where libcurl is linked (the static library that tests and
 * fuzzers use): nothing to load. The `quire` binary loads libcurl on first
 * use instead (curl_load.c, docs/internals/curlmod.md).
 */
#include "qr/http.h"

int qr_http_ready(qr_error *err)
{
    (void)err;
    return 0;
}
