/* A real redis-server for unit tests, on a free loopback port (redis_server.c). */
#ifndef QR_TEST_REDIS_SERVER_H
#define QR_TEST_REDIS_SERVER_H

#include <sys/types.h>

#include <hiredis/hiredis.h>

typedef struct qr_test_redis {
    pid_t pid;
    int port;
    char *dir;         /* its data directory (AOF, log) */
    redisContext *raw; /* the test's own client, for raw assertions; NULL while stopped */
} qr_test_redis;

/*
 * A server in a fresh directory on a free 127.0.0.1 port, with AOF and
 * fsync always, so a restart keeps the data; started and answering PING.
 * NULL when redis-server is not installed (the caller skips).
 */
qr_test_redis *qr_test_redis_new(void);
/* Starts the server again on the same port and directory; fails the test if it does not answer. */
void qr_test_redis_start(qr_test_redis *s);
/* Kills the server (SIGKILL) and waits for it; its data stays in the AOF. */
void qr_test_redis_kill(qr_test_redis *s);
/* Kills the server, removes its directory and frees `s`. NULL-safe. */
void qr_test_redis_free(qr_test_redis *s);
/* A TCP port that was free on 127.0.0.1 a moment ago. */
int qr_test_free_port(void);

#endif
