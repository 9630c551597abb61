/*
 * quire: the one binary. `quire <command> [options]`, git style.
 * main alone does the process-wide initialisation and maps error codes to
 * exit statuses (docs/cli.md).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "qr/crypt.h"
#include "qr/epub.h"
#include "qr/http.h"
#include "qr/image.h"
#include "qr/log.h"
#include "qr/mem.h"

static const qr_cli_cmd commands[] = {
    {"compress", "make an EPUB smaller without breaking it", qr_cmd_compress,
     qr_cmd_compress_usage},
    {"inspect", "report on a book without writing anything", qr_cmd_inspect, qr_cmd_inspect_usage},
    {"keys", "generate and show key files", qr_cmd_keys, qr_cmd_keys_usage},
    {"sample-book", "write a generated sample EPUB (text and images)", qr_cmd_sample_book,
     qr_cmd_sample_book_usage},
    {"process", "compress, slice, encrypt and publish a book", qr_cmd_process,
     qr_cmd_process_usage},
    {"verify", "check a package: signature, hashes, every slice decrypts", qr_cmd_verify,
     qr_cmd_verify_usage},
    {"unpack", "rebuild the EPUB of a package", qr_cmd_unpack, qr_cmd_unpack_usage},
    {"worker", "run a Resque-compatible worker that processes books", qr_cmd_worker,
     qr_cmd_worker_usage},
    {"enqueue", "push a book job onto a Resque queue", qr_cmd_enqueue, qr_cmd_enqueue_usage},
    {"serve", "the HTTP intake: POST books, read their jobs' status", qr_cmd_serve,
     qr_cmd_serve_usage},
    {"status", "show queues, workers, processing lists and recent failures", qr_cmd_status,
     qr_cmd_status_usage},
    {"failures", "list, show, retry or remove Resque failure entries", qr_cmd_failures,
     qr_cmd_failures_usage},
    {"health", "exit 0 if this host has a worker with a fresh heartbeat", qr_cmd_health,
     qr_cmd_health_usage},
    {"history", "the job history kept in Redis, with a summary per stage and size", qr_cmd_history,
     qr_cmd_history_usage},
    {"logs", "the log of a job, or of a book's latest job", qr_cmd_logs, qr_cmd_logs_usage},
    {"fleet", "on an Auto Scaling instance: release the launching hook (fleet ready)", qr_cmd_fleet,
     qr_cmd_fleet_usage},
    {"metrics", "publish the queue metrics an Auto Scaling fleet scales on", qr_cmd_metrics,
     qr_cmd_metrics_usage},
    {"version", "quire's version and the versions of the libraries it loaded", qr_cmd_version,
     qr_cmd_version_usage},
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
    fprintf(f, "usage: quire <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n`quire <command> --help` describes a command. Exit statuses: docs/cli.md.\n"
               "Environment: QUIRE_LOG_LEVEL=debug|info|warn|error, QUIRE_LOG_FORMAT=text|json\n");
}

bool qr_cli_stderr_tty(void)
{
    return isatty(STDERR_FILENO) == 1;
}

int qr_cli_fail(const qr_error *err)
{
    if (!err || err->code == 0)
        return 0;
    qr_log(QR_LOG_ERROR, err->stage, "%s: %s%s%s%s", err->id ? err->id : "internal", err->msg,
           err->context[0] ? " (" : "", err->context, err->context[0] ? ")" : "");
    return qr_error_exit_status(err);
}

int qr_cli_split_list(char *buf, const char **out, size_t max, size_t *n)
{
    char *save = NULL;
    *n = 0;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ')
            t++;
        if (!*t)
            continue;
        if (*n == max)
            return -1;
        out[(*n)++] = t;
    }
    return 0;
}

int qr_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "quire %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(see `quire %s --help`)\n", cmd);
    va_end(ap);
    return 2;
}

static void setup_logging(void)
{
    const char *lvl = getenv("QUIRE_LOG_LEVEL");
    const char *fmt = getenv("QUIRE_LOG_FORMAT");
    int level = lvl ? qr_log_level_parse(lvl) : QR_LOG_INFO;
    if (level < 0)
        level = QR_LOG_INFO;
    bool json = fmt ? strcmp(fmt, "json") == 0 : !qr_cli_stderr_tty();
    qr_log_set_sink(json ? qr_log_sink_json : qr_log_sink_text, stderr, (qr_log_level)level);
}

/*
 * Transparent huge pages for malloc's large blocks (glibc.malloc.hugetlb=1:
 * madvise(MADV_HUGEPAGE) on them, which THP's default "madvise" mode needs).
 * Slices, sealed slices, qpdf's write buffers and pixel buffers are fresh
 * pages faulted in 4 KiB at a time; on a virtual machine a fault costs
 * 15-20 us, and 32 MB then takes 150-220 ms to touch against 3 ms in 2 MiB
 * pages. pst-geo (63.6 MB, 10 pages per slice): 2.6-2.8 s -> 1.4-1.7 s.
 * glibc reads its tunables only at start, so quire runs itself again once
 * with the tunable added, which costs a second start (50-100 ms of loading
 * libraries, as much as the whole run of a 0.1 MB PDF): `worker` always (its
 * children inherit it), `process` and `compress` when the input is a file of
 * 16 MB or more. QUIRE_MALLOC_HUGEPAGES=1 asks for it whatever the size, =0
 * (or a GLIBC_TUNABLES that already names hugetlb) never. Should the exec
 * fail, quire goes on without.
 */
/* Books smaller than this are not worth a second start. */
#define HUGE_PAGES_MIN_INPUT (16 << 20)

/* `worker` always; `process` and `compress` of a local file of 16 MB or more (or when asked). */
static bool huge_pages_pay(int argc, char **argv, bool asked)
{
    if (argc < 2)
        return false;
    if (strcmp(argv[1], "worker") == 0)
        return true;
    if (strcmp(argv[1], "process") != 0 && strcmp(argv[1], "compress") != 0)
        return false;
    if (asked)
        return true;
    for (int i = 2; i < argc; i++) {
        struct stat st;
        if (argv[i][0] != '-' && stat(argv[i], &st) == 0 && S_ISREG(st.st_mode) &&
            st.st_size >= HUGE_PAGES_MIN_INPUT)
            return true;
    }
    return false;
}

static void huge_pages(int argc, char **argv)
{
    const char *want = getenv("QUIRE_MALLOC_HUGEPAGES");
    const char *tun = getenv("GLIBC_TUNABLES");
    if ((want && strcmp(want, "1") != 0) || (tun && strstr(tun, "glibc.malloc.hugetlb")) ||
        !huge_pages_pay(argc, argv, want != NULL))
        return;
    size_t n = (tun ? strlen(tun) : 0) + sizeof(":glibc.malloc.hugetlb=1");
    char *v = malloc(n);
    if (!v)
        return;
    snprintf(v, n, "%s%sglibc.malloc.hugetlb=1", tun ? tun : "", tun && *tun ? ":" : "");
    if (setenv("GLIBC_TUNABLES", v, 1) == 0 && setenv("QUIRE_MALLOC_HUGEPAGES", "1", 1) == 0)
        execv("/proc/self/exe", argv);
    free(v);
}

int main(int argc, char **argv)
{
    /*
     * libvips starts (if at all) on the first image, when threads may run, and
     * loads none of its own modules when VIPSHOME names no directory
     * (docs/internals/image.md): set it now, while there is one thread. A
     * VIPSHOME the user set is kept. Worker children inherit it.
     */
    if (!getenv("VIPSHOME"))
        setenv("VIPSHOME", "/dev/null", 1);
    huge_pages(argc, argv);
    qr_mem_tune_for_images();
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        if (argc > 2) {
            for (size_t i = 0; i < NCOMMANDS; i++)
                if (strcmp(commands[i].name, argv[2]) == 0) {
                    commands[i].usage(stdout);
                    return 0;
                }
        }
        usage(stdout);
        return 0;
    }
    if (strcmp(name, "--version") == 0) {
        printf("quire %s\n", QR_VERSION);
        return 0;
    }
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(commands[i].name, name) != 0)
            continue;
        for (int a = 2; a < argc; a++)
            if (strcmp(argv[a], "--help") == 0 || strcmp(argv[a], "-h") == 0) {
                commands[i].usage(stdout);
                return 0;
            }
        setup_logging();
        qr_error err = QR_ERROR_INIT;
        if (qr_crypt_global_init(&err) < 0 || qr_http_global_init(&err) < 0)
            return qr_cli_fail(&err);
        /*
         * The worker forks per job and libvips' threads do not survive fork:
         * each child starts libvips itself, the parent never does.
         */
        bool vips = commands[i].run != qr_cmd_worker && commands[i].run != qr_cmd_serve;
        if (vips && qr_image_global_init(argv[0], &err) < 0)
            return qr_cli_fail(&err);
        /*
         * Other commands load libcurl, libzip, libxml2 (and libcrypto) when they first
         * need them (docs/internals/dlmod.md); these two fork and run
         * threads from the start, so they load them now, on the one thread
         * there is.
         */
        if (!vips && (qr_http_ready(&err) < 0 || qr_epub_zip_ready(&err) < 0 ||
                      qr_epub_xml_ready(&err) < 0))
            return qr_cli_fail(&err);
        /* Without libcrypto (where SHA-256 would use it), libsodium hashes: a warning, no stop. */
        qr_error shaerr = QR_ERROR_INIT;
        if (!vips && qr_sha256_ready(&shaerr) < 0)
            qr_log(QR_LOG_INFO, "crypt", "SHA-256 through libsodium: %s", shaerr.msg);
        int rc = commands[i].run(argc - 1, argv + 1);
        if (vips)
            qr_image_global_shutdown();
        qr_http_global_cleanup();
        return rc;
    }
    fprintf(stderr, "quire: '%s' is not a quire command (see `quire --help`)\n", name);
    return 2;
}
