/*
 * Both ends of the child's report to the parent. The child writes JSON
 * lines on a pipe: {"stage":"..."} as it moves through the pipeline, then
 * one {"result":{...}} with either the published package or its qr_error.
 * The parent reads them into a qr_worker_outcome whose qr_error is rebuilt
 * here, once, from the same fields the child wrote; endings the parent
 * decides itself (limits, USR1, crashes, drain) are made here too.
 */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qr/json.h"
#include "qr/log.h"
#include "worker_int.h"

void qr_worker__outcome_init(qr_worker_outcome *oc)
{
    memset(oc, 0, sizeof(*oc));
    qr_error_clear(&oc->err);
}

/*
 * Writes one JSON object as a line; a short write (the parent is gone) is
 * false. Never logs: the child calls it from inside its log sink.
 */
static bool send_json(int fd, json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (!s)
        return false;
    const char *p = s;
    size_t left = strlen(s);
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        p += n;
        left -= (size_t)n;
    }
    bool ok = left == 0 && write(fd, "\n", 1) == 1;
    free(s);
    return ok;
}

bool qr_worker__send_stage(int fd, const char *stage)
{
    json_t *o = json_object();
    bool ok = o && json_object_set_new(o, "stage", qr_json_string(stage)) == 0 && send_json(fd, o);
    json_decref(o);
    return ok;
}

bool qr_worker__send_result(int fd, const qr_process_report *r, const qr_error *err,
                            const char *stage)
{
    json_t *res = json_object();
    json_t *o = res ? json_pack("{s:o}", "result", res) : NULL;
    bool ok = o != NULL;
    if (ok && r) {
        ok =
            json_object_set_new(res, "ok", json_true()) == 0 &&
            json_object_set_new(res, "book_id", qr_json_string(r->book_id)) == 0 &&
            json_object_set_new(res, "revision", qr_json_string(r->revision)) == 0 &&
            json_object_set_new(res, "prefix", qr_json_string(r->prefix)) == 0 &&
            json_object_set_new(res, "already_published", json_boolean(r->already_published)) ==
                0 &&
            json_object_set_new(res, "seconds", json_real(r->t_total)) == 0 &&
            json_object_set_new(res, "t",
                                json_pack("[f,f,f,f,f]", r->t_compress, r->t_positions, r->t_slice,
                                          r->t_encrypt, r->t_publish)) == 0 &&
            json_object_set_new(res, "bytes_in", json_integer((json_int_t)r->source_bytes)) == 0 &&
            json_object_set_new(res, "bytes_out", json_integer((json_int_t)r->sealed_bytes)) == 0 &&
            json_object_set_new(res, "slices", json_integer((json_int_t)r->slices)) == 0;
    } else if (ok) {
        ok = json_object_set_new(res, "ok", json_false()) == 0 &&
             json_object_set_new(res, "id", qr_json_string(err->id ? err->id : "internal")) == 0 &&
             json_object_set_new(res, "message", qr_json_string(err->msg)) == 0 &&
             json_object_set_new(res, "stage", qr_json_string(err->stage ? err->stage : stage)) ==
                 0 &&
             json_object_set_new(res, "context", qr_json_string(err->context)) == 0;
    }
    ok = ok && send_json(fd, o);
    json_decref(o);
    return ok;
}

static void copy_str(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

/* The child's failure as the qr_error it had: same id, stage, message and context. */
static void take_failure(qr_worker_outcome *oc, json_t *res)
{
    const char *id = json_string_value(json_object_get(res, "id"));
    const char *stage = json_string_value(json_object_get(res, "stage"));
    qr_errid errid = qr_errid_from_str(id);
    if (stage)
        copy_str(oc->stage, sizeof(oc->stage), stage);
    qr_error_clear(&oc->err);
    const char *msg = json_string_value(json_object_get(res, "message"));
    qr_error_set(&oc->err, errid == QR_ERR_NONE ? QR_ERR_INTERNAL : errid, oc->stage, "%s",
                 msg ? msg : "");
    const char *ctx = json_string_value(json_object_get(res, "context"));
    if (ctx && *ctx)
        qr_error_set_context(&oc->err, "%s", ctx);
    oc->exception = oc->err.id;
}

static void take_line(qr_worker__pipe *p, qr_worker_outcome *oc)
{
    json_error_t je;
    json_t *o = json_loadb(p->line, p->len, 0, &je);
    if (!json_is_object(o)) {
        json_decref(o);
        return;
    }
    const char *stage = json_string_value(json_object_get(o, "stage"));
    if (stage)
        copy_str(oc->stage, sizeof(oc->stage), stage);
    json_t *res = json_object_get(o, "result");
    if (json_is_object(res)) {
        p->have_result = true;
        oc->ok = json_is_true(json_object_get(res, "ok"));
        if (oc->ok) {
            copy_str(oc->book_id, sizeof(oc->book_id),
                     json_string_value(json_object_get(res, "book_id")));
            copy_str(oc->revision, sizeof(oc->revision),
                     json_string_value(json_object_get(res, "revision")));
            oc->already_published = json_is_true(json_object_get(res, "already_published"));
            oc->child_seconds = json_number_value(json_object_get(res, "seconds"));
            json_t *t = json_object_get(res, "t");
            for (size_t i = 0; i < 5 && i < json_array_size(t); i++)
                oc->t_stage[i] = json_number_value(json_array_get(t, i));
            json_int_t bi = json_integer_value(json_object_get(res, "bytes_in"));
            json_int_t bo = json_integer_value(json_object_get(res, "bytes_out"));
            json_int_t sl = json_integer_value(json_object_get(res, "slices"));
            oc->bytes_in = bi > 0 ? (uint64_t)bi : 0;
            oc->bytes_out = bo > 0 ? (uint64_t)bo : 0;
            oc->slices = sl > 0 ? (size_t)sl : 0;
        } else {
            take_failure(oc, res);
        }
    }
    json_decref(o);
}

bool qr_worker__pipe_read(qr_worker__pipe *p, int fd, qr_worker_outcome *oc)
{
    char buf[4096];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n == 0)
            return false;
        if (n < 0)
            return errno == EAGAIN || errno == EINTR;
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == '\n') {
                if (!p->overflow)
                    take_line(p, oc);
                p->len = 0;
                p->overflow = false;
            } else if (p->len < sizeof(p->line)) {
                p->line[p->len++] = buf[i];
            } else {
                p->overflow = true;
            }
        }
    }
}

void qr_worker__outcome_fail(qr_worker_outcome *oc, qr_errid id, const char *exception,
                             const char *fmt, ...)
{
    va_list ap;
    oc->ok = false;
    qr_error_clear(&oc->err);
    va_start(ap, fmt);
    qr_error_vset(&oc->err, id, oc->stage[0] ? oc->stage : "worker", fmt, ap);
    va_end(ap);
    oc->exception = exception ? exception : oc->err.id;
}
