/* JSON renderings of reports, warnings and errors (jansson only). */
#include "qr/report.h"

json_t *qr_warnings_json(const qr_warnings *w)
{
    json_t *a = json_array();
    if (!a)
        return NULL;
    for (size_t i = 0; i < qr_warnings_count(w); i++) {
        const qr_warning *x = qr_warnings_get(w, i);
        json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "code", x->code, "stage",
                              x->stage ? x->stage : "", "context", x->context, "message", x->msg);
        if (!o || json_array_append_new(a, o) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

json_t *qr_error_json(const qr_error *err)
{
    if (!err || err->code == 0)
        return json_null();
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:b}", "id", err->id ? err->id : "internal",
                     "class", qr_code_str(err->code), "stage", err->stage ? err->stage : "",
                     "message", err->msg, "context", err->context, "transient",
                     qr_error_is_transient(err));
}

json_t *qr_compress_report_json(const qr_compress_report *r, const char *in_path,
                                const char *out_path)
{
    json_t *types = json_array();
    json_t *o = NULL;
    if (!types)
        return NULL;
    for (size_t i = 0; i < r->ntypes; i++) {
        const qr_type_stats *t = &r->types[i];
        json_t *x = json_pack("{s:s, s:I, s:I, s:I, s:I}", "type", t->type, "count",
                              (json_int_t)t->count, "changed", (json_int_t)t->changed, "bytes_in",
                              (json_int_t)t->bytes_in, "bytes_out", (json_int_t)t->bytes_out);
        if (!x || json_array_append_new(types, x) != 0) {
            json_decref(types);
            return NULL;
        }
    }
    json_t *warnings = qr_warnings_json(r->warnings);
    o = json_pack("{s:s?, s:s?, s:s, s:I, s:I, s:o, s:{s:I, s:I, s:I, s:I}, s:o, s:I, s:i, "
                  "s:f, s:f, s:I}",
                  "input", in_path, "output", out_path, "profile", r->profile->name, "bytes_in",
                  (json_int_t)r->file_bytes_in, "bytes_out", (json_int_t)r->file_bytes_out,
                  "by_type", types, "images", "total", (json_int_t)r->images_total, "changed",
                  (json_int_t)r->images_changed, "kept", (json_int_t)r->images_kept, "failed",
                  (json_int_t)r->images_failed, "warnings", warnings ? warnings : json_array(),
                  "warnings_dropped", (json_int_t)qr_warnings_dropped(r->warnings), "threads",
                  r->threads, "wall_seconds", r->wall_seconds, "image_seconds", r->image_seconds,
                  "peak_rss_bytes", (json_int_t)r->peak_rss_bytes);
    if (o) {
        /* Of "kept": images not even encoded, a trial said the result would not be smaller. */
        json_object_set_new(json_object_get(o, "images"), "estimated",
                            json_integer((json_int_t)r->images_estimated));
        json_object_set_new(o, "format", json_string(qr_format_str(r->format)));
        if (r->format == QR_FORMAT_PDF)
            json_object_set_new(o, "pages", json_integer((json_int_t)r->pages));
        if (r->profile->png_photo_to_jpeg) {
            /* The -jpeg profiles: images renamed, text entries rewritten (docs/profiles.md). */
            json_t *rw = json_array();
            for (size_t i = 0; rw && i < r->nrewrites; i++)
                json_array_append_new(rw, json_pack("{s:s, s:I}", "entry", r->rewrites[i].path,
                                                    "references",
                                                    (json_int_t)r->rewrites[i].refs));
            json_object_set_new(o, "png_to_jpeg", json_integer((json_int_t)r->images_to_jpeg));
            json_object_set_new(o, "rewritten", rw ? rw : json_array());
        }
    }
    return o;
}
