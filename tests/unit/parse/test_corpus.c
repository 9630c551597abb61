/*
 * Every EPUB of the shared corpus (MANIFEST.tsv rows under epub/) opens, or
 * fails with the expected error id; selected books are checked in detail.
 * Skips when the corpus is absent; skips rows whose file is missing (the
 * photobook is built on demand).
 */
#include "qr_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qr/epub.h"

typedef struct expect {
    const char *file;
    const char *outcome;  /* "ok" or an error id */
    const char *warnings; /* space-separated warning codes that must be present */
} expect;

static const expect table[] = {
    {"epub/samples/moby-dick.epub", "ok", ""},
    {"epub/samples/linear-algebra.epub", "ok", ""},
    {"epub/samples/accessible_epub_3.epub", "ok", ""},
    {"epub/samples/childrens-literature.epub", "ok", ""},
    {"epub/samples/haruko-html-jpeg.epub", "ok", ""},
    {"epub/samples/svg-in-spine.epub", "ok", ""},
    {"epub/samples/regime-anticancer-arabic.epub", "ok", ""},
    {"epub/samples/wasteland-otf-obf.epub", "ok", ""},
    {"epub/samples/trees.epub", "ok", ""},
    {"epub/media-overlays/mol-navigation.epub", "ok", ""},
    {"epub/standardebooks/sherlock-holmes.epub", "ok", ""},
    {"epub/standardebooks/devils-dictionary.epub", "ok", ""},
    {"epub/real-world/calibre-quick-start-eng.epub", "ok", ""},
    {"epub/real-world/debian-policy.epub", "ok", "mimetype-not-first"},
    {"epub/real-world/live-manual-en.epub", "ok",
     "mimetype-not-first mimetype-invalid unique-identifier-missing href-fragment"},
    {"epub/epubcheck/zip-empty-file.epub", "unsupported-format", ""},
    {"epub/epubcheck/zip-no-end-header.epub", "corrupt-archive", ""},
    {"epub/epubcheck/zip-is-an-image.epub", "unsupported-format", ""},
    {"epub/epubcheck/zip-not-ocf.epub", "container-missing", ""},
    {"epub/epubcheck/mimetype-missing.epub", "ok", "mimetype-missing"},
    {"epub/epubcheck/mimetype-extra-field.epub", "ok", "mimetype-extra-field"},
    {"epub/epubcheck/zip-duplicate-entry.epub", "ok", "duplicate-entry"},
    {"epub/epubcheck/container-xml-missing.epub", "container-missing", ""},
    {"epub/epubcheck/opf-missing.epub", "opf-missing", ""},
    {"epub/epubcheck/href-dotdot-escape.epub", "unsafe-path", ""},
    {"epub/epubcheck/href-absolute-path.epub", "unsafe-path", ""},
    {"epub/epubcheck/href-percent-encoded.epub", "ok", ""},
    {"epub/epubcheck/filename-space.epub", "ok", ""},
    {"epub/epubcheck/font-obfuscated-valid.epub", "ok", ""},
    {"epub/epubcheck/encryption-unknown-algorithm.epub", "drm-protected", ""},
    {"epub/epubcheck/manifest-item-missing.epub", "ok", "missing-resource"},
    {"epub/epubcheck/image-corrupt.epub", "ok", ""},
    {"epub/epubcheck/epub2-minimal.epub", "ok", ""},
    {"epub/epubcheck/epub2-spine-missing.epub", "spine-empty", ""},
    {"epub/epubcheck/old-issue176-missing-resources.epub", "ok", "missing-resource"},
    {"epub/epubcheck/old-issue194-hang.epub", "ok", ""},
    {"epub/large/debian-wallpapers-photobook.epub", "ok", ""},
};

static const expect *lookup(const char *file)
{
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (strcmp(table[i].file, file) == 0)
            return &table[i];
    return NULL;
}

/* Reads every entry (CRC and inflate checked) and deobfuscates fonts. */
static void read_all(const qr_epub *e, const char *file)
{
    for (size_t i = 0; i < qr_epub_entry_count(e); i++) {
        const qr_epub_entry *en = qr_epub_get_entry(e, i);
        qr_buf b = QR_BUF_INIT(256u << 20);
        qr_error err = QR_ERROR_INIT;
        int rc = qr_epub_read_entry(&b, e, i, &err);
        if (rc < 0)
            fail_msg("%s: reading %s: %s %s", file, en->path, err.id, err.msg);
        assert_int_equal(b.len, en->is_dir ? 0 : en->size);
        /* epubcheck's fixture "obfuscates" a PNG that was never XORed: only
         * the IDPF sample is known to hold real obfuscated fonts. */
        if (en->obf != QR_OBF_NONE && strstr(file, "wasteland")) {
            assert_int_equal(qr_epub_deobfuscate(e, en->obf, b.data, b.len, &err), 0);
            /* An OpenType/TrueType/WOFF font header after deobfuscation. */
            assert_true(b.len >= 4);
            bool font = memcmp(b.data, "OTTO", 4) == 0 || memcmp(b.data, "\0\1\0\0", 4) == 0 ||
                        memcmp(b.data, "wOFF", 4) == 0 || memcmp(b.data, "wOF2", 4) == 0 ||
                        memcmp(b.data, "true", 4) == 0;
            if (!font)
                fail_msg("%s: %s is not a font after deobfuscation", file, en->path);
        }
        qr_buf_free(&b);
    }
}

static void check_details(const qr_epub *e, const char *file)
{
    const qr_epub_info *i = qr_epub_get_info(e);
    if (strstr(file, "moby-dick")) {
        assert_true(qr_epub_spine_count(e) >= 144);
        assert_string_equal(i->title, "Moby-Dick");
        assert_true(i->nav_item >= 0);
        assert_true(qr_epub_toc_count(e) > 100);
        assert_true(i->cover_item >= 0);
    } else if (strstr(file, "wasteland-otf-obf")) {
        assert_int_equal(i->obfuscated_fonts, 3);
        size_t n = 0;
        for (size_t k = 0; k < qr_epub_entry_count(e); k++)
            n += qr_epub_get_entry(e, k)->obf == QR_OBF_IDPF;
        assert_int_equal(n, 3);
    } else if (strstr(file, "haruko")) {
        assert_int_equal(i->layout, QR_LAYOUT_FIXED);
        assert_string_equal(i->page_progression, "rtl");
    } else if (strstr(file, "calibre-quick-start")) {
        assert_int_equal(i->version_major, 2);
        assert_int_equal(i->nav_item, -1);
        assert_true(i->ncx_item >= 0);
        assert_true(qr_epub_toc_count(e) > 0);
        assert_true(i->cover_item >= 0);
    } else if (strstr(file, "childrens-literature")) {
        assert_true(qr_epub_pagelist_count(e) > 0);
    } else if (strstr(file, "href-percent-encoded")) {
        assert_true(qr_epub_find_entry(e, "EPUB/content&001.xhtml") >= 0);
        const qr_epub_itemref *r = qr_epub_get_spine(e, 0);
        assert_string_equal(qr_epub_get_item(e, (size_t)r->item)->path, "EPUB/content&001.xhtml");
    } else if (strstr(file, "font-obfuscated-valid")) {
        assert_int_equal(i->obfuscated_fonts, 1);
    }
}

static void test_corpus(void **state)
{
    (void)state;
    const char *dir = qr_test_corpus_dir();
    if (!dir)
        skip();
    char path[12288];
    snprintf(path, sizeof(path), "%s/MANIFEST.tsv", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        skip();
    char line[8192];
    int rows = 0, opened = 0;
    while (fgets(line, sizeof(line), f)) {
        char *tab = strchr(line, '\t');
        if (!tab || strncmp(line, "epub/", 5) != 0)
            continue;
        *tab = 0;
        snprintf(path, sizeof(path), "%s/%s", dir, line);
        if (access(path, R_OK) != 0)
            continue;
        const expect *x = lookup(line);
        if (!x)
            fail_msg("no expectation for corpus file %s", line);
        qr_warnings *w = qr_warnings_new();
        qr_epub_opts o = QR_EPUB_OPTS_INIT;
        o.warnings = w;
        qr_epub *e = NULL;
        qr_error err = QR_ERROR_INIT;
        int rc = qr_epub_open(&e, path, &o, &err);
        const char *got = rc < 0 ? err.id : "ok";
        if (strcmp(got, x->outcome) != 0)
            fail_msg("%s: expected %s, got %s (%s)", line, x->outcome, got, err.msg);
        char codes[256];
        snprintf(codes, sizeof(codes), "%s", x->warnings);
        for (char *tok = strtok(codes, " "); tok; tok = strtok(NULL, " "))
            if (!qr_warnings_has(w, tok))
                fail_msg("%s: expected warning %s", line, tok);
        if (e) {
            opened++;
            check_details(e, line);
            read_all(e, line);
        }
        qr_epub_free(e);
        qr_warnings_free(w);
        rows++;
    }
    fclose(f);
    assert_true(rows >= 36);
    assert_true(opened >= 25);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
