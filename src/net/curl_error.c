/*
 * The one translation of libcurl results into quire's errors, as the
 * libvips and qpdf adapters do for theirs: which codes are worth another
 * attempt, and which id a failure that stops the transfer becomes.
 */
#include <curl/curl.h>

#include "net/net_internal.h"

bool qr_net__curl_transient(int code)
{
    switch ((CURLcode)code) {
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2_STREAM:
        return true;
    default:
        return false;
    }
}

int qr_error_from_curl(qr_error *err, int code, const qr_net__curl_failure *f)
{
    CURLcode c = (CURLcode)code;
    switch (c) {
    case CURLE_OUT_OF_MEMORY:
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "net", "%s: out of memory", f->what);
    case CURLE_URL_MALFORMAT:
        return qr_error_set_cause(err, QR_ERR_INVALID_ARGUMENT, code, "net", "%s: malformed URL",
                                  f->what);
    case CURLE_UNSUPPORTED_PROTOCOL:
        return qr_error_set_cause(err, QR_ERR_SOURCE_FORBIDDEN, code, "net",
                                  "%s: protocol not allowed", f->what);
    default:
        break;
    }
    if (!f->last)
        return qr_error_set_cause(err, QR_ERR_FETCH_FAILED, code, "net",
                                  "%s: %s (attempt %u, not retried)", f->what, f->reason,
                                  f->attempt);
    if (c == CURLE_OPERATION_TIMEDOUT)
        return qr_error_set_cause(err, QR_ERR_TIMEOUT, code, "net",
                                  "%s: %s after %u attempts (deadline %.1f s, stall %.0f s)",
                                  f->what, f->reason, f->attempt, f->timeout_s, f->stall_s);
    return qr_error_set_cause(err, QR_ERR_FETCH_FAILED, code, "net", "%s: %s after %u attempts",
                              f->what, f->reason, f->attempt);
}
