/* quire sample-book OUT.epub: writes the generated sample book. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "qr/log.h"
#include "qr/sample.h"

void qr_cmd_sample_book_usage(FILE *f)
{
    fprintf(f, "usage: quire sample-book OUT.epub [--chapters N] [--images N] [--size WxH] "
               "[--seed N]\n\n"
               "Writes a valid EPUB 3 generated from nothing: text chapters, navigation,\n"
               "and photographic JPEG and PNG images, for trying quire without a book.\n"
               "Defaults: 12 chapters, 8 images of 3200x2400.\n");
}

int qr_cmd_sample_book(int argc, char **argv)
{
    qr_sample_opts opts = QR_SAMPLE_OPTS_INIT;
    static const struct option longopts[] = {{"chapters", required_argument, NULL, 'c'},
                                             {"images", required_argument, NULL, 'i'},
                                             {"size", required_argument, NULL, 's'},
                                             {"seed", required_argument, NULL, 'r'},
                                             {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            opts.chapters = atoi(optarg);
            break;
        case 'i':
            opts.images = atoi(optarg);
            break;
        case 's':
            if (sscanf(optarg, "%dx%d", &opts.image_width, &opts.image_height) != 2)
                return qr_cli_usage_error("sample-book", "--size wants WxH, got '%s'", optarg);
            break;
        case 'r':
            opts.seed = (uint32_t)strtoul(optarg, NULL, 10);
            break;
        default:
            return qr_cli_usage_error("sample-book", "unknown option");
        }
    }
    if (optind != argc - 1)
        return qr_cli_usage_error("sample-book", "expected exactly one output path");
    qr_error err = QR_ERROR_INIT;
    if (qr_sample_book_write(argv[optind], &opts, &err) < 0)
        return qr_cli_fail(&err);
    qr_log(QR_LOG_INFO, "sample", "wrote %s (%d chapters, %d images)", argv[optind], opts.chapters,
           opts.images);
    return 0;
}
