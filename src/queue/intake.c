/*
 * The HTTP intake's keys (qr/resque.h, "intake"): a job submitted through
 * `quire serve` is pushed exactly as qr_resque_push does (SADD queues, RPUSH
 * the payload) in the same Lua script that claims its idempotency key and
 * writes its record, so a job is either queued with its record or not at all.
 */
#include <stdlib.h>
#include <string.h>

#include "resque_int.h"

#define STAGE QR_RESQUE_STAGE

/*
 * KEYS: idempotency key, <ns>:queues, <ns>:queue:<q>, record key, book key.
 * ARGV: job id, queue, payload, record JSON, ttl seconds.
 * Returns {1, job id} when pushed, {0, first job id} when the key was taken.
 */
static const char SUBMIT[] = "local first = redis.call('GET', KEYS[1])\n"
                             "if first then return {0, first} end\n"
                             "redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[5])\n"
                             "redis.call('SADD', KEYS[2], ARGV[2])\n"
                             "redis.call('RPUSH', KEYS[3], ARGV[3])\n"
                             "redis.call('SET', KEYS[4], ARGV[4], 'EX', ARGV[5])\n"
                             "redis.call('SET', KEYS[5], ARGV[1], 'EX', ARGV[5])\n"
                             "return {1, ARGV[1]}\n";

int qr_resque_intake_first(char **job_id, qr_resque *r, const char *idem, qr_error *err)
{
    char key[QR_RESQUE_MAX_KEY];
    redisReply *rep = NULL;
    int rc;
    *job_id = NULL;
    if ((rc = qr_resque__key(key, r, err, "quire:api:idem:%s", idem)) < 0)
        return rc;
    const char *argv[] = {"GET", key};
    if ((rc = qr_resque__cmd(&rep, r, 2, argv, NULL, err)) < 0)
        return rc;
    if (rep->type == REDIS_REPLY_STRING && !(*job_id = strdup(rep->str)))
        rc = qr_resque__oom(err);
    freeReplyObject(rep);
    return rc;
}

int qr_resque_intake_submit(char **job_id, bool *pushed, qr_resque *r, const char *idem,
                            const char *queue, const char *payload, const char *new_id,
                            const char *book_id, long ttl_s, qr_error *err)
{
    char kidem[QR_RESQUE_MAX_KEY], kqueues[QR_RESQUE_MAX_KEY], kqueue[QR_RESQUE_MAX_KEY];
    char krec[QR_RESQUE_MAX_KEY], kbook[QR_RESQUE_MAX_KEY], ttl[32];
    redisReply *rep = NULL;
    char *rec = NULL;
    int rc;
    *job_id = NULL;
    *pushed = false;
    if ((rc = qr_resque__key(kidem, r, err, "quire:api:idem:%s", idem)) < 0 ||
        (rc = qr_resque__key(kqueues, r, err, "queues")) < 0 ||
        (rc = qr_resque__key(kqueue, r, err, "queue:%s", queue)) < 0 ||
        (rc = qr_resque__key(krec, r, err, "quire:api:job:%s", new_id)) < 0 ||
        (rc = qr_resque__key(kbook, r, err, "quire:api:book:%s", book_id)) < 0)
        return rc;
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:I}", "job_id", new_id, "book_id", book_id, "queue",
                          queue, "payload", payload, "created", (json_int_t)qr_resque__now(r));
    rec = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!rec)
        return qr_resque__oom(err);
    snprintf(ttl, sizeof(ttl), "%ld", ttl_s > 0 ? ttl_s : 86400);
    const char *argv[3 + 5 + 5] = {NULL,  NULL,   NULL,  kidem,   kqueues, kqueue, krec,
                                   kbook, new_id, queue, payload, rec,     ttl};
    size_t lens[13];
    for (size_t i = 0; i < 13; i++)
        lens[i] = (size_t)-1;
    rc = qr_resque__eval(&rep, r, SUBMIT, 5, 13, argv, lens, err);
    free(rec);
    if (rc < 0)
        return rc;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
        rep->element[0]->type != REDIS_REPLY_INTEGER ||
        rep->element[1]->type != REDIS_REPLY_STRING) {
        freeReplyObject(rep);
        return qr_error_set(err, QR_ERR_REDIS_UNAVAILABLE, STAGE, "unexpected submit reply");
    }
    *pushed = rep->element[0]->integer == 1;
    if (!(*job_id = strdup(rep->element[1]->str)))
        rc = qr_resque__oom(err);
    freeReplyObject(rep);
    return rc;
}

static int get_string(char **out, qr_resque *r, const char *key, qr_error *err)
{
    redisReply *rep = NULL;
    int rc;
    *out = NULL;
    const char *argv[] = {"GET", key};
    if ((rc = qr_resque__cmd(&rep, r, 2, argv, NULL, err)) < 0)
        return rc;
    if (rep->type == REDIS_REPLY_STRING && !(*out = strdup(rep->str)))
        rc = qr_resque__oom(err);
    freeReplyObject(rep);
    return rc;
}

int qr_resque_intake_job(json_t **out, qr_resque *r, const char *job_id, qr_error *err)
{
    char key[QR_RESQUE_MAX_KEY], *s = NULL;
    int rc;
    *out = NULL;
    if ((rc = qr_resque__key(key, r, err, "quire:api:job:%s", job_id)) < 0 ||
        (rc = get_string(&s, r, key, err)) < 0)
        return rc;
    if (s) {
        *out = json_loads(s, 0, NULL);
        free(s);
        if (*out && !json_is_object(*out)) {
            json_decref(*out);
            *out = NULL;
        }
    }
    return 0;
}

int qr_resque_intake_book(char **job_id, qr_resque *r, const char *book_id, qr_error *err)
{
    char key[QR_RESQUE_MAX_KEY];
    int rc;
    *job_id = NULL;
    if ((rc = qr_resque__key(key, r, err, "quire:api:book:%s", book_id)) < 0)
        return rc;
    return get_string(job_id, r, key, err);
}

int qr_resque_intake_queued(bool *queued, qr_resque *r, const char *queue, const char *payload,
                            qr_error *err)
{
    char key[QR_RESQUE_MAX_KEY];
    redisReply *rep = NULL;
    int rc;
    *queued = false;
    if ((rc = qr_resque__key(key, r, err, "queue:%s", queue)) < 0)
        return rc;
    const char *argv[] = {"LPOS", key, payload};
    if ((rc = qr_resque__cmd(&rep, r, 3, argv, NULL, err)) < 0)
        return rc;
    *queued = rep->type == REDIS_REPLY_INTEGER;
    freeReplyObject(rep);
    return 0;
}

int qr_resque_intake_cancel(bool *removed, qr_resque *r, const char *queue, const char *payload,
                            qr_error *err)
{
    char key[QR_RESQUE_MAX_KEY];
    redisReply *rep = NULL;
    int rc;
    *removed = false;
    if ((rc = qr_resque__key(key, r, err, "queue:%s", queue)) < 0)
        return rc;
    const char *argv[] = {"LREM", key, "1", payload};
    if ((rc = qr_resque__cmd(&rep, r, 4, argv, NULL, err)) < 0)
        return rc;
    *removed = rep->type == REDIS_REPLY_INTEGER && rep->integer > 0;
    freeReplyObject(rep);
    return 0;
}

int qr_resque_intake_nonce(bool *fresh, qr_resque *r, const char *nonce, long ttl_s, qr_error *err)
{
    char key[QR_RESQUE_MAX_KEY], ttl[32];
    redisReply *rep = NULL;
    int rc;
    *fresh = false;
    if ((rc = qr_resque__key(key, r, err, "quire:api:sig:%s", nonce)) < 0)
        return rc;
    snprintf(ttl, sizeof(ttl), "%ld", ttl_s > 0 ? ttl_s : 1);
    const char *argv[] = {"SET", key, "1", "NX", "EX", ttl};
    if ((rc = qr_resque__cmd(&rep, r, 6, argv, NULL, err)) < 0)
        return rc;
    *fresh = rep->type == REDIS_REPLY_STATUS;
    freeReplyObject(rep);
    return 0;
}

