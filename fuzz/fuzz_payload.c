/* Fuzzes the Resque job payload parser (qr_payload_parse_buffer) and its serialiser. */
#include <stdint.h>
#include <stdlib.h>

#include "qr/payload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    qr_job *job = NULL;
    char *s = NULL;
    if (qr_payload_parse_buffer(&job, (const char *)data, size, NULL, NULL) == 0 &&
        qr_payload_serialize(&s, job, NULL) == 0)
        free(s);
    qr_job_free(job);
    return 0;
}
