/*
 * quire's reliability on top of Resque's keys: atomic reservation into a
 * per-worker processing list, recording a result before forgetting the job,
 * giving jobs back, the sweep of dead workers and the poison-pill counter.
 * Each step that moves a job is one Lua script, so no crash or lost
 * connection between two commands can lose it (docs/internals/queue.md).
 */
#include "queue/resque_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define STAGE QR_RESQUE_STAGE

/*
 * KEYS[1] processing index; KEYS[2..n+1] queues; KEYS[n+2..2n+1] processing lists.
 * ARGV[1] n; ARGV[2..n+1] queue names; ARGV[n+2..2n+1] index members.
 * Returns {queue, payload, resumed} or nil.
 */
static const char reserve_lua[] = "local n = tonumber(ARGV[1])\n"
                                  "for i = 1, n do\n"
                                  "  local p = redis.call('LINDEX', KEYS[1 + n + i], 0)\n"
                                  "  if p then return {ARGV[1 + i], p, 1} end\n"
                                  "end\n"
                                  "for i = 1, n do\n"
                                  "  local p = redis.call('LPOP', KEYS[1 + i])\n"
                                  "  if p then\n"
                                  "    redis.call('RPUSH', KEYS[1 + n + i], p)\n"
                                  "    redis.call('SADD', KEYS[1], ARGV[1 + n + i])\n"
                                  "    return {ARGV[1 + i], p, 0}\n"
                                  "  end\n"
                                  "end\n"
                                  "return false\n";

/*
 * KEYS: 1 processing, 2 worker:<id>, 3 stat:processed, 4 stat:processed:<id>,
 * 5 attempts, 6 index, 7 failed, 8 stat:failed, 9 stat:failed:<id>,
 * 10 quire:processed (per-queue done counters, read by the fleet's metrics).
 * ARGV: 1 payload, 2 failure JSON or "", 3 index member, 4 queue.
 * Returns 1 when recorded, 0 when the job was no longer ours.
 */
static const char done_lua[] =
    "redis.call('DEL', KEYS[2])\n"
    "if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return 0 end\n"
    "if ARGV[2] ~= '' then\n"
    "  redis.call('RPUSH', KEYS[7], ARGV[2])\n"
    "  redis.call('INCRBY', KEYS[8], 1)\n"
    "  redis.call('INCRBY', KEYS[9], 1)\n"
    "end\n"
    "redis.call('INCRBY', KEYS[3], 1)\n"
    "redis.call('INCRBY', KEYS[4], 1)\n"
    "redis.call('HINCRBY', KEYS[10], ARGV[4], 1)\n"
    "redis.call('HDEL', KEYS[5], redis.sha1hex(ARGV[1]))\n"
    "if redis.call('LLEN', KEYS[1]) == 0 then redis.call('SREM', KEYS[6], ARGV[3]) end\n"
    "return 1\n";

/*
 * KEYS: 1 processing, 2 queue, 3 attempts, 4 queues set, 5 failed, 6 index, 7 worker:<owner>.
 * ARGV: 1 payload, 2 queue name, 3 max attempts (0: do not count), 4 failure JSON,
 *       5 index member, 6 "tail" (sweep: the payload must still be the tail) or "any".
 * Returns -1 when the payload is not where expected, 0 requeued at the head, 1 poisoned.
 */
static const char recover_lua[] =
    "if ARGV[6] == 'tail' then\n"
    "  if redis.call('LINDEX', KEYS[1], -1) ~= ARGV[1] then return -1 end\n"
    "  redis.call('RPOP', KEYS[1])\n"
    "elseif redis.call('LREM', KEYS[1], -1, ARGV[1]) == 0 then\n"
    "  return -1\n"
    "end\n"
    "local res = 0\n"
    "local max = tonumber(ARGV[3])\n"
    "if max > 0 then\n"
    "  local h = redis.sha1hex(ARGV[1])\n"
    "  if redis.call('HINCRBY', KEYS[3], h, 1) >= max then\n"
    "    redis.call('HDEL', KEYS[3], h)\n"
    "    redis.call('RPUSH', KEYS[5], ARGV[4])\n"
    "    res = 1\n"
    "  end\n"
    "end\n"
    "if res == 0 then\n"
    "  redis.call('LPUSH', KEYS[2], ARGV[1])\n"
    "  redis.call('SADD', KEYS[4], ARGV[2])\n"
    "end\n"
    "redis.call('DEL', KEYS[7])\n"
    "if redis.call('LLEN', KEYS[1]) == 0 then redis.call('SREM', KEYS[6], ARGV[5]) end\n"
    "return res\n";

static int need_id(const qr_resque *r, qr_error *err)
{
    if (!r->id)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE,
                            "no worker identity (call qr_resque_set_worker)");
    return 0;
}

void qr_resque_job_free(qr_resque_job *job)
{
    if (!job)
        return;
    free(job->queue);
    free(job->payload);
    free(job);
}

/* SET worker:<id> {"queue","run_at","payload"} as Worker#working_on writes it. */
static int set_working(qr_resque *r, const qr_resque_job *job, qr_error *err)
{
    char key[QR_RESQUE_MAX_KEY], run_at[64];
    char *val = NULL;
    int rc;
    qr_resque__fmt_run_at(run_at, sizeof(run_at), qr_resque__now(r));
    json_t *p = json_loadb(job->payload, job->payload_len, 0, NULL);
    if (!p)
        p = json_stringn(job->payload, job->payload_len);
    json_t *o = json_pack("{s:s, s:s, s:o?}", "queue", job->queue, "run_at", run_at, "payload", p);
    if (o)
        val = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!val)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, STAGE,
                            "cannot build the worker value (out of memory or invalid UTF-8)");
    if ((rc = qr_resque__key(key, r, err, "worker:%s", r->id)) == 0) {
        const char *argv[] = {"SET", key, val};
        rc = qr_resque__cmdv(r, err, 3, argv);
    }
    free(val);
    return rc;
}

/*
 * KEYS: 1 this worker's processing list for the job's queue, 2 the index,
 * 3 the job's queue. ARGV: 1 payload, 2 index member, 3 the namespace prefix
 * ("<ns>:"). Puts the job back in the processing list only when it is
 * nowhere else: not in its queue, not in any processing list (a sweeper that
 * took it from a worker it thought dead has handed it on). Returns 1 when
 * restored.
 */
static const char restore_lua[] =
    "if redis.call('LPOS', KEYS[1], ARGV[1]) then return 0 end\n"
    "if redis.call('LPOS', KEYS[3], ARGV[1]) then return 0 end\n"
    "for _, m in ipairs(redis.call('SMEMBERS', KEYS[2])) do\n"
    "  if redis.call('LPOS', ARGV[3] .. 'quire:processing:' .. m, ARGV[1]) then return 0 end\n"
    "end\n"
    "redis.call('RPUSH', KEYS[1], ARGV[1])\n"
    "redis.call('SADD', KEYS[2], ARGV[2])\n"
    "return 1\n";

int qr_resque_heartbeat_check(bool *reregistered, qr_resque *r, const qr_resque_job *current,
                              qr_error *err)
{
    char key[QR_RESQUE_MAX_KEY];
    redisReply *rep = NULL;
    int rc;
    *reregistered = false;
    if ((rc = need_id(r, err)) < 0 || (rc = qr_resque__key(key, r, err, "workers")) < 0)
        return rc;
    const char *sis[] = {"SISMEMBER", key, r->id};
    if ((rc = qr_resque__cmd(&rep, r, 3, sis, NULL, err)) < 0)
        return rc;
    bool member = rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
    freeReplyObject(rep);
    if (member)
        return qr_resque_heartbeat(r, err);
    /* Redis lost its data (a restart without persistence, a failover to an empty replica). */
    if ((rc = qr_resque_register(r, err)) < 0)
        return rc;
    *reregistered = true;
    if (!current)
        return 0;
    char k[3][QR_RESQUE_MAX_KEY], member_s[QR_RESQUE_MAX_KEY], prefix[QR_RESQUE_MAX_KEY];
    if ((rc = qr_resque__key(k[0], r, err, "quire:processing:%s:%s", current->queue, r->id)) < 0 ||
        (rc = qr_resque__key(k[1], r, err, "quire:processing")) < 0 ||
        (rc = qr_resque__key(k[2], r, err, "queue:%s", current->queue)) < 0 ||
        (rc = qr_resque__key(prefix, r, err, "%s", "")) < 0)
        return rc;
    snprintf(member_s, sizeof(member_s), "%s:%s", current->queue, r->id);
    const char *argv[9] = {NULL, NULL, NULL, k[0], k[1], k[2], current->payload, member_s, prefix};
    size_t lens[9];
    for (int i = 0; i < 9; i++)
        lens[i] = (size_t)-1;
    lens[6] = current->payload_len;
    rep = NULL;
    rc = qr_resque__eval(&rep, r, restore_lua, 3, 9, argv, lens, err);
    if (rep)
        freeReplyObject(rep);
    if (rc == 0)
        rc = set_working(r, current, err);
    return rc;
}

int qr_resque_reserve(qr_resque_job **out, qr_resque *r, const char *const *queues, size_t nqueues,
                      qr_error *err)
{
    const char **argv = NULL;
    size_t *lens = NULL;
    char *keys = NULL;
    redisReply *rep = NULL;
    qr_resque_job *job = NULL;
    int rc;

    *out = NULL;
    if ((rc = need_id(r, err)) < 0)
        return rc;
    if (nqueues == 0 || nqueues > QR_RESQUE_MAX_QUEUES)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE, "reserve needs 1..%d queues",
                            QR_RESQUE_MAX_QUEUES);
    /*
     * argv: 3 EVAL words, the index key, n queue keys, n processing keys
     * (KEYS), then n, n queue names, n index members (ARGV).
     */
    size_t argc = 5 + 4 * nqueues;
    char nbuf[16];
    argv = calloc(argc, sizeof(*argv));
    lens = calloc(argc, sizeof(*lens));
    keys = malloc((1 + 3 * nqueues) * (size_t)QR_RESQUE_MAX_KEY);
    if (!argv || !lens || !keys) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, STAGE, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < argc; i++)
        lens[i] = (size_t)-1;
    if ((rc = qr_resque__key(keys, r, err, "quire:processing")) < 0)
        goto out;
    argv[3] = keys;
    snprintf(nbuf, sizeof(nbuf), "%zu", nqueues);
    argv[4 + 2 * nqueues] = nbuf;
    for (size_t i = 0; i < nqueues; i++) {
        const char *q = queues[i];
        if (!q || !q[0] || strpbrk(q, ":*!")) {
            rc = qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE,
                              "reserve needs expanded queue names, got \"%s\"", q ? q : "");
            goto out;
        }
        char *qk = keys + (1 + 3 * i) * QR_RESQUE_MAX_KEY;
        char *pk = qk + QR_RESQUE_MAX_KEY, *member = pk + QR_RESQUE_MAX_KEY;
        if ((rc = qr_resque__key(qk, r, err, "queue:%s", q)) < 0 ||
            (rc = qr_resque__key(pk, r, err, "quire:processing:%s:%s", q, r->id)) < 0)
            goto out;
        snprintf(member, QR_RESQUE_MAX_KEY, "%s:%s", q, r->id);
        argv[4 + i] = qk;
        argv[4 + nqueues + i] = pk;
        argv[5 + 2 * nqueues + i] = q;
        argv[5 + 3 * nqueues + i] = member;
    }
    if ((rc = qr_resque__eval(&rep, r, reserve_lua, (int)(1 + 2 * nqueues), (int)argc, argv, lens,
                              err)) < 0)
        goto out;
    if (rep->type != REDIS_REPLY_ARRAY)
        goto out; /* nil: every queue is empty */
    if (rep->elements != 3 || rep->element[0]->type != REDIS_REPLY_STRING ||
        rep->element[1]->type != REDIS_REPLY_STRING) {
        rc = qr_error_set(err, QR_ERR_REDIS_UNAVAILABLE, STAGE, "reserve: unexpected reply");
        goto out;
    }
    job = calloc(1, sizeof(*job));
    if (!job || !(job->queue = strdup(rep->element[0]->str)) ||
        !(job->payload = malloc(rep->element[1]->len + 1))) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, STAGE, "out of memory");
        goto out;
    }
    memcpy(job->payload, rep->element[1]->str, rep->element[1]->len);
    job->payload[rep->element[1]->len] = '\0';
    job->payload_len = rep->element[1]->len;
    job->resumed = rep->element[2]->type == REDIS_REPLY_INTEGER && rep->element[2]->integer == 1;
    /*
     * The job is safe in the processing list already; if this SET fails the
     * next reserve resumes it, so the caller just retries.
     */
    if ((rc = set_working(r, job, err)) < 0)
        goto out;
    *out = job;
    job = NULL;
out:
    qr_resque_job_free(job);
    if (rep)
        freeReplyObject(rep);
    free(keys);
    free(lens);
    free(argv);
    return rc;
}

int qr_resque_done(qr_resque *r, const qr_resque_job *job, const qr_resque_failure *failure,
                   qr_error *err)
{
    char k[10][QR_RESQUE_MAX_KEY], member[QR_RESQUE_MAX_KEY];
    char *fjson = NULL;
    redisReply *rep = NULL;
    int rc;

    if ((rc = need_id(r, err)) < 0)
        return rc;
    if ((rc = qr_resque__key(k[0], r, err, "quire:processing:%s:%s", job->queue, r->id)) < 0 ||
        (rc = qr_resque__key(k[1], r, err, "worker:%s", r->id)) < 0 ||
        (rc = qr_resque__key(k[2], r, err, "stat:processed")) < 0 ||
        (rc = qr_resque__key(k[3], r, err, "stat:processed:%s", r->id)) < 0 ||
        (rc = qr_resque__key(k[4], r, err, "quire:attempts")) < 0 ||
        (rc = qr_resque__key(k[5], r, err, "quire:processing")) < 0 ||
        (rc = qr_resque__key(k[6], r, err, "failed")) < 0 ||
        (rc = qr_resque__key(k[7], r, err, "stat:failed")) < 0 ||
        (rc = qr_resque__key(k[8], r, err, "stat:failed:%s", r->id)) < 0 ||
        (rc = qr_resque__key(k[9], r, err, "quire:processed")) < 0)
        return rc;
    snprintf(member, sizeof(member), "%s:%s", job->queue, r->id);
    if (failure && (rc = qr_resque__failure_json(&fjson, r, job->payload, job->payload_len, failure,
                                                 r->id, job->queue, err)) < 0)
        return rc;
    const char *argv[17];
    size_t lens[17];
    for (int i = 0; i < 10; i++)
        argv[3 + i] = k[i];
    argv[13] = job->payload;
    argv[14] = fjson ? fjson : "";
    argv[15] = member;
    argv[16] = job->queue;
    for (int i = 0; i < 17; i++)
        lens[i] = (size_t)-1;
    lens[13] = job->payload_len;
    rc = qr_resque__eval(&rep, r, done_lua, 10, 17, argv, lens, err);
    if (rep)
        freeReplyObject(rep);
    free(fjson);
    return rc;
}

/* Runs recover_lua for one payload of the processing list of (queue, owner). */
static int recover_one(int *res, qr_resque *r, const char *queue, const char *owner,
                       const char *payload, size_t len, unsigned max_attempts,
                       const qr_resque_failure *poison, bool tail, qr_error *err)
{
    char k[7][QR_RESQUE_MAX_KEY], member[QR_RESQUE_MAX_KEY], max[16], msg[256];
    char *fjson = NULL;
    redisReply *rep = NULL;
    int rc;
    qr_resque_failure dflt = {"Quire::PoisonPill", msg, NULL, 0};

    *res = -1;
    snprintf(msg, sizeof(msg),
             "job was interrupted %u times (its worker died or was stopped each time); "
             "giving up instead of running it again",
             max_attempts);
    if ((rc = qr_resque__key(k[0], r, err, "quire:processing:%s:%s", queue, owner)) < 0 ||
        (rc = qr_resque__key(k[1], r, err, "queue:%s", queue)) < 0 ||
        (rc = qr_resque__key(k[2], r, err, "quire:attempts")) < 0 ||
        (rc = qr_resque__key(k[3], r, err, "queues")) < 0 ||
        (rc = qr_resque__key(k[4], r, err, "failed")) < 0 ||
        (rc = qr_resque__key(k[5], r, err, "quire:processing")) < 0 ||
        (rc = qr_resque__key(k[6], r, err, "worker:%s", owner)) < 0)
        return rc;
    snprintf(member, sizeof(member), "%s:%s", queue, owner);
    snprintf(max, sizeof(max), "%u", max_attempts);
    if (max_attempts > 0 &&
        (rc = qr_resque__failure_json(&fjson, r, payload, len, poison ? poison : &dflt, owner,
                                      queue, err)) < 0)
        return rc;
    const char *argv[16];
    size_t lens[16];
    for (int i = 0; i < 7; i++)
        argv[3 + i] = k[i];
    argv[10] = payload;
    argv[11] = queue;
    argv[12] = max;
    argv[13] = fjson ? fjson : "";
    argv[14] = member;
    argv[15] = tail ? "tail" : "any";
    for (int i = 0; i < 16; i++)
        lens[i] = (size_t)-1;
    lens[10] = len;
    rc = qr_resque__eval(&rep, r, recover_lua, 7, 16, argv, lens, err);
    if (rc == 0 && rep->type == REDIS_REPLY_INTEGER)
        *res = (int)rep->integer;
    if (rep)
        freeReplyObject(rep);
    free(fjson);
    return rc;
}

int qr_resque_release(qr_resque *r, const qr_resque_job *job, unsigned max_attempts,
                      const qr_resque_failure *poison, bool *poisoned, qr_error *err)
{
    int res = -1, rc;
    if (poisoned)
        *poisoned = false;
    if ((rc = need_id(r, err)) < 0 ||
        (rc = recover_one(&res, r, job->queue, r->id, job->payload, job->payload_len, max_attempts,
                          poison, false, err)) < 0)
        return rc;
    if (poisoned)
        *poisoned = res == 1;
    return 0;
}

/*
 * Empties the processing list of (queue, owner) from its tail, so the jobs
 * land at the head of the queue in their original order.
 */
static int recover_list(qr_resque_sweep_stats *st, qr_resque *r, const char *queue,
                        const char *owner, unsigned max_attempts, qr_error *err)
{
    char pk[QR_RESQUE_MAX_KEY];
    int rc;
    if ((rc = qr_resque__key(pk, r, err, "quire:processing:%s:%s", queue, owner)) < 0)
        return rc;
    /* Bounded: every round either moves a job or sees another sweeper move one. */
    for (int round = 0; round < 100000; round++) {
        redisReply *rep = NULL;
        const char *argv[] = {"LINDEX", pk, "-1"};
        if ((rc = qr_resque__cmd(&rep, r, 3, argv, NULL, err)) < 0)
            return rc;
        if (rep->type != REDIS_REPLY_STRING) {
            freeReplyObject(rep);
            break;
        }
        int res = -1;
        rc = recover_one(&res, r, queue, owner, rep->str, rep->len, max_attempts, NULL, true, err);
        freeReplyObject(rep);
        if (rc < 0)
            return rc;
        if (res == 0)
            st->requeued++;
        else if (res == 1)
            st->poisoned++;
    }
    /* An index entry whose list is already empty (a crash between steps) is dropped too. */
    char ik[QR_RESQUE_MAX_KEY], member[QR_RESQUE_MAX_KEY];
    if ((rc = qr_resque__key(ik, r, err, "quire:processing")) < 0)
        return rc;
    snprintf(member, sizeof(member), "%s:%s", queue, owner);
    const char *srem[] = {"SREM", ik, member};
    return qr_resque__cmdv(r, err, 3, srem);
}

/*
 * *dead = `wid` ran on this machine (same host in its id, same machine tag in
 * its info key) and its process no longer exists (qr_resque_set_local).
 */
static int local_dead(bool *dead, qr_resque *r, const char *wid, qr_error *err)
{
    char key[QR_RESQUE_MAX_KEY], *end = NULL;
    redisReply *rep = NULL;
    int rc;
    *dead = false;
    if (!r->machine || !r->alive || !r->id)
        return 0;
    const char *c = strchr(wid, ':');
    size_t hl = c ? (size_t)(c - wid) : 0;
    if (!c || strncmp(r->id, wid, hl) != 0 || r->id[hl] != ':')
        return 0;
    long pid = strtol(c + 1, &end, 10);
    if (end == c + 1 || *end != ':' || pid <= 0)
        return 0;
    if ((rc = qr_resque__key(key, r, err, "quire:worker:%s:info", wid)) < 0)
        return rc;
    const char *get[] = {"GET", key};
    if ((rc = qr_resque__cmd(&rep, r, 2, get, NULL, err)) < 0)
        return rc;
    if (rep->type == REDIS_REPLY_STRING) {
        json_t *o = json_loadb(rep->str, rep->len, 0, NULL);
        const char *m = json_string_value(json_object_get(o, "machine"));
        if (m && strcmp(m, r->machine) == 0)
            *dead = !r->alive(pid, r->alive_ud);
        json_decref(o);
    }
    freeReplyObject(rep);
    return 0;
}

/* Is `wid` alive: registered with a heartbeat younger than prune_after_s (by Redis TIME)? */
static int worker_alive(bool *alive, qr_resque *r, const char *wid, time_t now, long prune_after_s,
                        qr_error *err)
{
    char key[QR_RESQUE_MAX_KEY];
    redisReply *rep = NULL;
    int rc;
    *alive = false;
    if ((rc = qr_resque__key(key, r, err, "workers")) < 0)
        return rc;
    const char *sis[] = {"SISMEMBER", key, wid};
    if ((rc = qr_resque__cmd(&rep, r, 3, sis, NULL, err)) < 0)
        return rc;
    bool registered = rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
    freeReplyObject(rep);
    if (!registered)
        return 0;
    if ((rc = qr_resque__key(key, r, err, "workers:heartbeat")) < 0)
        return rc;
    const char *hget[] = {"HGET", key, wid};
    if ((rc = qr_resque__cmd(&rep, r, 3, hget, NULL, err)) < 0)
        return rc;
    time_t beat;
    if (rep->type == REDIS_REPLY_STRING) {
        /* An unreadable heartbeat is not proof of death: leave that worker alone. */
        *alive = qr_resque__parse_iso8601(&beat, rep->str) != 0 || now - beat <= prune_after_s;
    }
    freeReplyObject(rep);
    bool dead = false;
    if (*alive && (rc = local_dead(&dead, r, wid, err)) < 0)
        return rc;
    if (dead)
        *alive = false;
    return 0;
}

/* Splits an index member "<queue>:<worker id>" in place. */
static bool split_member(char *m, char **queue, char **wid)
{
    char *c = strchr(m, ':');
    if (!c || c == m || !c[1])
        return false;
    *c = '\0';
    *queue = m;
    *wid = c + 1;
    return true;
}

static int sweep_members(qr_resque_sweep_stats *st, qr_resque *r, bool self_only,
                         long prune_after_s, unsigned max_attempts, qr_error *err)
{
    char ik[QR_RESQUE_MAX_KEY];
    redisReply *rep = NULL;
    time_t now = 0;
    int rc;

    if ((rc = qr_resque__key(ik, r, err, "quire:processing")) < 0 ||
        (!self_only && (rc = qr_resque__server_time(&now, r, err)) < 0))
        return rc;
    const char *argv[] = {"SMEMBERS", ik};
    if ((rc = qr_resque__cmd(&rep, r, 2, argv, NULL, err)) < 0)
        return rc;
    for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++) {
        char *queue, *wid;
        if (rep->element[i]->type != REDIS_REPLY_STRING ||
            !split_member(rep->element[i]->str, &queue, &wid))
            continue;
        bool mine = r->id && strcmp(wid, r->id) == 0;
        if (self_only != mine)
            continue;
        if (!self_only) {
            bool alive = true;
            if ((rc = worker_alive(&alive, r, wid, now, prune_after_s, err)) < 0)
                break;
            if (alive)
                continue;
        }
        size_t before = st->requeued + st->poisoned;
        if ((rc = recover_list(st, r, queue, wid, max_attempts, err)) < 0)
            break;
        if (!self_only) {
            if (st->requeued + st->poisoned > before)
                st->dead_workers++;
            if ((rc = qr_resque__forget_worker(r, wid, err)) < 0)
                break;
        }
    }
    freeReplyObject(rep);
    return rc;
}

/*
 * Workers that died while idle hold no processing list, so sweep_members
 * never sees them: forget every other worker whose heartbeat is older than
 * the window, as Ruby Resque's prune_dead_workers does.
 */
static int prune_stale_heartbeats(qr_resque_sweep_stats *st, qr_resque *r, long prune_after_s,
                                  qr_error *err)
{
    char key[QR_RESQUE_MAX_KEY];
    redisReply *rep = NULL;
    time_t now = 0;
    int rc;
    if ((rc = qr_resque__server_time(&now, r, err)) < 0 ||
        (rc = qr_resque__key(key, r, err, "workers:heartbeat")) < 0)
        return rc;
    const char *argv[] = {"HGETALL", key};
    if ((rc = qr_resque__cmd(&rep, r, 2, argv, NULL, err)) < 0)
        return rc;
    for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i + 1 < rep->elements; i += 2) {
        const redisReply *w = rep->element[i], *v = rep->element[i + 1];
        time_t beat;
        if (w->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
            (r->id && strcmp(w->str, r->id) == 0))
            continue;
        /* An unreadable heartbeat is not proof of death: leave that worker alone. */
        if (qr_resque__parse_iso8601(&beat, v->str) != 0 || now - beat <= prune_after_s) {
            bool dead = false;
            if ((rc = local_dead(&dead, r, w->str, err)) < 0)
                break;
            if (!dead)
                continue;
        }
        if ((rc = qr_resque__forget_worker(r, w->str, err)) < 0)
            break;
        st->dead_workers++;
    }
    freeReplyObject(rep);
    return rc;
}

int qr_resque_sweep(qr_resque_sweep_stats *stats, qr_resque *r, long prune_after_s,
                    unsigned max_attempts, qr_error *err)
{
    qr_resque_sweep_stats st = {0, 0, 0};
    if (prune_after_s <= 0)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE, "prune window must be > 0 s");
    int rc = sweep_members(&st, r, false, prune_after_s, max_attempts, err);
    if (rc == 0)
        rc = prune_stale_heartbeats(&st, r, prune_after_s, err);
    if (stats)
        *stats = st;
    return rc;
}

int qr_resque_recover_own(qr_resque_sweep_stats *stats, qr_resque *r, unsigned max_attempts,
                          qr_error *err)
{
    qr_resque_sweep_stats st = {0, 0, 0};
    int rc = need_id(r, err);
    if (rc == 0)
        rc = sweep_members(&st, r, true, 1, max_attempts, err);
    if (stats)
        *stats = st;
    return rc;
}

int qr_resque_unregister(qr_resque *r, qr_error *err)
{
    qr_resque_sweep_stats st = {0, 0, 0};
    int rc;
    if ((rc = need_id(r, err)) < 0 || (rc = sweep_members(&st, r, true, 1, 0, err)) < 0)
        return rc;
    return qr_resque__forget_worker(r, r->id, err);
}
