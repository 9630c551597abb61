/*
 * Unicode NFC for container paths. OCF compares file names after NFC
 * normalisation, and publishers' tools disagree on the form they write:
 * macOS file systems hand zippers decomposed names ("u" + U+0308), most
 * editors write the OPF and XHTML precomposed ("ü"), or the reverse.
 *
 * The normalisation is GLib's (g_utf8_normalize with G_NORMALIZE_NFC), the
 * full Unicode algorithm: canonical decomposition, canonical ordering of
 * combining marks, composition with the exclusion table, and Hangul done
 * algorithmically. GLib is already in the process (libvips is built on it),
 * it is in Debian bookworm and trixie, and its own test suite runs Unicode's
 * NormalizationTest.txt; tests/unit/parse/test_nfc.c checks it again.
 */
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "parse/epub_internal.h"

int qr_epub__nfc(char **out, const char *s, qr_error *err)
{
    *out = NULL;
    /* ASCII is its own NFC: most names cost one scan and no allocation. */
    const unsigned char *p = (const unsigned char *)s;
    while (*p && *p < 0x80)
        p++;
    if (!*p)
        return 0;
    /* Names that are not UTF-8 have no normal form: they are compared as bytes. */
    if (!g_utf8_validate(s, -1, NULL))
        return 0;
    /*
     * GLib aborts rather than return NULL when an allocation fails, as it
     * does everywhere in libvips; the input is bounded by max_path_bytes
     * (NFC output is at most three times its input) so this is no new risk.
     */
    gchar *n = g_utf8_normalize(s, -1, G_NORMALIZE_NFC);
    if (!n)
        return 0;
    if (strcmp(n, s) != 0) {
        *out = strdup(n);
        if (!*out) {
            g_free(n);
            return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_EPUB_STAGE,
                                "cannot normalise a name");
        }
    }
    g_free(n);
    return 0;
}
