/* Helpers shared by the unit tests. */
#ifndef QR_TEST_H
#define QR_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* Absolute path of ../shared/corpus, or NULL when it is absent (tests then skip). */
const char *qr_test_corpus_dir(void);
/* Makes a fresh temporary directory for one test; free() the result. */
char *qr_test_tmpdir(void);
/* Removes a temporary directory tree made by qr_test_tmpdir. */
void qr_test_rmtree(const char *path);

#endif
