#include "epub_builder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zip.h>

int qr_test_zip_write(const char *path, const qr_test_entry *ents, size_t n)
{
    int zerr = 0;
    zip_t *za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
    if (!za) {
        fprintf(stderr, "epub_builder: cannot create %s (libzip %d)\n", path, zerr);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const qr_test_entry *t = &ents[i];
        zip_source_t *src;
        if (t->data) {
            src = zip_source_buffer(za, t->data, t->len, 0);
        } else {
            void *z = calloc(1, t->len ? t->len : 1);
            src = z ? zip_source_buffer(za, z, t->len, 1) : NULL;
            if (!src)
                free(z);
        }
        zip_int64_t idx = src ? zip_file_add(za, t->name, src, ZIP_FL_ENC_UTF_8) : -1;
        if (idx < 0) {
            fprintf(stderr, "epub_builder: cannot add %s: %s\n", t->name, zip_strerror(za));
            zip_source_free(src);
            zip_discard(za);
            return -1;
        }
        zip_set_file_compression(za, (zip_uint64_t)idx, t->stored ? ZIP_CM_STORE : ZIP_CM_DEFLATE,
                                 t->stored ? 0 : 9);
    }
    if (zip_close(za) < 0) {
        fprintf(stderr, "epub_builder: cannot write %s: %s\n", path, zip_strerror(za));
        zip_discard(za);
        return -1;
    }
    return 0;
}

int qr_test_zip_memory(uint8_t **out, size_t *len, const qr_test_entry *ents, size_t n)
{
    const char *tmp = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof(path), "%s/qr-epub-builder-XXXXXX", tmp ? tmp : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    close(fd);
    int rc = qr_test_zip_write(path, ents, n);
    *out = NULL;
    *len = 0;
    if (rc == 0) {
        FILE *f = fopen(path, "rb");
        rc = -1;
        if (f && fseek(f, 0, SEEK_END) == 0) {
            long sz = ftell(f);
            if (sz > 0 && fseek(f, 0, SEEK_SET) == 0 && (*out = malloc((size_t)sz)) &&
                fread(*out, 1, (size_t)sz, f) == (size_t)sz) {
                *len = (size_t)sz;
                rc = 0;
            }
        }
        if (f)
            fclose(f);
        if (rc < 0) {
            free(*out);
            *out = NULL;
        }
    }
    unlink(path);
    return rc;
}

const char qr_test_container_xml[] =
    "<?xml version=\"1.0\"?>\n"
    "<container version=\"1.0\" xmlns=\"urn:oasis:names:tc:opendocument:xmlns:container\">"
    "<rootfiles><rootfile full-path=\"EPUB/package.opf\" "
    "media-type=\"application/oebps-package+xml\"/></rootfiles></container>";

const char qr_test_default_opf[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<package xmlns=\"http://www.idpf.org/2007/opf\" version=\"3.0\" unique-identifier=\"uid\">"
    "<metadata xmlns:dc=\"http://purl.org/dc/elements/1.1/\">"
    "<dc:identifier id=\"uid\">urn:uuid:12345678-9abc-def0-1234-56789abcdef0</dc:identifier>"
    "<dc:title>Test Book</dc:title><dc:language>en</dc:language>"
    "<meta property=\"dcterms:modified\">2024-01-01T00:00:00Z</meta></metadata>"
    "<manifest><item id=\"nav\" href=\"nav.xhtml\" media-type=\"application/xhtml+xml\" "
    "properties=\"nav\"/><item id=\"c1\" href=\"c1.xhtml\" media-type=\"application/xhtml+xml\"/>"
    "</manifest><spine><itemref idref=\"c1\"/></spine></package>";

const char qr_test_default_nav[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<html xmlns=\"http://www.w3.org/1999/xhtml\" xmlns:epub=\"http://www.idpf.org/2007/ops\">"
    "<head><title>nav</title></head><body><nav epub:type=\"toc\"><ol>"
    "<li><a href=\"c1.xhtml\">Chapter 1</a></li></ol></nav></body></html>";

static const char chapter[] =
    "<?xml version=\"1.0\"?><html xmlns=\"http://www.w3.org/1999/xhtml\"><head><title>c</title>"
    "</head><body><p>Hello</p></body></html>";

int qr_test_epub_memory(uint8_t **out, size_t *len, const char *opf, const char *nav,
                        const qr_test_entry *extra, size_t n_extra)
{
    size_t n = 5 + n_extra;
    qr_test_entry *v = calloc(n, sizeof(*v));
    if (!v)
        return -1;
    const char *o = opf ? opf : qr_test_default_opf;
    const char *nv = nav ? nav : qr_test_default_nav;
    v[0] = (qr_test_entry){"mimetype", "application/epub+zip", 20, true};
    v[1] = (qr_test_entry){"META-INF/container.xml", qr_test_container_xml,
                           sizeof(qr_test_container_xml) - 1, false};
    v[2] = (qr_test_entry){"EPUB/package.opf", o, strlen(o), false};
    v[3] = (qr_test_entry){"EPUB/nav.xhtml", nv, strlen(nv), false};
    v[4] = (qr_test_entry){"EPUB/c1.xhtml", chapter, sizeof(chapter) - 1, false};
    for (size_t i = 0; i < n_extra; i++)
        v[5 + i] = extra[i];
    int rc = qr_test_zip_memory(out, len, v, n);
    free(v);
    return rc;
}
