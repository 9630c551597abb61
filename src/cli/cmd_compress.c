/* quire compress IN -o OUT [--profile P] [--json]: make an EPUB or a PDF smaller. */
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "qr/log.h"
#include "qr/compress.h"
#include "qr/report.h"

void qr_cmd_compress_usage(FILE *f)
{
    fprintf(f,
            "usage: quire compress IN.epub|IN.pdf -o OUT [--profile P] [--threads N] [--json]\n"
            "\n"
            "Recompresses the images of an EPUB with libvips and repackages it: text,\n"
            "fonts (obfuscated or not) and every other resource keep their exact bytes;\n"
            "unchanged entries are copied without recompression; `mimetype` comes first.\n"
            "A PDF (detected by content) is rewritten with qpdf: object streams,\n"
            "compressed streams, unreferenced objects dropped, and under lossy profiles\n"
            "large JPEG images re-encoded smaller; the output is never encrypted.\n"
            "\n"
            "  -o, --output FILE   where to write the smaller book (required)\n"
            "  -p, --profile P     %s (default tablet; see docs/profiles.md)\n"
            "  -j, --threads N     image workers (default: one per CPU)\n"
            "      --json          print a JSON report on stdout instead of the summary\n"
            "  -q, --quiet         no summary and no progress display\n"
            "      --work-dir DIR  parent of the temporary work directory (default /tmp)\n"
            "\n"
            "Exit status: 0 done (warnings may have been recorded), 2 usage, 3 malformed or\n"
            "protected book, 4 over a limit, 5 input not found, 6 I/O (docs/errors.md).\n",
            qr_profile_names());
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
    /* Keep the line short enough for a narrow terminal: show the tail of the name. */
    size_t len = strlen(item);
    const char *shown = len > 48 ? item + len - 48 : item;
    fprintf(stderr, "\r\033[K  images %zu/%zu  %s", done, total, shown);
    fflush(stderr);
    ps->drawn = true;
}

static void human_size(char *out, size_t n, uint64_t b)
{
    if (b >= 1000000)
        snprintf(out, n, "%.1f MB", (double)b / 1e6);
    else if (b >= 1000)
        snprintf(out, n, "%.1f kB", (double)b / 1e3);
    else
        snprintf(out, n, "%llu B", (unsigned long long)b);
}

static void print_summary(const qr_compress_report *r, const char *in, const char *outp)
{
    char a[32], b[32];
    printf("%s -> %s (profile %s, %d thread%s)\n", in, outp, r->profile->name, r->threads,
           r->threads == 1 ? "" : "s");
    printf("  %-32s %6s %7s %10s %10s %6s\n", "media type", "files", "changed", "in", "out",
           "saved");
    for (size_t i = 0; i < r->ntypes; i++) {
        const qr_type_stats *t = &r->types[i];
        human_size(a, sizeof(a), t->bytes_in);
        human_size(b, sizeof(b), t->bytes_out);
        double saved =
            t->bytes_in ? 100.0 * (1.0 - (double)t->bytes_out / (double)t->bytes_in) : 0.0;
        printf("  %-32.32s %6llu %7llu %10s %10s %5.1f%%\n", t->type, (unsigned long long)t->count,
               (unsigned long long)t->changed, a, b, saved);
    }
    human_size(a, sizeof(a), r->file_bytes_in);
    human_size(b, sizeof(b), r->file_bytes_out);
    double saved = r->file_bytes_in
                       ? 100.0 * (1.0 - (double)r->file_bytes_out / (double)r->file_bytes_in)
                       : 0.0;
    printf("  %-32s %6s %7s %10s %10s %5.1f%%\n", "whole file", "", "", a, b, saved);
    if (r->format == QR_FORMAT_PDF)
        printf("pages: %u\n", r->pages);
    printf("images: %zu total, %zu changed, %zu kept (%zu not encoded: estimate), %zu failed "
           "(kept unchanged)\n",
           r->images_total, r->images_changed, r->images_kept, r->images_estimated,
           r->images_failed);
    if (r->profile->png_photo_to_jpeg) {
        printf("png photographs now jpeg: %zu; text entries rewritten: %zu\n", r->images_to_jpeg,
               r->nrewrites);
        for (size_t i = 0; i < r->nrewrites; i++)
            printf("  %s: %zu reference%s\n", r->rewrites[i].path, r->rewrites[i].refs,
                   r->rewrites[i].refs == 1 ? "" : "s");
    }
    size_t nw = qr_warnings_count(r->warnings);
    printf("warnings: %zu%s\n", nw + qr_warnings_dropped(r->warnings),
           qr_warnings_dropped(r->warnings) ? " (some not listed)" : "");
    for (size_t i = 0; i < nw; i++) {
        const qr_warning *w = qr_warnings_get(r->warnings, i);
        printf("  %s: %s%s%s\n", w->code, w->context, w->context[0] ? ": " : "", w->msg);
    }
    printf("time: %.2f s (images %.2f s), peak memory %.1f MB\n", r->wall_seconds, r->image_seconds,
           (double)r->peak_rss_bytes / 1e6);
}

static void print_json(json_t *o)
{
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (s) {
        puts(s);
        free(s);
    }
}

int qr_cmd_compress(int argc, char **argv)
{
    const char *out_path = NULL;
    const char *profile = "tablet";
    bool json = false, quiet = false;
    qr_compress_opts opts = QR_COMPRESS_OPTS_INIT;
    static const struct option longopts[] = {{"output", required_argument, NULL, 'o'},
                                             {"profile", required_argument, NULL, 'p'},
                                             {"threads", required_argument, NULL, 'j'},
                                             {"json", no_argument, NULL, 'J'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"work-dir", required_argument, NULL, 'w'},
                                             {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:p:j:q", longopts, NULL)) != -1) {
        switch (c) {
        case 'o':
            out_path = optarg;
            break;
        case 'p':
            profile = optarg;
            break;
        case 'j': {
            char *end = NULL;
            long n = strtol(optarg, &end, 10);
            if (!end || *end || n < 1 || n > 64)
                return qr_cli_usage_error("compress", "--threads wants 1..64, got '%s'", optarg);
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
            return qr_cli_usage_error("compress", "unknown option");
        }
    }
    if (optind != argc - 1)
        return qr_cli_usage_error("compress", "expected exactly one input book");
    if (!out_path)
        return qr_cli_usage_error("compress", "-o OUT is required");
    opts.profile = qr_profile_get(profile);
    if (!opts.profile)
        return qr_cli_usage_error("compress", "unknown profile '%s' (one of: %s)", profile,
                                  qr_profile_names());
    const char *in_path = argv[optind];

    progress_state ps = {!json && !quiet && qr_cli_stderr_tty(), false};
    opts.progress = progress_cb;
    opts.progress_ud = &ps;

    qr_error err = QR_ERROR_INIT;
    qr_compress_report *r = NULL;
    qr_warnings *partial = NULL;
    int rc = qr_compress_file(&r, in_path, out_path, QR_FORMAT_UNKNOWN, &opts, &partial, &err);
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
            if (o)
                print_json(o);
            json_decref(o);
        }
        qr_warnings_free(partial);
        return qr_cli_fail(&err);
    }
    if (json) {
        json_t *o = qr_compress_report_json(r, in_path, out_path);
        if (o)
            print_json(o);
        json_decref(o);
    } else if (!quiet) {
        print_summary(r, in_path, out_path);
    }
    qr_compress_report_free(r);
    return 0;
}
