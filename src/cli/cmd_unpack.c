/* quire unpack DIR -o BOOK [--key-file F] [--prefix P] [--slices-dir D]: rebuild a book. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "qr/package.h"

void qr_cmd_unpack_usage(FILE *f)
{
    fprintf(f, "usage: quire unpack STORE -o BOOK [--key-file F] [--prefix P] [--slices-dir D]\n"
               "\n"
               "Verifies the package in STORE (a directory or s3://bucket[/prefix], under\n"
               "--prefix P) as `quire verify` does, decrypts every slice\n"
               "and writes one book. EPUB: mimetype first and stored, then every resource\n"
               "with its compressed bytes untouched (text is byte-identical to the input).\n"
               "PDF: the slice PDFs joined in order into one PDF.\n"
               "\n"
               "  -o, --output FILE   the book to write (required; replaced atomically)\n"
               "  -k, --key-file F    the key file the package was made with (default:\n"
               "                      $QUIRE_KEY_FILE, else the development key)\n"
               "      --prefix P      the package's prefix in a store (default: STORE itself)\n"
               "      --work-dir DIR  parent of the temporary work directory (default /tmp)\n"
               "      --slices-dir D  also leave each decrypted slice in D (created when\n"
               "                      missing): NNNN.zip for an EPUB, NNNN.pdf for a PDF\n"
               "\n"
               "Exit statuses as for `quire verify`; nothing is written on failure.\n");
}

int qr_cmd_unpack(int argc, char **argv)
{
    const char *key_file = NULL, *prefix = "", *out_path = NULL;
    qr_read_opts ro = QR_READ_OPTS_INIT;
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},     {"key-file", required_argument, NULL, 'k'},
        {"prefix", required_argument, NULL, 'P'},     {"work-dir", required_argument, NULL, 'w'},
        {"slices-dir", required_argument, NULL, 'D'}, {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:k:", longopts, NULL)) != -1) {
        switch (c) {
        case 'o':
            out_path = optarg;
            break;
        case 'k':
            key_file = optarg;
            break;
        case 'P':
            prefix = optarg;
            break;
        case 'w':
            ro.work_parent = optarg;
            break;
        case 'D':
            ro.slices_dir = optarg;
            break;
        default:
            return qr_cli_usage_error("unpack", "unknown option");
        }
    }
    if (optind != argc - 1)
        return qr_cli_usage_error("unpack", "expected exactly one package directory");
    if (!out_path)
        return qr_cli_usage_error("unpack", "-o BOOK is required");
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
        rc = qr_package_unpack_with(&vr, store, prefix, k, out_path, &ro, &err);
    if (rc < 0)
        rc = qr_cli_fail(&err);
    else if (vr.pdf)
        printf("%s -> %s: %zu slices, %u pages\n", dir, out_path, vr.slices, vr.pages);
    else
        printf("%s -> %s: %zu slices, %zu resources\n", dir, out_path, vr.slices, vr.resources);
    qr_store_free(store);
    qr_remote_free(remote);
    qr_cli_remote_free(&net);
    qr_keyring_free(k);
    return rc;
}
