/*
 * sdnotify.c speaks systemd's notification protocol itself: one datagram to
 * $NOTIFY_SOCKET, a path or an abstract name ('@'), read back here from a
 * socket bound the way systemd binds it. Unset or another kind of address:
 * nothing sent; a name too long for an AF_UNIX address: -EINVAL; nobody
 * listening at the path: the error, and the worker carries on.
 */
#include "qr_test.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "worker/worker_int.h"

/* A datagram socket bound to `name` (a path, or '@' and an abstract name). */
static int listen_at(const char *name)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    size_t n = strlen(name);
    assert_true(n < sizeof(sa.sun_path));
    memcpy(sa.sun_path, name, n);
    if (name[0] == '@')
        sa.sun_path[0] = '\0';
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, len), 0);
    return fd;
}

static void expect_datagram(int fd, const char *want)
{
    char got[600];
    ssize_t r = recv(fd, got, sizeof(got) - 1, MSG_DONTWAIT);
    assert_true(r >= 0);
    got[r] = '\0';
    assert_string_equal(got, want);
}

static void test_path_socket(void **state)
{
    (void)state;
    char dir[] = "/tmp/qr-sdnotify-XXXXXX", path[128];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/notify", dir);
    int fd = listen_at(path);
    setenv("NOTIFY_SOCKET", path, 1);
    assert_int_equal(qr_worker__sd_send("READY=1\nSTATUS=waiting for jobs"), 1);
    expect_datagram(fd, "READY=1\nSTATUS=waiting for jobs");
    qr_worker__sd(true, "STATUS=%d jobs", 3);
    expect_datagram(fd, "STATUS=3 jobs");
    /* Not the unit's main process: nothing is sent. */
    qr_worker__sd(false, "STATUS=%s", "ignored");
    char b;
    assert_int_equal(recv(fd, &b, 1, MSG_DONTWAIT), -1);
    /* The extension, then none before its renewal period is up. */
    double next = 0;
    qr_worker__sd_extend(true, &next, 100.0);
    expect_datagram(fd, "EXTEND_TIMEOUT_USEC=30000000");
    qr_worker__sd_extend(true, &next, 105.0);
    assert_int_equal(recv(fd, &b, 1, MSG_DONTWAIT), -1);
    close(fd);
    /* Nobody listening any more: the error comes back. */
    unlink(path);
    assert_int_equal(qr_worker__sd_send("READY=1"), -ENOENT);
    rmdir(dir);
    unsetenv("NOTIFY_SOCKET");
}

static void test_abstract_socket(void **state)
{
    (void)state;
    char name[64];
    snprintf(name, sizeof(name), "@qr-sdnotify-%ld", (long)getpid());
    int fd = listen_at(name);
    setenv("NOTIFY_SOCKET", name, 1);
    assert_int_equal(qr_worker__sd_send("STOPPING=1"), 1);
    expect_datagram(fd, "STOPPING=1");
    close(fd);
    unsetenv("NOTIFY_SOCKET");
}

static void test_nobody_to_tell(void **state)
{
    (void)state;
    unsetenv("NOTIFY_SOCKET");
    assert_int_equal(qr_worker__sd_send("READY=1"), 0);
    setenv("NOTIFY_SOCKET", "vsock:2:1234", 1);
    assert_int_equal(qr_worker__sd_send("READY=1"), 0);
    setenv("NOTIFY_SOCKET", "", 1);
    assert_int_equal(qr_worker__sd_send("READY=1"), 0);
    char long_name[200];
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[0] = '/';
    long_name[sizeof(long_name) - 1] = '\0';
    setenv("NOTIFY_SOCKET", long_name, 1);
    assert_int_equal(qr_worker__sd_send("READY=1"), -EINVAL);
    unsetenv("NOTIFY_SOCKET");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_socket),
        cmocka_unit_test(test_abstract_socket),
        cmocka_unit_test(test_nobody_to_tell),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
