/*
 * JSON renderings of what the pipeline reports, shared by the CLI's --json
 * output and (later) the worker's failure entries and callbacks. Every
 * function returns a new reference (json_decref it) or NULL when out of memory.
 */
#ifndef QR_REPORT_H
#define QR_REPORT_H

#include <jansson.h>

#include "qr/error.h"
#include "qr/compress.h"
#include "qr/warn.h"

/* [{"code","stage","context","message"}...]; NULL list gives []. */
json_t *qr_warnings_json(const qr_warnings *w);
/* {"id","class","stage","message","context","transient"} */
json_t *qr_error_json(const qr_error *err);
/* The compress report, including "input"/"output" paths when non-NULL. */
json_t *qr_compress_report_json(const qr_compress_report *r, const char *in_path,
                                const char *out_path);

/*
 * Inspects a book without writing anything: format and version, identifier,
 * title, layout, spine, resources by type with sizes, images with their
 * dimensions, fonts and their obfuscation, navigation and page list, and every
 * warning the pipeline would record (image probes included). *out receives
 * the report object. When the book cannot be processed the function still
 * fills *out with what is known plus an "error" member, and returns the error
 * code (so a DRM-protected book reports drm-protected).
 */
int qr_inspect_book(json_t **out, const char *path, const qr_limits *limits, qr_error *err) QR_WUR;

#endif
