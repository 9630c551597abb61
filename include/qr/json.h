/*
 * jansson helpers shared by every module that writes JSON (logs, reports,
 * callbacks, failure entries). jansson refuses strings that are not valid
 * UTF-8 (json_string returns NULL and the field would silently vanish), while
 * quire's strings carry publisher file names in any encoding and may be cut
 * in the middle of a sequence by a bounded buffer.
 */
#ifndef QR_JSON_H
#define QR_JSON_H

#include <jansson.h>

/*
 * A new JSON string of `s` in which every byte that does not start a valid
 * UTF-8 sequence (RFC 3629: no overlongs, surrogates or code points above
 * U+10FFFF) becomes '?'. NULL only when out of memory or `s` is NULL.
 */
json_t *qr_json_string(const char *s);

/* qr_json_string(s), or JSON null when `s` is NULL. */
json_t *qr_json_string_or_null(const char *s);

/* The version of the jansson loaded at run time ("2.14"). */
const char *qr_json_library_version(void);

#endif
