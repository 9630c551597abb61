/*
 * quire version: quire's version and commit, and the run-time version of
 * every native library it loaded, with the minimum quire needs of each
 * (qr/buildinfo.h). --check makes an older library an error, for a deploy
 * that must not leave a stale binary running.
 */
#include <ctype.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "qr/buildinfo.h"

void qr_cmd_version_usage(FILE *f)
{
    fprintf(f, "usage: quire version [--json] [--check]\n"
               "\n"
               "Prints quire's version and commit and, for every native library, the\n"
               "version loaded at run time beside the oldest one quire works with.\n"
               "\n"
               "  --json    one JSON object: {version, commit, libraries: {name: {version,\n"
               "            minimum, ok}}}\n"
               "  --check   exit 1, naming the library, when one is older than its minimum\n"
               "            (exit 0 otherwise)\n");
}

static const struct option longopts[] = {
    {"json", no_argument, NULL, 'j'}, {"check", no_argument, NULL, 'c'}, {NULL, 0, NULL, 0}};

int qr_cmd_version(int argc, char **argv)
{
    bool json = false, check = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = true;
            break;
        case 'c':
            check = true;
            break;
        default:
            return qr_cli_usage_error("version", "unknown option");
        }
    }
    if (optind != argc)
        return qr_cli_usage_error("version", "unexpected argument '%s'", argv[optind]);
    qr_buildinfo bi;
    qr_buildinfo_get(&bi);
    if (json) {
        json_t *o = qr_buildinfo_json(&bi);
        char *s = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
        json_decref(o);
        if (!s) {
            fprintf(stderr, "quire version: out of memory\n");
            return 1;
        }
        printf("%s\n", s);
        free(s);
    } else {
        printf("quire %s (commit %s)\n", bi.version, bi.commit);
        for (size_t i = 0; i < bi.nlibs; i++) {
            const qr_buildinfo_lib *l = &bi.libs[i];
            if (l->minimum)
                printf("  %-14s %-22s needs >= %s%s\n", l->name, l->version, l->minimum,
                       l->ok ? ""
                       : isdigit((unsigned char)l->version[0]) ? "  TOO OLD"
                                                               : "  NOT LOADED");
            else
                printf("  %-14s %s\n", l->name, l->version);
        }
    }
    char why[256];
    if (check && !qr_buildinfo_ok(&bi, why, sizeof(why))) {
        fprintf(stderr, "quire version: %s\n", why);
        return 1;
    }
    return 0;
}
