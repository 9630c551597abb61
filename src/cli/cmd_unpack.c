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
    fprintf(f, "usage: quire unpack DIR -o BOOK [--key-file F] [--prefix P] [--slices-dir D]\n"
               "\n"
               "Verifies the package in DIR as `quire verify` does, decrypts every slice\n"
               "and writes one book. EPUB: mimetype first and stored, then every resource\n"
               "with its compressed bytes untouched (text is byte-identical to the input).\n"
               "PDF: the slice PDFs joined in order into one PDF.\n"
               "\n"
               "  -o, --output FILE   the book to write (required; replaced atomically)\n"
               "  -k, --key-file F    the key file the package was made with (default:\n"
               "                      $QUIRE_KEY_FILE, else the development key)\n"
               "      --prefix P      the package's prefix in a store (default: DIR itself)\n"
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
    struct stat sb;
    /* The local store would create a missing directory: a package must exist. */
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        qr_error_set(&err, QR_ERR_SOURCE_NOT_FOUND, "verify", "no package directory %s", dir);
        return qr_cli_fail(&err);
    }
    qr_keyring *k = NULL;
    qr_store *store = NULL;
    qr_verify_report vr;
    memset(&vr, 0, sizeof(vr));
    int rc = qr_cli_load_keyring(&k, key_file, false, &err);
    if (rc == 0)
        rc = qr_store_local_new(&store, dir, &err);
    if (rc == 0)
        rc = qr_package_unpack_with(&vr, store, prefix, k, out_path, &ro, &err);
    if (rc < 0)
        rc = qr_cli_fail(&err);
    else if (vr.pdf)
        printf("%s -> %s: %zu slices, %u pages\n", dir, out_path, vr.slices, vr.pages);
    else
        printf("%s -> %s: %zu slices, %zu resources\n", dir, out_path, vr.slices, vr.resources);
    qr_store_free(store);
    qr_keyring_free(k);
    return rc;
}
