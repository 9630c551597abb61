/*
 * OCF container level: the mimetype entry, META-INF/container.xml, DRM
 * markers (rights.xml, license.lcpl, encryption.xml algorithms), font
 * obfuscation marks and keys, Apple display options.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>

#include "parse/epub_internal.h"

#define MIMETYPE "application/epub+zip"

void qr_epub__check_mimetype(qr_epub *e, zip_t *za)
{
    int i = qr_epub__lookup(e, "mimetype", NULL);
    if (i < 0) {
        qr_warn(e->warnings, "mimetype-missing", QR_EPUB_STAGE, "mimetype",
                "no mimetype entry; the archive is treated as an EPUB anyway");
        return;
    }
    const qr_epub_entry *en = &e->entries[i];
    if (en->index != 0)
        qr_warn(e->warnings, "mimetype-not-first", QR_EPUB_STAGE, "mimetype",
                "mimetype is entry %llu, not the first", (unsigned long long)en->index);
    if (en->comp_method != ZIP_CM_STORE)
        qr_warn(e->warnings, "mimetype-compressed", QR_EPUB_STAGE, "mimetype",
                "mimetype is compressed, not stored");
    zip_int16_t nextra = zip_file_extra_fields_count(za, en->index, ZIP_FL_LOCAL);
    if (nextra > 0)
        qr_warn(e->warnings, "mimetype-extra-field", QR_EPUB_STAGE, "mimetype",
                "mimetype has %d extra field(s) in its local header", (int)nextra);
    qr_buf b = QR_BUF_INIT(256);
    qr_error local = QR_ERROR_INIT;
    if (qr_epub__zip_read(&b, e, za, (size_t)i, 255, QR_ERR_ENTRY_TOO_LARGE, &local) < 0) {
        qr_warn(e->warnings, "mimetype-invalid", QR_EPUB_STAGE, "mimetype",
                "mimetype unreadable: %s", local.msg);
    } else if (b.len != strlen(MIMETYPE) || memcmp(b.data, MIMETYPE, b.len) != 0) {
        size_t n = b.len;
        while (n && isspace(b.data[n - 1]))
            n--;
        const char *why = "other content";
        if (n == strlen(MIMETYPE) && memcmp(b.data, MIMETYPE, n) == 0)
            why = "trailing whitespace";
        else if (n == strlen(MIMETYPE) && strncasecmp((const char *)b.data, MIMETYPE, n) == 0)
            why = "wrong case";
        qr_warn(e->warnings, "mimetype-invalid", QR_EPUB_STAGE, "mimetype",
                "mimetype is not exactly " MIMETYPE " (%s)", why);
    }
    qr_buf_free(&b);
}

int qr_epub__check_drm_files(qr_epub *e, qr_error *err)
{
    static const char *const markers[] = {QR_EPUB_RIGHTS, QR_EPUB_LCPL};
    for (size_t k = 0; k < 2; k++) {
        bool folded;
        if (qr_epub__lookup(e, markers[k], &folded) >= 0) {
            int rc = qr_error_set(err, QR_ERR_DRM_PROTECTED, QR_EPUB_STAGE,
                                  "%s present: the book is DRM-protected", markers[k]);
            qr_error_set_context(err, "%s", markers[k]);
            return rc;
        }
    }
    return 0;
}

/* Finds the first element named `name` in document order below `n`. */
static xmlNode *find_desc(xmlNode *n, const char *name)
{
    for (xmlNode *c = n ? n->children : NULL; c; c = c->next) {
        if (qr_epub__xml_is(c, name))
            return c;
        xmlNode *d = find_desc(c, name);
        if (d)
            return d;
    }
    return NULL;
}

static bool is_opf_type(const char *mt)
{
    if (!mt)
        return false;
    while (isspace((unsigned char)*mt))
        mt++;
    size_t n = strlen("application/oebps-package+xml");
    return strncasecmp(mt, "application/oebps-package+xml", n) == 0 &&
           (mt[n] == 0 || isspace((unsigned char)mt[n]) || mt[n] == ';');
}

static xmlNode *pick_rootfile(qr_epub *e, xmlNode *n, xmlNode **first)
{
    for (xmlNode *c = n ? n->children : NULL; c; c = c->next) {
        if (qr_epub__xml_is(c, "rootfile") && qr_epub__xml_attr(e, c, "full-path")) {
            if (!*first)
                *first = c;
            if (is_opf_type(qr_epub__xml_attr(e, c, "media-type")))
                return c;
        }
        xmlNode *d = pick_rootfile(e, c, first);
        if (d)
            return d;
    }
    return NULL;
}

int qr_epub__parse_container(qr_epub *e, const char *xml, size_t len, qr_error *err)
{
    xmlDoc *doc = NULL;
    char *path = NULL;
    unsigned flags = 0;
    int rc =
        qr_epub__xml_parse(&doc, e, xml, len, QR_EPUB_CONTAINER, QR_ERR_CONTAINER_INVALID, err);
    if (rc < 0)
        goto out;
    xmlNode *root = xmlDocGetRootElement(doc), *first = NULL;
    xmlNode *rf = pick_rootfile(e, root, &first);
    if (!rf && first) {
        rf = first;
        qr_warn(e->warnings, "container-media-type", QR_EPUB_STAGE, QR_EPUB_CONTAINER,
                "no rootfile declares application/oebps-package+xml; using the first one");
    }
    const char *fp = rf ? qr_epub__xml_attr(e, rf, "full-path") : NULL;
    while (fp && isspace((unsigned char)*fp))
        fp++;
    if (!fp || !*fp) {
        rc = qr_error_set(err, QR_ERR_CONTAINER_INVALID, QR_EPUB_STAGE,
                          "container.xml names no rootfile");
        qr_error_set_context(err, "%s", QR_EPUB_CONTAINER);
        goto out;
    }
    /* full-path is a plain path, not a URL: no percent-decoding. */
    rc = qr_epub__href_resolve(&path, NULL, &flags, "", fp, false, err);
    if (rc < 0)
        goto out;
    if (!path || !*path) {
        rc = qr_error_set(err, QR_ERR_CONTAINER_INVALID, QR_EPUB_STAGE,
                          "rootfile full-path %s is not a container path", fp);
        qr_error_set_context(err, "%s", QR_EPUB_CONTAINER);
        goto out;
    }
    if (flags & QR_HREF_BACKSLASH)
        qr_warn(e->warnings, "href-backslash", QR_EPUB_STAGE, QR_EPUB_CONTAINER,
                "rootfile full-path %s uses '\\' separators", fp);
    e->info.opf_path = qr_epub__take(e, path);
    path = NULL;
    if (!e->info.opf_path)
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_EPUB_STAGE, "cannot copy a path");
out:
    free(path);
    if (doc)
        xmlFreeDoc(doc);
    return rc;
}

static int encrypted_data(qr_epub *e, xmlNode *ed, qr_error *err)
{
    xmlNode *m = find_desc(ed, "EncryptionMethod");
    xmlNode *cr = find_desc(ed, "CipherReference");
    const char *alg = m ? qr_epub__xml_attr(e, m, "Algorithm") : NULL;
    const char *uri = cr ? qr_epub__xml_attr(e, cr, "URI") : NULL;
    qr_obfuscation obf = QR_OBF_NONE;
    const char *path = NULL;
    int entry = -1;
    if (alg && strcmp(alg, QR_OBF_IDPF_URI) == 0)
        obf = QR_OBF_IDPF;
    else if (alg && strcmp(alg, QR_OBF_ADOBE_URI) == 0)
        obf = QR_OBF_ADOBE;
    if (!uri) {
        if (obf != QR_OBF_NONE) {
            qr_warn(e->warnings, "encryption-invalid", QR_EPUB_STAGE, QR_EPUB_ENCRYPTION,
                    "EncryptedData without CipherReference URI ignored");
            return 0;
        }
        return qr_error_set(err, QR_ERR_DRM_PROTECTED, QR_EPUB_STAGE,
                            "encryption.xml declares %s encryption", alg ? alg : "unnamed");
    }
    int rc = qr_epub__href_find(&path, NULL, &entry, e, "", uri, QR_EPUB_ENCRYPTION, err);
    if (rc < 0)
        return rc;
    if (entry < 0) {
        if (obf != QR_OBF_NONE)
            qr_warn(e->warnings, "encryption-missing-file", QR_EPUB_STAGE, uri,
                    "obfuscated font listed in encryption.xml is not in the archive");
        else
            qr_warn(e->warnings, "unknown-encryption-for-missing-file", QR_EPUB_STAGE, uri,
                    "encryption.xml declares %s for a file that is not in the archive",
                    alg ? alg : "an unnamed algorithm");
        return 0;
    }
    if (obf == QR_OBF_NONE) {
        rc = qr_error_set(err, QR_ERR_DRM_PROTECTED, QR_EPUB_STAGE,
                          "encrypted with %s (not font obfuscation)",
                          alg ? alg : "an unnamed algorithm");
        qr_error_set_context(err, "%s", path);
        return rc;
    }
    if (e->entries[entry].obf == QR_OBF_NONE)
        e->info.obfuscated_fonts++;
    e->entries[entry].obf = obf;
    return 0;
}

static int walk_encryption(qr_epub *e, xmlNode *n, qr_error *err)
{
    for (xmlNode *c = n->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        int rc = qr_epub__xml_is(c, "EncryptedData") ? encrypted_data(e, c, err)
                                                     : walk_encryption(e, c, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int qr_epub__parse_encryption(qr_epub *e, const char *xml, size_t len, qr_error *err)
{
    xmlDoc *doc = NULL;
    qr_error local = QR_ERROR_INIT;
    /* If we cannot read it we cannot prove the book is only obfuscated. */
    int rc =
        qr_epub__xml_parse(&doc, e, xml, len, QR_EPUB_ENCRYPTION, QR_ERR_DRM_PROTECTED, &local);
    if (rc < 0) {
        rc = qr_error_set(err, local.errid, QR_EPUB_STAGE, "encryption.xml: %s", local.msg);
        qr_error_set_context(err, "%s", QR_EPUB_ENCRYPTION);
        goto out;
    }
    rc = walk_encryption(e, xmlDocGetRootElement(doc), err);
out:
    if (doc)
        xmlFreeDoc(doc);
    return rc;
}

static bool find_fixed_option(qr_epub *e, xmlNode *n)
{
    for (xmlNode *c = n->children; c; c = c->next) {
        if (qr_epub__xml_is(c, "option")) {
            const char *name = qr_epub__xml_attr(e, c, "name");
            const char *v = qr_epub__xml_text(e, c);
            if (name && v && strcmp(name, "fixed-layout") == 0 && strcmp(v, "true") == 0)
                return true;
        } else if (c->type == XML_ELEMENT_NODE && find_fixed_option(e, c)) {
            return true;
        }
    }
    return false;
}

int qr_epub__parse_display_options(qr_epub *e, const char *xml, size_t len, qr_error *err)
{
    xmlDoc *doc = NULL;
    qr_error local = QR_ERROR_INIT;
    int rc = qr_epub__xml_parse(&doc, e, xml, len, QR_EPUB_DISPLAY_OPTIONS,
                                QR_ERR_CONTAINER_INVALID, &local);
    rc = qr_epub__soften(e, &local, rc, "missing-optional", QR_EPUB_DISPLAY_OPTIONS, err);
    if (doc && find_fixed_option(e, xmlDocGetRootElement(doc)))
        e->info.layout = QR_LAYOUT_FIXED;
    if (doc)
        xmlFreeDoc(doc);
    return rc;
}

static bool parse_uuid(uint8_t key[16], const char *id)
{
    if (!id)
        return false;
    while (isspace((unsigned char)*id))
        id++;
    if (strncasecmp(id, "urn:uuid:", 9) == 0)
        id += 9;
    size_t k = 0;
    for (const char *p = id; *p && !isspace((unsigned char)*p); p++) {
        if (*p == '-')
            continue;
        if (!isxdigit((unsigned char)*p) || !isxdigit((unsigned char)p[1]) || k >= 16)
            return false;
        char hex[3] = {p[0], p[1], 0};
        key[k++] = (uint8_t)strtoul(hex, NULL, 16);
        p++;
    }
    return k == 16;
}

int qr_epub__derive_keys(qr_epub *e, qr_error *err)
{
    const char *uid = e->info.unique_identifier;
    size_t n = strlen(uid);
    char *s = malloc(n + 1);
    size_t w = 0;
    if (!s)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_EPUB_STAGE, "cannot derive keys");
    for (size_t i = 0; i < n; i++)
        if (uid[i] != ' ' && uid[i] != '\t' && uid[i] != '\r' && uid[i] != '\n')
            s[w++] = uid[i];
    qr_epub__sha1(e->idpf_key, s, w);
    free(s);
    e->has_adobe_key = false;
    if (strncasecmp(uid, "urn:uuid:", 9) == 0 && parse_uuid(e->adobe_key, uid))
        e->has_adobe_key = true;
    else if (e->uuid_identifier && parse_uuid(e->adobe_key, e->uuid_identifier))
        e->has_adobe_key = true;
    return 0;
}
