/* Shared declarations of the quire command-line tool (not part of the library). */
#ifndef QR_CLI_H
#define QR_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "qr/error.h"

typedef struct qr_cli_cmd {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
    void (*usage)(FILE *f);
} qr_cli_cmd;

int qr_cmd_compress(int argc, char **argv);
void qr_cmd_compress_usage(FILE *f);
int qr_cmd_inspect(int argc, char **argv);
void qr_cmd_inspect_usage(FILE *f);
int qr_cmd_keys(int argc, char **argv);
void qr_cmd_keys_usage(FILE *f);
int qr_cmd_sample_book(int argc, char **argv);
void qr_cmd_sample_book_usage(FILE *f);

/* Prints "quire: error: <id>: <msg> (<context>)" and returns the exit status for `err`. */
int qr_cli_fail(const qr_error *err);
/* Usage error: prints the message and returns exit status 2. */
int qr_cli_usage_error(const char *cmd, const char *fmt, ...) QR_PRINTF(2, 3);
/* True if stderr is a terminal (human output and progress display). */
bool qr_cli_stderr_tty(void);

#endif
