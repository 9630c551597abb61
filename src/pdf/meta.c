/*
 * Title and author: the Info dictionary first (PDFDocEncoding or UTF-16BE,
 * decoded by qpdf), then the XMP packet of /Root /Metadata (dc:title's
 * rdf:Alt, dc:creator's rdf:Seq), parsed by libxml2 without network or
 * entity expansion and within limits->max_xml_bytes.
 */
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "pdf/pdf_internal.h"

#define NS_DC "http://purl.org/dc/elements/1.1/"
#define NS_RDF "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
/* Deflate cannot expand beyond about 1032:1. */
#define FLATE_MAX_RATIO 1032

static bool is_elem(const xmlNode *n, const char *ns, const char *name)
{
    return n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
           strcmp((const char *)n->ns->href, ns) == 0 && strcmp((const char *)n->name, name) == 0;
}

static const xmlNode *find_elem(const xmlNode *n, const char *ns, const char *name, int depth)
{
    if (depth > QR_PDF_MAX_DEPTH)
        return NULL;
    for (; n; n = n->next) {
        if (is_elem(n, ns, name))
            return n;
        const xmlNode *f = find_elem(n->children, ns, name, depth + 1);
        if (f)
            return f;
    }
    return NULL;
}

/* Text of the first rdf:li under `prop` (or of `prop` itself when it has none). */
static char *first_li(const xmlNode *prop)
{
    const xmlNode *li = find_elem(prop->children, NS_RDF, "li", 0);
    xmlChar *t = xmlNodeGetContent(li ? li : prop);
    char *res = NULL;
    if (t) {
        const char *s = (const char *)t;
        size_t len = strlen(s);
        while (len && (unsigned char)s[len - 1] <= ' ')
            len--;
        while (len && (unsigned char)*s <= ' ') {
            s++;
            len--;
        }
        if (len)
            res = strndup(s, len);
        xmlFree(t);
    }
    return res;
}

/* The raw XMP bytes, or NULL (absent, unreadable, or over the limit). */
static unsigned char *xmp_bytes(size_t *len, qpdf_data q, const qr_limits *limits)
{
    unsigned char *buf = NULL;
    qpdf_oh root = qpdf_get_root(q);
    qpdf_oh md = qpdf_oh_get_key(q, root, "/Metadata");
    if (!qpdf_oh_is_stream(q, md))
        goto out;
    qpdf_oh dict = qpdf_oh_get_dict(q, md);
    long long raw = qr_pdf__int(q, qpdf_oh_get_key(q, dict, "/Length"), -1);
    bool filtered = qpdf_oh_has_key(q, dict, "/Filter");
    uint64_t cap = limits->max_xml_bytes;
    /* Bound the decoded size before decoding: a small stream can inflate hugely. */
    if (raw < 0 || (uint64_t)raw > (filtered ? cap / FLATE_MAX_RATIO : cap))
        goto out;
    QPDF_BOOL ok = QPDF_FALSE;
    if (qpdf_oh_get_stream_data(q, md, qpdf_dl_generalized, &ok, &buf, len) & QPDF_ERRORS || !ok) {
        (void)qr_pdf__failed(q);
        free(buf);
        buf = NULL;
        goto out;
    }
    if (*len > cap || *len > INT32_MAX) {
        free(buf);
        buf = NULL;
    }
out:
    (void)qr_pdf__failed(q);
    return buf;
}

static void read_xmp(char **title, char **author, qpdf_data q, const qr_limits *limits)
{
    size_t len = 0;
    unsigned char *buf = xmp_bytes(&len, q, limits);
    if (!buf)
        return;
    xmlDoc *doc = xmlReadMemory((const char *)buf, (int)len, "xmp.xml", NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                                    XML_PARSE_NOBLANKS);
    free(buf);
    if (!doc)
        return;
    const xmlNode *top = xmlDocGetRootElement(doc);
    if (!*title) {
        const xmlNode *t = find_elem(top, NS_DC, "title", 0);
        if (t)
            *title = first_li(t);
    }
    if (!*author) {
        const xmlNode *c = find_elem(top, NS_DC, "creator", 0);
        if (c)
            *author = first_li(c);
    }
    xmlFreeDoc(doc);
}

int qr_pdf__read_meta(char **title, char **author, qpdf_data q, const qr_limits *limits,
                      qr_error *err)
{
    (void)err;
    *title = *author = NULL;
    qpdf_oh trailer = qpdf_get_trailer(q);
    qpdf_oh info = qpdf_oh_get_key(q, trailer, "/Info");
    if (qpdf_oh_is_dictionary(q, info)) {
        *title = qr_pdf__text(q, qpdf_oh_get_key(q, info, "/Title"));
        *author = qr_pdf__text(q, qpdf_oh_get_key(q, info, "/Author"));
    }
    (void)qr_pdf__failed(q);
    if (!*title || !*author)
        read_xmp(title, author, q, limits);
    return 0;
}
