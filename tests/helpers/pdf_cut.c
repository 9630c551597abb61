/* qr_test_pdf_cut_files: slices cut with qr_pdf_cut, as the publish loop cuts them, as files. */
#include "qr_test.h"

#include <stdio.h>

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
