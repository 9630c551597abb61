/* Helpers shared by the unit tests. */
#ifndef QR_TEST_H
#define QR_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* Absolute path of ../shared/corpus, or NULL when it is absent (tests then skip). */
const char *qr_test_corpus_dir(void);
/* Makes a fresh temporary directory for one test; free() the result. */
char *qr_test_tmpdir(void);
/* Removes a temporary directory tree made by qr_test_tmpdir. */
void qr_test_rmtree(const char *path);

/*
 * Opens the PDF at `path` and writes each range, cut with qr_pdf_cut as the
 * publish loop cuts it, to outs[i]. Errors: those of qr_pdf_open and
 * qr_pdf_cut, io.
 */
struct qr_pdf_range;
struct qr_limits;
struct qr_error;
int qr_test_pdf_cut_files(const char *path, const struct qr_pdf_range *ranges, size_t n,
                          const char *const *outs, const struct qr_limits *limits,
                          struct qr_error *err);

/*
 * Whether two PDFs hold the same bytes but for the trailer's /ID strings (a
 * slice gets a fresh /ID per write: hashing the whole output for a
 * deterministic one cost half the split's time on large files). `x` is
 * changed: its /ID is overwritten with y's.
 */
bool qr_test_pdf_same_but_id(char *x, size_t lx, const char *y, size_t ly);
/* The same for two files (a file that cannot be read fails the test). */
bool qr_test_pdf_files_same_but_id(const char *a, const char *b);

#endif
