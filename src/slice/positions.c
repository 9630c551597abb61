/*
 * Reading positions as the Readium toolkits compute them (ArchiveEntryLength,
 * 1024 bytes per position): the raw-deflate length of each linear spine
 * item's original bytes at zlib level 6, one position per fixed-layout item.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "slice/slice_internal.h"

#define QR_POSITION_BYTES 1024

/* Length of the raw deflate stream (level 6, windowBits -15, memLevel 8) of `data`. */
static int deflate_length(uint64_t *out, const uint8_t *data, size_t len, qr_error *err)
{
    z_stream zs;
    unsigned char scratch[16384];
    uint64_t total = 0;
    int rc = 0;
    memset(&zs, 0, sizeof(zs));
    *out = 0;
    if (deflateInit2(&zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_SLICE_STAGE, "cannot start deflate");
    size_t off = 0;
    int zr = Z_OK;
    do {
        size_t chunk = len - off > UINT_MAX / 2 ? UINT_MAX / 2 : len - off;
        zs.next_in = (Bytef *)(uintptr_t)(data + off);
        zs.avail_in = (uInt)chunk;
        off += chunk;
        int flush = off == len ? Z_FINISH : Z_NO_FLUSH;
        do {
            zs.next_out = scratch;
            zs.avail_out = sizeof(scratch);
            zr = deflate(&zs, flush);
            if (zr == Z_STREAM_ERROR) {
                rc = qr_error_set(err, QR_ERR_INTERNAL, QR_SLICE_STAGE, "deflate failed");
                goto out;
            }
            total += sizeof(scratch) - zs.avail_out;
        } while (zs.avail_out == 0);
    } while (off < len);
    if (zr != Z_STREAM_END) {
        rc = qr_error_set(err, QR_ERR_INTERNAL, QR_SLICE_STAGE, "deflate did not finish");
        goto out;
    }
    *out = total;
out:
    deflateEnd(&zs);
    return rc;
}

static bool is_fixed(const qr_epub *e, const qr_epub_itemref *ref)
{
    if (qr_epub_has_token(ref->properties, "rendition:layout-pre-paginated"))
        return true;
    if (qr_epub_has_token(ref->properties, "rendition:layout-reflowable"))
        return false;
    return qr_epub_get_info(e)->layout == QR_LAYOUT_FIXED;
}

void qr_positions_free(qr_positions *p)
{
    if (!p)
        return;
    free(p->list);
    free(p->first);
    free(p->span);
    free(p);
}

int qr_positions_compute(qr_positions **out, const qr_epub *e, qr_error *err)
{
    qr_positions *p = NULL;
    qr_buf bytes = QR_BUF_INIT(SIZE_MAX);
    int rc = 0;
    *out = NULL;
    size_t ns = qr_epub_spine_count(e);
    p = calloc(1, sizeof(*p));
    if (!p || !(p->first = calloc(ns ? ns : 1, sizeof(*p->first))) ||
        !(p->span = calloc(ns ? ns : 1, sizeof(*p->span)))) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_SLICE_STAGE, "cannot allocate positions");
        goto out;
    }
    p->nspine = ns;
    bytes.max =
        (size_t)(qr_epub_limits(e)->max_entry_bytes < SIZE_MAX ? qr_epub_limits(e)->max_entry_bytes : SIZE_MAX);
    uint64_t total = 0;
    for (size_t s = 0; s < ns; s++) {
        const qr_epub_itemref *ref = qr_epub_get_spine(e, s);
        const qr_epub_item *it = qr_epub_get_item(e, (size_t)ref->item);
        if (!ref->linear || it->entry < 0)
            continue;
        uint64_t n = 1;
        if (!is_fixed(e, ref)) {
            uint64_t len = 0;
            qr_buf_reset(&bytes);
            rc = qr_epub_read_entry(&bytes, e, (size_t)it->entry, err);
            if (rc == 0)
                rc = deflate_length(&len, bytes.data, bytes.len, err);
            if (rc < 0) {
                qr_error_set_context(err, "%s", it->path ? it->path : it->href);
                goto out;
            }
            n = (len + QR_POSITION_BYTES - 1) / QR_POSITION_BYTES;
            if (n == 0)
                n = 1;
        }
        if (total + n > UINT32_MAX) {
            rc = qr_error_set(err, QR_ERR_INPUT_TOO_LARGE, QR_SLICE_STAGE,
                              "more than %u reading positions", (unsigned)UINT32_MAX);
            goto out;
        }
        p->first[s] = (uint32_t)(total + 1);
        p->span[s] = (uint32_t)n;
        total += n;
    }
    /* Each position is ~1 KiB of deflated input, so the count is bounded by the input. */
    p->list = calloc(total ? (size_t)total : 1, sizeof(*p->list));
    if (!p->list) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_SLICE_STAGE,
                          "cannot allocate %llu positions", (unsigned long long)total);
        goto out;
    }
    for (size_t s = 0; s < ns; s++) {
        for (uint32_t k = 0; k < p->span[s]; k++) {
            qr_position *pos = &p->list[p->count++];
            pos->spine = s;
            pos->position = p->first[s] + k;
            pos->progression = (double)k / (double)p->span[s];
            pos->total_progression = (double)(pos->position - 1) / (double)total;
        }
    }
    *out = p;
    p = NULL;
out:
    qr_buf_free(&bytes);
    qr_positions_free(p);
    return rc;
}

/* RWPM hrefs are URI references: percent-encode what is not a path character. */
static char *href_encode(const char *path)
{
    static const char keep[] = "-._~!$&'()*+,;=@/";
    size_t n = strlen(path);
    if (n > (SIZE_MAX - 1) / 3)
        return NULL;
    char *o = malloc(n * 3 + 1);
    if (!o)
        return NULL;
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)path[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            (c && strchr(keep, c))) {
            o[w++] = (char)c;
        } else {
            static const char hex[] = "0123456789ABCDEF";
            o[w++] = '%';
            o[w++] = hex[c >> 4];
            o[w++] = hex[c & 15];
        }
    }
    o[w] = 0;
    return o;
}

json_t *qr_positions_json(const qr_positions *p, const qr_epub *e)
{
    json_t *root = json_object();
    json_t *list = json_array();
    char *href = NULL;
    size_t href_spine = SIZE_MAX;
    if (!root || !list)
        goto fail;
    for (size_t i = 0; i < p->count; i++) {
        const qr_position *pos = &p->list[i];
        const qr_epub_item *it =
            qr_epub_get_item(e, (size_t)qr_epub_get_spine(e, pos->spine)->item);
        if (href_spine != pos->spine) {
            free(href);
            href = href_encode(it->path ? it->path : it->href);
            href_spine = pos->spine;
            if (!href)
                goto fail;
        }
        json_t *loc =
            json_pack("{s:f, s:I, s:f}", "progression", pos->progression, "position",
                      (json_int_t)pos->position, "totalProgression", pos->total_progression);
        if (!loc)
            goto fail;
        json_t *l = json_pack("{s:s, s:s, s:o}", "href", href, "type",
                              it->media_type[0] ? it->media_type : "application/xhtml+xml",
                              "locations", loc);
        if (!l || json_array_append_new(list, l) != 0)
            goto fail;
    }
    if (json_object_set_new(root, "total", json_integer((json_int_t)p->count)) != 0)
        goto fail;
    /* json_object_set_new consumes `list` even when it fails. */
    int set = json_object_set_new(root, "positions", list);
    list = NULL;
    if (set != 0)
        goto fail;
    free(href);
    return root;
fail:
    free(href);
    json_decref(list);
    json_decref(root);
    return NULL;
}

void qr_pages_compute(qr_pages *out, const qr_epub *e, const qr_positions *p)
{
    size_t pl = qr_epub_pagelist_count(e);
    int declared = qr_epub_get_info(e)->declared_pages;
    if (pl > 0) {
        out->count = pl > UINT32_MAX ? UINT32_MAX : (uint32_t)pl;
        out->source = QR_PAGES_PRINT;
    } else if (declared > 0) {
        out->count = (uint32_t)declared;
        out->source = QR_PAGES_DECLARED;
    } else {
        out->count = p ? (uint32_t)p->count : 0;
        out->source = QR_PAGES_SYNTHETIC;
    }
}

const char *qr_page_source_str(qr_page_source s)
{
    switch (s) {
    case QR_PAGES_PRINT:
        return "print";
    case QR_PAGES_DECLARED:
        return "declared";
    case QR_PAGES_SYNTHETIC:
        return "synthetic";
    }
    return "synthetic";
}
