/* quire verify DIR [--key-file F] [--prefix P] [--work-dir D] [--json]: check a package. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "qr/package.h"
#include "qr/report.h"

void qr_cmd_verify_usage(FILE *f)
{
    fprintf(f, "usage: quire verify STORE [--key-file F] [--prefix P] [--work-dir D] [--json]\n"
               "\n"
               "Checks the package in STORE, a directory or s3://bucket[/prefix] (or under\n"
               "prefix P of the store, e.g. books/<book_id>/<revision>): the manifest's Ed25519 "
               "signature, key.json,\n"
               "and for every slice its size and SHA-256, its authenticated decryption\n"
               "and what it holds (EPUB: the listed resources; PDF: a PDF that opens with\n"
               "the listed page count). The first failure is named with its slice\n"
               "and an error id (docs/format.md lists which damage gives which id).\n"
               "\n"
               "  -k, --key-file F    the key file the package was made with (default:\n"
               "                      $QUIRE_KEY_FILE, else the development key)\n"
               "      --prefix P      the package's prefix in a store (default: STORE itself)\n"
               "      --work-dir D    parent of the temporary work directory where PDF\n"
               "                      slices are checked (default /tmp)\n"
               "      --json          print the result as JSON on stdout\n"
               "\n"
               "Exit status: 0 the package verifies, 3 manifest-invalid, 6 slice-missing or\n"
               "I/O, 7 key file refused, 8 signature, key or slice failure (docs/cli.md).\n");
}

int qr_cmd_verify(int argc, char **argv)
{
    const char *key_file = NULL, *prefix = "";
    bool json = false;
    qr_read_opts ro = QR_READ_OPTS_INIT;
    static const struct option longopts[] = {{"key-file", required_argument, NULL, 'k'},
                                             {"prefix", required_argument, NULL, 'P'},
                                             {"work-dir", required_argument, NULL, 'w'},
                                             {"json", no_argument, NULL, 'J'},
                                             {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "k:", longopts, NULL)) != -1) {
        switch (c) {
        case 'k':
            key_file = optarg;
            break;
        case 'P':
            prefix = optarg;
            break;
        case 'w':
            ro.work_parent = optarg;
            break;
        case 'J':
            json = true;
            break;
        default:
            return qr_cli_usage_error("verify", "unknown option");
        }
    }
    if (optind != argc - 1)
        return qr_cli_usage_error("verify", "expected exactly one package directory");
    const char *dir = argv[optind];
    qr_error err = QR_ERROR_INIT;
    qr_keyring *k = NULL;
    qr_store *store = NULL;
    qr_verify_report vr;
    memset(&vr, 0, sizeof(vr));
    qr_cli_remote net;
    qr_remote *remote = NULL;
    memset(&net, 0, sizeof(net));
    int rc = qr_cli_package_store(&net, &remote, &store, dir, &err);
    if (rc == 0)
        rc = qr_cli_load_keyring(&k, key_file, false, &err);
    if (rc == 0)
        rc = qr_package_verify_with(&vr, store, prefix, k, &ro, &err);
    json_t *o = NULL;
    if (rc < 0) {
        if (json)
            o = json_pack("{s:s, s:b, s:o}", "package", dir, "ok", 0, "error", qr_error_json(&err));
        rc = qr_cli_fail(&err);
    } else if (json) {
        o = json_pack("{s:s, s:b, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "package", dir, "ok", 1,
                      "format", vr.pdf ? "pdf" : "epub", "book_id", vr.book_id, "revision",
                      vr.revision, "slices", (json_int_t)vr.slices, "resources",
                      (json_int_t)vr.resources, "pages", (json_int_t)vr.pages, "sealed_bytes",
                      (json_int_t)vr.sealed_bytes, "plain_bytes", (json_int_t)vr.plain_bytes);
    } else if (vr.pdf) {
        printf("%s: OK: PDF book %s revision %s, %zu slices, %u pages, signature, hashes, "
               "decryption and slice PDFs verified\n",
               dir, vr.book_id, vr.revision, vr.slices, vr.pages);
    } else {
        printf("%s: OK: book %s revision %s, %zu slices, %zu resources, signature, hashes and "
               "decryption verified\n",
               dir, vr.book_id, vr.revision, vr.slices, vr.resources);
    }
    char *s = o ? json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
    if (s)
        puts(s);
    free(s);
    json_decref(o);
    qr_store_free(store);
    qr_remote_free(remote);
    qr_cli_remote_free(&net);
    qr_keyring_free(k);
    return rc;
}
