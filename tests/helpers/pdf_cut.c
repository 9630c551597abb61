/*
 * qr_test_pdf_cut_files: slices cut with qr_pdf_cut, as the publish loop cuts
 * them, as files; and slices compared but for their /ID.
 */
#include "qr_test.h"

#include <stdio.h>
#include <string.h>

#include "qr/buf.h"
#include "qr/pdf.h"

int qr_test_pdf_cut_files(const char *path, const qr_pdf_range *ranges, size_t n,
                          const char *const *outs, const qr_limits *limits, qr_error *err)
{
    qr_pdf *p = NULL;
    int rc = qr_pdf_open(&p, path, limits, NULL, err);
    qr_buf b = QR_BUF_INIT((size_t)1 << 30);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        qr_buf_reset(&b);
        if ((rc = qr_pdf_cut(p, &ranges[i], &b, err)) < 0)
            break;
        FILE *f = fopen(outs[i], "wb");
        if (!f || fwrite(b.data, 1, b.len, f) != b.len) {
            rc = qr_error_set(err, QR_ERR_IO, "test", "cannot write %s", outs[i]);
            if (f)
                fclose(f);
            break;
        }
        if (fclose(f) != 0)
            rc = qr_error_set(err, QR_ERR_IO, "test", "cannot write %s", outs[i]);
    }
    qr_buf_free(&b);
    qr_pdf_close(p);
    return rc;
}

bool qr_test_pdf_same_but_id(char *x, size_t lx, const char *y, size_t ly)
{
    if (lx != ly)
        return false;
    char *ix = memmem(x, lx, "/ID [<", 6);
    const char *iy = memmem(y, ly, "/ID [<", 6);
    if (!ix || !iy || ix - x != iy - y)
        return false;
    char *end = memchr(ix, ']', lx - (size_t)(ix - x));
    if (!end || y[end - x] != ']')
        return false;
    memcpy(ix, iy, (size_t)(end - ix));
    return memcmp(x, y, lx) == 0;
}

bool qr_test_pdf_files_same_but_id(const char *a, const char *b)
{
    qr_buf x = QR_BUF_INIT((size_t)1 << 30), y = QR_BUF_INIT((size_t)1 << 30);
    qr_error err = QR_ERROR_INIT;
    if (qr_buf_read_file(&x, a, "test", &err) < 0 || qr_buf_read_file(&y, b, "test", &err) < 0)
        fail_msg("%s: %s", err.id, err.msg);
    bool same = qr_test_pdf_same_but_id((char *)x.data, x.len, (const char *)y.data, y.len);
    qr_buf_free(&x);
    qr_buf_free(&y);
    return same;
}
