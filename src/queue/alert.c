/*
 * How often alerts go out, fleet-wide (qr/resque.h; the semantics are in
 * docs/operations/monitoring.md, "Alerts"). Each step is one Lua script, so
 * two workers deciding at once see one consistent answer:
 *   <ns>:quire:alert:<book id>        SET NX EX period: one alert per book
 *   <ns>:quire:alert-window           a counter, SET NX EX window then INCR
 *   <ns>:quire:alert-digest           the alerts over the burst (a list)
 *   <ns>:quire:alert-digest-due       when the digest is due (Unix seconds)
 *   <ns>:quire:alert-digest-dropped   alerts over the digest's cap
 * Whichever worker runs qr_resque_alert_digest_take once the due time has
 * passed takes the whole list, atomically, and sends it: no worker owns a
 * digest, so one that dies leaves it to the next.
 */
#include "queue/resque_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STAGE QR_RESQUE_STAGE
/* Entries one digest lists; more are counted. */
#define DIGEST_MAX 100
/* How long an untaken digest is kept (no worker with alerts left). */
#define DIGEST_TTL "604800"

static const char claim_lua[] =
    "if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end\n"
    "redis.call('SET', KEYS[2], '0', 'NX', 'EX', ARGV[2])\n"
    "local n = redis.call('INCR', KEYS[2])\n"
    "if n <= tonumber(ARGV[3]) then return 1 end\n"
    "if redis.call('LLEN', KEYS[3]) < tonumber(ARGV[5]) then\n"
    "  redis.call('RPUSH', KEYS[3], ARGV[4])\n"
    "else\n"
    "  redis.call('INCR', KEYS[5])\n"
    "  redis.call('EXPIRE', KEYS[5], ARGV[6])\n"
    "end\n"
    "redis.call('EXPIRE', KEYS[3], ARGV[6])\n"
    "local ttl = redis.call('TTL', KEYS[2])\n"
    "if ttl < 0 then ttl = 0 end\n"
    "local now = tonumber(redis.call('TIME')[1])\n"
    "redis.call('SET', KEYS[4], tostring(now + ttl), 'NX', 'EX', ARGV[6])\n"
    "return 2\n";

static const char take_lua[] =
    "local due = redis.call('GET', KEYS[2])\n"
    "if not due then return {} end\n"
    "if tonumber(due) > tonumber(redis.call('TIME')[1]) then return {} end\n"
    "local items = redis.call('LRANGE', KEYS[1], 0, -1)\n"
    "local dropped = redis.call('GET', KEYS[3]) or '0'\n"
    "redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])\n"
    "table.insert(items, 1, dropped)\n"
    "return items\n";

int qr_resque_alert_claim(qr_resque_alert_verdict *out, qr_resque *r, const char *book_id,
                          long period_s, long window_s, long burst, const char *entry,
                          qr_error *err)
{
    char k[5][QR_RESQUE_MAX_KEY], a[4][32], cap[16];
    const char *argv[3 + 5 + 6];
    size_t lens[3 + 5 + 6];
    redisReply *rep = NULL;
    int rc;
    *out = QR_RESQUE_ALERT_SUPPRESSED;
    if (!book_id || !*book_id || !entry || period_s <= 0 || window_s <= 0 || burst < 0)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE, "alert: book, entry, period");
    if ((rc = qr_resque__key(k[0], r, err, "quire:alert:%s", book_id)) < 0 ||
        (rc = qr_resque__key(k[1], r, err, "quire:alert-window")) < 0 ||
        (rc = qr_resque__key(k[2], r, err, "quire:alert-digest")) < 0 ||
        (rc = qr_resque__key(k[3], r, err, "quire:alert-digest-due")) < 0 ||
        (rc = qr_resque__key(k[4], r, err, "quire:alert-digest-dropped")) < 0)
        return rc;
    snprintf(a[0], sizeof(a[0]), "%ld", period_s);
    snprintf(a[1], sizeof(a[1]), "%ld", window_s);
    snprintf(a[2], sizeof(a[2]), "%ld", burst);
    snprintf(cap, sizeof(cap), "%d", DIGEST_MAX);
    int n = 3;
    for (int i = 0; i < 5; i++)
        argv[n] = k[i], lens[n++] = (size_t)-1;
    argv[n] = a[0], lens[n++] = (size_t)-1;
    argv[n] = a[1], lens[n++] = (size_t)-1;
    argv[n] = a[2], lens[n++] = (size_t)-1;
    argv[n] = entry, lens[n++] = (size_t)-1;
    argv[n] = cap, lens[n++] = (size_t)-1;
    argv[n] = DIGEST_TTL, lens[n++] = (size_t)-1;
    if ((rc = qr_resque__eval(&rep, r, claim_lua, 5, n, argv, lens, err)) < 0)
        return rc;
    if (rep->type == REDIS_REPLY_INTEGER)
        *out = rep->integer == 1   ? QR_RESQUE_ALERT_SEND
               : rep->integer == 2 ? QR_RESQUE_ALERT_DIGEST
                                   : QR_RESQUE_ALERT_SUPPRESSED;
    freeReplyObject(rep);
    return 0;
}

int qr_resque_alert_digest_take(char ***entries, size_t *n, size_t *dropped, qr_resque *r,
                                qr_error *err)
{
    char k[3][QR_RESQUE_MAX_KEY];
    const char *argv[3 + 3];
    size_t lens[3 + 3];
    redisReply *rep = NULL;
    int rc;
    *entries = NULL;
    *n = 0;
    *dropped = 0;
    if ((rc = qr_resque__key(k[0], r, err, "quire:alert-digest")) < 0 ||
        (rc = qr_resque__key(k[1], r, err, "quire:alert-digest-due")) < 0 ||
        (rc = qr_resque__key(k[2], r, err, "quire:alert-digest-dropped")) < 0)
        return rc;
    for (int i = 0; i < 3; i++)
        argv[3 + i] = k[i], lens[3 + i] = (size_t)-1;
    if ((rc = qr_resque__eval(&rep, r, take_lua, 3, 6, argv, lens, err)) < 0)
        return rc;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements == 0) {
        freeReplyObject(rep);
        return 0;
    }
    char **v = calloc(rep->elements, sizeof(*v));
    if (!v) {
        freeReplyObject(rep);
        return qr_resque__oom(err);
    }
    if (rep->element[0]->type == REDIS_REPLY_STRING)
        *dropped = (size_t)strtoull(rep->element[0]->str, NULL, 10);
    size_t m = 0;
    for (size_t i = 1; i < rep->elements; i++) {
        if (rep->element[i]->type != REDIS_REPLY_STRING)
            continue;
        if (!(v[m] = strdup(rep->element[i]->str))) {
            freeReplyObject(rep);
            qr_resque_strv_free(v);
            return qr_resque__oom(err);
        }
        m++;
    }
    freeReplyObject(rep);
    *entries = v;
    *n = m;
    return 0;
}
