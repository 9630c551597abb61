/* A real redis-server for unit tests (redis_server.h). */
#include "redis_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "qr_test.h"

static char *find_redis_server(void)
{
    const char *path = getenv("PATH");
    char buf[4096];
    if (!path)
        path = "/usr/bin:/bin";
    while (*path) {
        size_t n = strcspn(path, ":");
        snprintf(buf, sizeof(buf), "%.*s/redis-server", (int)n, path);
        if (access(buf, X_OK) == 0)
            return strdup(buf);
        path += n + (path[n] == ':');
    }
    return NULL;
}

int qr_test_free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static redisContext *raw_connect(int port)
{
    struct timeval tv = {1, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    if (c && !c->err) {
        redisReply *r = redisCommand(c, "PING");
        bool ok = r && r->type == REDIS_REPLY_STATUS;
        if (r)
            freeReplyObject(r);
        if (ok)
            return c;
    }
    if (c)
        redisFree(c);
    return NULL;
}

void qr_test_redis_start(qr_test_redis *s)
{
    char port[16], log[4200];
    snprintf(port, sizeof(port), "%d", s->port);
    snprintf(log, sizeof(log), "%s/redis.log", s->dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "yes", "--appendfsync", "always", "--dir", s->dir, "--daemonize",
               "no", (char *)NULL);
        _exit(127);
    }
    s->pid = pid;
    for (int i = 0; i < 500; i++) {
        if ((s->raw = raw_connect(s->port)) != NULL)
            return;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fail_msg("redis-server did not answer PING on port %d (see %s)", s->port, log);
}

void qr_test_redis_kill(qr_test_redis *s)
{
    if (s->raw) {
        redisFree(s->raw);
        s->raw = NULL;
    }
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
}

qr_test_redis *qr_test_redis_new(void)
{
    char *bin = find_redis_server();
    if (!bin)
        return NULL;
    free(bin);
    /* hiredis writes to sockets whose peer a test kills; the worker's main ignores SIGPIPE too. */
    signal(SIGPIPE, SIG_IGN);
    qr_test_redis *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    s->dir = qr_test_tmpdir();
    assert_non_null(s->dir);
    s->port = qr_test_free_port();
    qr_test_redis_start(s);
    return s;
}

void qr_test_redis_free(qr_test_redis *s)
{
    if (!s)
        return;
    qr_test_redis_kill(s);
    qr_test_rmtree(s->dir);
    free(s->dir);
    free(s);
}
