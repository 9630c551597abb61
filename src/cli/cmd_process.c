/*
 * quire process BOOK (-o DIR | --store DIR) [--profile P] [--book-id ID] [--key-file F]:
 * compress, slice, encrypt and publish one book. Also home of the key file
 * lookup the package commands share (--key-file, QUIRE_KEY_FILE, dev key).
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "qr/fs.h"
#include "qr/log.h"
#include "qr/package.h"
#include "qr/report.h"

void qr_cmd_process_usage(FILE *f)
{
    fprintf(f,
            "usage: quire process BOOK (-o DIR | --store STORE) [--profile P]\n"
            "                     [--book-id ID] [--revision R] [--key-file F] [--json]\n"
            "\n"
            "Compresses the book (EPUB or PDF), cuts it into slices (EPUB: on spine\n"
            "boundaries; PDF: page ranges, each a standalone PDF), seals each slice\n"
            "(XChaCha20-Poly1305) and publishes the package: slices, positions.json,\n"
            "cover, key.json, manifest.json.sig and last manifest.json (docs/format.md).\n"
            "\n"
            "  -o, --output DIR    write the package itself into DIR (DIR/manifest.json)\n"
            "      --store STORE   publish into a store (a directory or s3://bucket[/prefix]),\n"
            "                      under books/<book_id>/<revision>/\n"
            "  -p, --profile P     %s (default tablet; see docs/profiles.md)\n"
            "      --book-id ID    book id (default: from the EPUB unique identifier;\n"
            "                      for a PDF, pdf- and a hash of the file)\n"
            "      --revision R    revision (default: hash of source, profile, format)\n"
            "  -k, --key-file F    service key file (default: $QUIRE_KEY_FILE, else a\n"
            "                      per-user development key, created on first use)\n"
            "      --slice-kb N    target slice size in KiB (default 256)\n"
            "      --slice-pages N PDF: N pages per slice instead of a target size\n"
            "  -j, --threads N     image workers, and PDF slicing workers (default: one\n"
            "                      per CPU)\n"
            "      --json          print a JSON report on stdout instead of the summary\n"
            "  -q, --quiet         no summary and no progress display\n"
            "      --work-dir DIR  parent of the temporary work directory (default /tmp)\n"
            "\n"
            "BOOK is a path, s3://bucket/key or https://... (docs/operations/s3.md and\n"
            "network.md: AWS_* variables, QUIRE_NET_ALLOW, ...).\n"
            "Re-running the same job lands on the same revision: a package that verifies\n"
            "is left as it is, anything else is rewritten, manifest last.\n"
            "Exit status: 0 done, 2 usage, 3 malformed or protected book, 4 over a limit,\n"
            "5 input not found, 6 I/O, 7 key file refused, 8 crypto failure (docs/cli.md).\n",
            qr_profile_names());
}

/* $XDG_CONFIG_HOME/quire/dev-keys.json, else $HOME/.config/quire/dev-keys.json. */
static int dev_key_path(char *out, size_t n)
{
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    if (xdg && xdg[0] == '/')
        snprintf(out, n, "%s/quire/dev-keys.json", xdg);
    else if (home && home[0])
        snprintf(out, n, "%s/.config/quire/dev-keys.json", home);
    else
        return -1;
    return 0;
}

int qr_cli_load_keyring(qr_keyring **out, const char *key_file, bool create_dev, qr_error *err)
{
    char dev[4096];
    *out = NULL;
    if (!key_file)
        key_file = getenv("QUIRE_KEY_FILE");
    if (key_file && key_file[0])
        return qr_keyring_load(out, key_file, err);
    if (dev_key_path(dev, sizeof(dev)) < 0)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "keys",
                            "no --key-file, no QUIRE_KEY_FILE and no HOME for a development key");
    struct stat sb;
    if (stat(dev, &sb) != 0) {
        if (!create_dev)
            return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "keys",
                                "no --key-file, no QUIRE_KEY_FILE and no development key at %s",
                                dev);
        qr_keyring *k = NULL;
        char *slash = strrchr(dev, '/');
        *slash = '\0';
        int rc = qr_fs_mkdirs(dev, 0700, err);
        *slash = '/';
        if (rc == 0)
            rc = qr_keyring_generate(&k, NULL, err);
        if (rc == 0)
            rc = qr_keyring_save(k, dev, err);
        qr_keyring_free(k);
        if (rc < 0)
            return rc;
        fprintf(stderr, "quire: created a development key file %s\n", dev);
    }
    fprintf(stderr,
            "quire: using the development key file %s (not for production: pass "
            "--key-file or set QUIRE_KEY_FILE)\n",
            dev);
    return qr_keyring_load(out, dev, err);
}

typedef struct progress_state {
    bool enabled;
    bool drawn;
} progress_state;

static void progress_cb(void *ud, size_t done, size_t total, const char *item)
{
    progress_state *ps = ud;
    if (!ps->enabled)
        return;
    size_t len = strlen(item);
    const char *shown = len > 48 ? item + len - 48 : item;
    fprintf(stderr, "\r\033[K  images %zu/%zu  %s", done, total, shown);
    fflush(stderr);
    ps->drawn = true;
}

static double pct(double part, double whole)
{
    return whole > 0 ? 100.0 * part / whole : 0.0;
}

static double mbps(uint64_t bytes, double s)
{
    return s > 0 ? (double)bytes / 1e6 / s : 0.0;
}

static json_t *report_json(const qr_process_report *r, const char *in, const char *where)
{
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:{s:f, s:f, s:f, s:f, s:f, s:f}, s:I, s:I, s:I, "
        "s:I, s:I, s:I, s:{s:I, s:s}, s:f, s:I, s:o}",
        "input", in, "output", where, "book_id", r->book_id, "revision", r->revision, "prefix",
        r->prefix, "already_published", r->already_published, "profile", r->profile->name,
        "seconds", "compress", r->t_compress, "positions", r->t_positions, "slice", r->t_slice,
        "encrypt", r->t_encrypt, "publish", r->t_publish, "total", r->t_total, "source_bytes",
        (json_int_t)r->source_bytes, "compressed_bytes", (json_int_t)r->compressed_bytes,
        "plain_bytes", (json_int_t)r->plain_bytes, "sealed_bytes", (json_int_t)r->sealed_bytes,
        "slices", (json_int_t)r->slices, "positions", (json_int_t)r->positions, "pages", "count",
        (json_int_t)r->pages, "source", r->pages_source ? r->pages_source : "", "encrypt_mb_per_s",
        mbps(r->plain_bytes, r->t_encrypt), "peak_rss_bytes", (json_int_t)r->peak_rss_bytes,
        "warnings", qr_warnings_json(r->warnings));
    if (o && r->profile->png_photo_to_jpeg) {
        json_object_set_new(o, "png_to_jpeg", json_integer((json_int_t)r->images_to_jpeg));
        json_object_set_new(o, "texts_rewritten", json_integer((json_int_t)r->texts_rewritten));
    }
    return o;
}

static void print_summary(const qr_process_report *r, const char *in, const char *where)
{
    printf("%s -> %s%s%s\n", in, where, r->prefix[0] ? "/" : "", r->prefix);
    printf("  book id %s, revision %s, profile %s\n", r->book_id, r->revision, r->profile->name);
    if (r->already_published) {
        printf("  already published and verified: nothing written (%.2f s)\n", r->t_total);
        return;
    }
    printf("  %zu slices, %.1f MB source -> %.1f MB compressed -> %.1f MB sealed\n", r->slices,
           (double)r->source_bytes / 1e6, (double)r->compressed_bytes / 1e6,
           (double)r->sealed_bytes / 1e6);
    printf("  %u positions, %u pages (%s)\n", r->positions, r->pages,
           r->pages_source ? r->pages_source : "?");
    printf("  %-10s %8s %6s\n", "stage", "seconds", "share");
    const struct {
        const char *name;
        double t;
    } st[] = {{"compress", r->t_compress},
              {"positions", r->t_positions},
              {"slice", r->t_slice},
              {"encrypt", r->t_encrypt},
              {"publish", r->t_publish}};
    for (size_t i = 0; i < sizeof(st) / sizeof(st[0]); i++)
        printf("  %-10s %8.3f %5.1f%%\n", st[i].name, st[i].t, pct(st[i].t, r->t_total));
    printf("  %-10s %8.3f\n", "total", r->t_total);
    printf("  encryption %.0f MB/s, peak memory %.1f MB\n", mbps(r->plain_bytes, r->t_encrypt),
           (double)r->peak_rss_bytes / 1e6);
    size_t nw = qr_warnings_count(r->warnings);
    printf("warnings: %zu%s\n", nw + qr_warnings_dropped(r->warnings),
           qr_warnings_dropped(r->warnings) ? " (some not listed)" : "");
    for (size_t i = 0; i < nw; i++) {
        const qr_warning *w = qr_warnings_get(r->warnings, i);
        printf("  %s: %s%s%s\n", w->code, w->context, w->context[0] ? ": " : "", w->msg);
    }
}

static void print_json(json_t *o)
{
    char *s = o ? json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
    if (s) {
        puts(s);
        free(s);
    }
}

int qr_cmd_process(int argc, char **argv)
{
    const char *out_dir = NULL, *store_dir = NULL, *key_file = NULL;
    const char *profile = "tablet";
    bool json = false, quiet = false;
    qr_process_opts opts = QR_PROCESS_OPTS_INIT;
    opts.tune_malloc = true; /* main() tuned it for images; this process is quire's */
    static const struct option longopts[] = {{"output", required_argument, NULL, 'o'},
                                             {"store", required_argument, NULL, 'S'},
                                             {"profile", required_argument, NULL, 'p'},
                                             {"book-id", required_argument, NULL, 'B'},
                                             {"revision", required_argument, NULL, 'R'},
                                             {"key-file", required_argument, NULL, 'k'},
                                             {"slice-kb", required_argument, NULL, 'K'},
                                             {"threads", required_argument, NULL, 'j'},
                                             {"json", no_argument, NULL, 'J'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"work-dir", required_argument, NULL, 'w'},
                                             {"slice-pages", required_argument, NULL, 'N'},
                                             {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:p:k:j:q", longopts, NULL)) != -1) {
        switch (c) {
        case 'o':
            out_dir = optarg;
            break;
        case 'S':
            store_dir = optarg;
            break;
        case 'p':
            profile = optarg;
            break;
        case 'B':
            opts.book_id = optarg;
            break;
        case 'R':
            opts.revision = optarg;
            break;
        case 'k':
            key_file = optarg;
            break;
        case 'K': {
            char *end = NULL;
            long n = strtol(optarg, &end, 10);
            if (!end || *end || n < 4 || n > 1048576)
                return qr_cli_usage_error("process", "--slice-kb wants 4..1048576, got '%s'",
                                          optarg);
            opts.slice_target = (uint64_t)n * 1024;
            break;
        }
        case 'N': {
            char *end = NULL;
            long n = strtol(optarg, &end, 10);
            if (!end || *end || n < 1 || n > 1000000)
                return qr_cli_usage_error("process", "--slice-pages wants 1..1000000, got '%s'",
                                          optarg);
            opts.slice_pages = (uint32_t)n;
            break;
        }
        case 'j': {
            char *end = NULL;
            long n = strtol(optarg, &end, 10);
            if (!end || *end || n < 1 || n > 64)
                return qr_cli_usage_error("process", "--threads wants 1..64, got '%s'", optarg);
            opts.threads = (int)n;
            break;
        }
        case 'J':
            json = true;
            break;
        case 'q':
            quiet = true;
            break;
        case 'w':
            opts.work_parent = optarg;
            break;
        default:
            return qr_cli_usage_error("process", "unknown option");
        }
    }
    if (optind != argc - 1)
        return qr_cli_usage_error("process", "expected exactly one input book");
    if ((out_dir != NULL) == (store_dir != NULL))
        return qr_cli_usage_error("process", "give exactly one of -o DIR and --store DIR");
    if (out_dir && qr_remote_classify(out_dir) != QR_REMOTE_LOCAL)
        return qr_cli_usage_error("process", "-o wants a directory; use --store for '%s'", out_dir);
    if (store_dir && qr_remote_classify(store_dir) != QR_REMOTE_LOCAL &&
        qr_remote_classify(store_dir) != QR_REMOTE_S3)
        return qr_cli_usage_error("process", "--store wants a directory or s3://bucket[/prefix]");
    opts.profile = qr_profile_get(profile);
    if (!opts.profile)
        return qr_cli_usage_error("process", "unknown profile '%s' (one of: %s)", profile,
                                  qr_profile_names());
    const char *in_path = argv[optind];
    const char *where = out_dir ? out_dir : store_dir;

    qr_error err = QR_ERROR_INIT;
    qr_keyring *k = NULL;
    qr_store *store = NULL;
    qr_process_report *r = NULL;
    qr_warnings *partial = NULL;
    qr_cli_remote net;
    qr_remote *remote = NULL;
    bool s3 =
        qr_remote_classify(in_path) == QR_REMOTE_S3 || qr_remote_classify(where) == QR_REMOTE_S3;
    int rc = qr_cli_remote_load(&net, s3, &err);
    if (rc == 0)
        rc = qr_remote_new(&remote, &net.ro, &err);
    if (rc == 0)
        rc = qr_cli_load_keyring(&k, key_file, true, &err);
    if (rc == 0)
        rc = qr_remote_store_open(remote, where, &store, &err);
    progress_state ps = {!json && !quiet && qr_cli_stderr_tty(), false};
    opts.progress = progress_cb;
    opts.progress_ud = &ps;
    if (rc == 0)
        rc = qr_process_source(&r, in_path, remote, store, out_dir ? "" : NULL, k, &opts, &partial,
                               &err);
    if (ps.drawn)
        fprintf(stderr, "\r\033[K");
    if (rc < 0) {
        for (size_t i = 0; i < qr_warnings_count(partial); i++) {
            const qr_warning *w = qr_warnings_get(partial, i);
            qr_log(QR_LOG_WARN, w->stage, "%s: %s%s%s", w->code, w->context,
                   w->context[0] ? ": " : "", w->msg);
        }
        if (json) {
            json_t *o = json_pack("{s:s, s:o, s:o}", "input", in_path, "error", qr_error_json(&err),
                                  "warnings", qr_warnings_json(partial));
            print_json(o);
            json_decref(o);
        }
        rc = qr_cli_fail(&err);
    } else if (json) {
        json_t *o = report_json(r, in_path, where);
        print_json(o);
        json_decref(o);
    } else if (!quiet) {
        print_summary(r, in_path, where);
    }
    qr_warnings_free(partial);
    qr_process_report_free(r);
    qr_store_free(store);
    qr_remote_free(remote);
    qr_cli_remote_free(&net);
    qr_keyring_free(k);
    return rc;
}
