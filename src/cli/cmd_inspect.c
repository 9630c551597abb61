/* quire inspect BOOK [--json]: report on a book without writing anything. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "qr/report.h"

void qr_cmd_inspect_usage(FILE *f)
{
    fprintf(f, "usage: quire inspect BOOK [--json]\n"
               "\n"
               "Reads a book and reports, without writing anything: format and version,\n"
               "identifier, title, layout, spine length, resources by type with sizes, images\n"
               "with dimensions, fonts and their obfuscation, navigation and page list, DRM,\n"
               "and every warning or error the pipeline would raise. For a PDF: version,\n"
               "pages, title, author, outline, page labels, whether qpdf repaired it or it\n"
               "was encrypted with an empty password, and the estimated bytes of its pages.\n"
               "\n"
               "  --json   print the report as JSON on stdout\n"
               "\n"
               "Exit status: as `quire compress` would end on this book (docs/errors.md).\n");
}

static const char *jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static long long jint(json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

static void print_pdf(json_t *o)
{
    printf("  pages       %lld (about %lld bytes of page content and resources)\n",
           jint(o, "pages"), jint(o, "page_bytes_estimate"));
    printf("  title       %s\n", jstr(o, "title")[0] ? jstr(o, "title") : "(none)");
    printf("  author      %s\n", jstr(o, "author")[0] ? jstr(o, "author") : "(none)");
    printf("  linearized  %s\n", json_is_true(json_object_get(o, "linearized")) ? "yes" : "no");
    printf("  repaired    %s\n", json_is_true(json_object_get(o, "repaired")) ? "yes" : "no");
    printf("  encrypted   %s\n", json_is_true(json_object_get(o, "encrypted_empty_password"))
                                     ? "yes, with an empty user password"
                                     : "no");
    json_t *labels = json_object_get(o, "page_labels");
    if (json_array_size(labels) > 0)
        printf("  labels      yes: %s ... %s\n", json_string_value(json_array_get(labels, 0)),
               json_string_value(json_array_get(labels, json_array_size(labels) - 1)));
    else
        printf("  labels      none\n");
    printf("  outline     %lld entries\n", jint(o, "outline_entries"));
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(o, "outline"), i, v)
    {
        /* The first entries give the shape; --json has them all. */
        if (i == 20) {
            printf("    ...\n");
            break;
        }
        printf("    %*s%s -> page %lld\n", (int)(2 * jint(v, "level")), "", jstr(v, "title"),
               jint(v, "page") + 1);
    }
}

static void print_human(json_t *o)
{
    printf("%s\n", jstr(o, "path"));
    printf("  format      %s %s (%lld bytes)\n", jstr(o, "format"), jstr(o, "version"),
           jint(o, "file_bytes"));
    json_t *err = json_object_get(o, "error");
    if (strcmp(jstr(o, "format"), "pdf") == 0 && json_object_get(o, "pages")) {
        print_pdf(o);
    } else if (json_object_get(o, "title")) {
        json_t *sp = json_object_get(o, "spine");
        json_t *nav = json_object_get(o, "navigation");
        printf("  title       %s\n", jstr(o, "title"));
        printf("  identifier  %s\n", jstr(o, "identifier"));
        printf("  language    %s\n", jstr(o, "language"));
        printf("  layout      %s, progression %s\n", jstr(o, "layout"),
               jstr(o, "page_progression"));
        printf("  spine       %lld items (%lld linear), %lld ZIP entries\n", jint(sp, "items"),
               jint(sp, "linear"), jint(o, "entries"));
        printf("  navigation  nav %s, ncx %s, %lld toc entries, page list %lld, declared pages "
               "%lld\n",
               json_is_true(json_object_get(nav, "nav")) ? "yes" : "no",
               json_is_true(json_object_get(nav, "ncx")) ? "yes" : "no", jint(nav, "toc_entries"),
               jint(nav, "page_list"), jint(nav, "declared_pages"));
        printf("  cover       %s\n", jstr(o, "cover")[0] ? jstr(o, "cover") : "(none)");
        printf("  drm         %s\n", jstr(o, "drm"));
        printf("  resources\n");
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(o, "resources"), k, v)
        {
            printf("    %-36s %5lld files %12lld bytes (%lld stored)%s\n", k, jint(v, "count"),
                   jint(v, "bytes"), jint(v, "stored_bytes"),
                   jint(v, "missing") ? " some missing" : "");
        }
        size_t i;
        json_array_foreach(json_object_get(o, "images"), i, v)
        {
            if (i == 0)
                printf("  images\n");
            if (json_object_get(v, "error"))
                printf("    %s: %s\n", jstr(v, "path"), jstr(v, "error"));
            else
                printf("    %s: %s %lldx%lld, %lld bytes\n", jstr(v, "path"), jstr(v, "format"),
                       jint(v, "width"), jint(v, "height"), jint(v, "bytes"));
        }
        json_array_foreach(json_object_get(o, "fonts"), i, v)
        {
            if (i == 0)
                printf("  fonts\n");
            printf("    %s: %s, obfuscation %s\n", jstr(v, "path"), jstr(v, "media_type"),
                   jstr(v, "obfuscation"));
        }
    }
    json_t *w = json_object_get(o, "warnings");
    printf("  warnings    %zu\n", json_array_size(w));
    size_t i;
    json_t *v;
    json_array_foreach(w, i, v)
    {
        printf("    %s: %s%s%s\n", jstr(v, "code"), jstr(v, "context"),
               jstr(v, "context")[0] ? ": " : "", jstr(v, "message"));
    }
    if (err && json_is_object(err))
        printf("  error       %s: %s%s%s%s\n", jstr(err, "id"), jstr(err, "message"),
               jstr(err, "context")[0] ? " (" : "", jstr(err, "context"),
               jstr(err, "context")[0] ? ")" : "");
}

int qr_cmd_inspect(int argc, char **argv)
{
    bool json = false;
    static const struct option longopts[] = {{"json", no_argument, NULL, 'J'}, {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'J':
            json = true;
            break;
        default:
            return qr_cli_usage_error("inspect", "unknown option");
        }
    }
    if (optind != argc - 1)
        return qr_cli_usage_error("inspect", "expected exactly one book");
    qr_error err = QR_ERROR_INIT;
    json_t *o = NULL;
    int rc = qr_inspect_book(&o, argv[optind], NULL, &err);
    if (o) {
        if (json) {
            char *s = json_dumps(o, JSON_INDENT(2));
            if (s)
                puts(s);
            free(s);
        } else {
            print_human(o);
        }
        json_decref(o);
    }
    return rc < 0 ? qr_cli_fail(&err) : 0;
}
