/*
 * Fuzzes the SSRF guard's pure parts: the input is "allowlist\naddress\nurl";
 * qr_net_allow_parse, qr_net_address_allowed under the parsed list (and
 * under the default policy), and qr_http_redact_url.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qr/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), *parts[3] = {"", "", ""};
    char **allow = NULL;
    size_t nallow = 0;
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    char *p = text;
    for (int i = 0; i < 3 && p; i++) {
        parts[i] = p;
        p = strchr(p, '\n');
        if (p && i < 2)
            *p++ = 0;
    }
    qr_net_policy strict = QR_NET_POLICY_INIT;
    (void)qr_net_address_allowed(&strict, parts[1]);
    if (qr_net_allow_parse(&allow, &nallow, parts[0], NULL) == 0) {
        qr_net_policy policy = {false, (const char *const *)allow, nallow};
        (void)qr_net_address_allowed(&policy, parts[1]);
    }
    qr_net_allow_free(allow, nallow);
    char *r = qr_http_redact_url(parts[2]);
    /* Redaction never lengthens a URL beyond percent-encoding its control bytes. */
    if (r && strlen(r) > 3 * strlen(parts[2]))
        abort();
    free(r);
    free(text);
    return 0;
}
