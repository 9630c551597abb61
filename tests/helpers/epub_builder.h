/*
 * Test helper: writes small ZIP/EPUB archives with libzip from a list of
 * entries, in the given order, including hostile names ("../x", "/abs",
 * "a\\b") and large zero-filled deflated entries (zip-bomb probes).
 */
#ifndef QR_TEST_EPUB_BUILDER_H
#define QR_TEST_EPUB_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct qr_test_entry {
    const char *name;
    const void *data; /* NULL: `len` zero bytes */
    size_t len;
    bool stored; /* ZIP_CM_STORE instead of deflate */
} qr_test_entry;

/* A deflated text entry / a stored text entry. */
#define QR_TEST_TEXT(n, s)                                                                         \
    {                                                                                              \
        (n), (s), sizeof(s) - 1, false                                                             \
    }
#define QR_TEST_STORED(n, s)                                                                       \
    {                                                                                              \
        (n), (s), sizeof(s) - 1, true                                                              \
    }
#define QR_TEST_ZEROS(n, l)                                                                        \
    {                                                                                              \
        (n), NULL, (l), false                                                                      \
    }

/* Writes the archive to `path`. Returns 0, or -1 with a message on stderr. */
int qr_test_zip_write(const char *path, const qr_test_entry *ents, size_t n);
/* Writes the archive into malloc'd memory (*out, free() it). */
int qr_test_zip_memory(uint8_t **out, size_t *len, const qr_test_entry *ents, size_t n);

/* container.xml naming EPUB/package.opf, and a one-chapter OPF / nav. */
extern const char qr_test_container_xml[];
extern const char qr_test_default_opf[];
extern const char qr_test_default_nav[];

/*
 * A minimal EPUB 3 in memory: mimetype (stored, first), container.xml,
 * EPUB/package.opf = `opf` (NULL: the default), EPUB/nav.xhtml = `nav`
 * (NULL: the default), EPUB/c1.xhtml, then `extra` entries.
 */
int qr_test_epub_memory(uint8_t **out, size_t *len, const char *opf, const char *nav,
                        const qr_test_entry *extra, size_t n_extra);

#endif
