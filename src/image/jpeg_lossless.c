/*
 * Lossless JPEG optimisation with libjpeg (what `jpegtran -optimize
 * -progressive` does): the quantised DCT coefficients are copied as they
 * are, so no pixel changes; only the entropy coding is redone.
 *
 * libjpeg reports errors through error_exit, which must not return: ours
 * longjmps back here. Everything touched after setjmp lives in a heap
 * context, so nothing depends on non-volatile locals surviving longjmp.
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

#include "image/image_internal.h"

typedef struct transcode_ctx transcode_ctx;

typedef struct jpeg_err {
    struct jpeg_error_mgr pub;
    transcode_ctx *ctx;
    qr_errid id; /* image-decode for the reader, image-encode for the writer */
} jpeg_err;

/* Writes straight into the caller's bounded qr_buf. */
typedef struct jpeg_dest {
    struct jpeg_destination_mgr pub;
    qr_buf *buf;
    qr_error *err;
    JOCTET chunk[16384];
} jpeg_dest;

struct transcode_ctx {
    jmp_buf jump; /* shared by reader and writer: one setjmp */
    char msg[JMSG_LENGTH_MAX];
    qr_errid failed;
    struct jpeg_decompress_struct src;
    struct jpeg_compress_struct dst;
    jpeg_err src_err, dst_err;
    jpeg_dest dest;
};

static void on_error_exit(j_common_ptr cinfo)
{
    jpeg_err *e = (jpeg_err *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, e->ctx->msg);
    e->ctx->failed = e->id;
    longjmp(e->ctx->jump, 1);
}

/* Warnings (corrupt data, premature end of file) would silently bake grey
 * blocks into the output: treat them as errors. Traces are ignored. */
static void on_emit_message(j_common_ptr cinfo, int level)
{
    if (level < 0)
        on_error_exit(cinfo);
}

static void on_output_message(j_common_ptr cinfo)
{
    (void)cinfo; /* libjpeg would print to stderr: the library never prints */
}

static void setup_err(jpeg_err *e, transcode_ctx *ctx, qr_errid id)
{
    jpeg_std_error(&e->pub);
    e->ctx = ctx;
    e->pub.error_exit = on_error_exit;
    e->pub.emit_message = on_emit_message;
    e->pub.output_message = on_output_message;
    e->id = id;
}

static void dest_init(j_compress_ptr cinfo)
{
    jpeg_dest *d = (jpeg_dest *)cinfo->dest;
    d->pub.next_output_byte = d->chunk;
    d->pub.free_in_buffer = sizeof(d->chunk);
}

static boolean dest_empty(j_compress_ptr cinfo)
{
    jpeg_dest *d = (jpeg_dest *)cinfo->dest;
    if (qr_buf_append(d->buf, d->chunk, sizeof(d->chunk), d->err) < 0)
        ERREXIT(cinfo, JERR_OUT_OF_MEMORY);
    d->pub.next_output_byte = d->chunk;
    d->pub.free_in_buffer = sizeof(d->chunk);
    return TRUE;
}

static void dest_term(j_compress_ptr cinfo)
{
    jpeg_dest *d = (jpeg_dest *)cinfo->dest;
    size_t n = sizeof(d->chunk) - d->pub.free_in_buffer;
    if (n && qr_buf_append(d->buf, d->chunk, n, d->err) < 0)
        ERREXIT(cinfo, JERR_OUT_OF_MEMORY);
}

static bool marker_is(const jpeg_saved_marker_ptr m, const char *sig, size_t n)
{
    return m->data_length >= n && memcmp(m->data, sig, n) == 0;
}

static bool keep_marker(const transcode_ctx *c, jpeg_saved_marker_ptr m, bool strip)
{
    /* libjpeg writes its own JFIF and Adobe markers (copied parameters). */
    if (m->marker == JPEG_APP0 && c->dst.write_JFIF_header && marker_is(m, "JFIF\0", 5))
        return false;
    if (m->marker == JPEG_APP0 + 14 && c->dst.write_Adobe_marker && marker_is(m, "Adobe", 5))
        return false;
    if (!strip)
        return true;
    if (m->marker == JPEG_APP0 + 2)
        return marker_is(m, "ICC_PROFILE\0", 12);
    if (m->marker == JPEG_APP0 + 1)
        return marker_is(m, "Exif\0", 5);
    return m->marker == JPEG_APP0 + 14;
}

static int run(transcode_ctx *c, qr_buf *out, const uint8_t *in, size_t len, bool strip,
               bool progressive, qr_error *err)
{
    if (setjmp(c->jump)) {
        if (err && err->code != 0)
            return err->code; /* the output buffer limit or allocation, already set */
        return qr_error_set(err, c->failed, QR_IMAGE_STAGE, "lossless JPEG transcode: %s",
                            c->msg);
    }

    jpeg_create_decompress(&c->src);
    jpeg_create_compress(&c->dst);

    jpeg_mem_src(&c->src, in, (unsigned long)len);
    jpeg_save_markers(&c->src, JPEG_COM, 0xFFFF);
    for (int i = 0; i < 16; i++)
        jpeg_save_markers(&c->src, JPEG_APP0 + i, 0xFFFF);
    (void)jpeg_read_header(&c->src, TRUE);
    jvirt_barray_ptr *coefs = jpeg_read_coefficients(&c->src);

    jpeg_copy_critical_parameters(&c->src, &c->dst);
    c->dst.optimize_coding = TRUE;
    if (progressive)
        jpeg_simple_progression(&c->dst);

    c->dest.buf = out;
    c->dest.err = err;
    c->dest.pub.init_destination = dest_init;
    c->dest.pub.empty_output_buffer = dest_empty;
    c->dest.pub.term_destination = dest_term;
    c->dst.dest = &c->dest.pub;

    jpeg_write_coefficients(&c->dst, coefs);
    for (jpeg_saved_marker_ptr m = c->src.marker_list; m; m = m->next)
        if (keep_marker(c, m, strip))
            jpeg_write_marker(&c->dst, m->marker, m->data, m->data_length);
    jpeg_finish_compress(&c->dst);
    (void)jpeg_finish_decompress(&c->src);
    return 0;
}

int qr_image__jpeg_transcode(qr_buf *out, const uint8_t *in, size_t len, bool strip,
                             bool progressive, qr_error *err)
{
    transcode_ctx *c = calloc(1, sizeof(*c));
    int rc;

    if (!c)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_IMAGE_STAGE,
                            "cannot allocate JPEG transcoder");
    setup_err(&c->src_err, c, QR_ERR_IMAGE_DECODE);
    setup_err(&c->dst_err, c, QR_ERR_IMAGE_ENCODE);
    c->src.err = &c->src_err.pub;
    c->dst.err = &c->dst_err.pub;

    rc = run(c, out, in, len, strip, progressive, err);
    if (rc < 0)
        qr_buf_reset(out);

    /* Safe on a half-made object too: c was zeroed, so a NULL mem is skipped. */
    jpeg_destroy_compress(&c->dst);
    jpeg_destroy_decompress(&c->src);
    free(c);
    return rc;
}
