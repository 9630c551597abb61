/* Helpers for the aws tests: a private network namespace and loopback servers. */
#ifndef QR_AWS_TEST_UTIL_H
#define QR_AWS_TEST_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/*
 * Moves this process into a new network namespace holding only a loopback
 * interface (brought up), so nothing it does can reach another host.
 * Returns 0, or -1 when that is not possible (not root).
 */
static inline int aws_test_private_netns(void)
{
    if (unshare(CLONE_NEWNET) != 0)
        return -1;
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (s < 0)
        return -1;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
    int rc = ioctl(s, SIOCGIFFLAGS, &ifr);
    if (rc == 0) {
        ifr.ifr_flags |= IFF_UP;
        rc = ioctl(s, SIOCSIFFLAGS, &ifr);
    }
    close(s);
    return rc == 0 ? 0 : -1;
}

/*
 * Starts argv (execvp) with its output sent to /dev/null and waits up to
 * `wait_s` seconds for `port_file` to appear; returns the child pid and the
 * port written there, or -1.
 */
static inline pid_t aws_test_spawn(char *const argv[], const char *port_file, int *port, int wait_s)
{
    unlink(port_file);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int dn = open("/dev/null", O_RDWR);
        if (dn >= 0) {
            dup2(dn, 0);
            dup2(dn, 1);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    for (int i = 0; i < wait_s * 20; i++) {
        FILE *f = fopen(port_file, "r");
        if (f) {
            int ok = fscanf(f, "%d", port) == 1;
            fclose(f);
            if (ok)
                return pid;
        }
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid)
            return -1;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

static inline void aws_test_stop(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    for (int i = 0; i < 100; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

#endif
