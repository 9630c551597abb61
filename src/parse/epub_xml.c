/*
 * Safe libxml2 parsing for the OPF, container.xml, encryption.xml, nav and
 * NCX: size cap, no DTD loading, no entity substitution, no network, every
 * <!ENTITY declaration refused (billion laughs, XXE), HTML named entities
 * mapped to UTF-8 before parsing, recovery on malformed input.
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>

#include "parse/epub_internal.h"

/* Common HTML named entities (XHTML 1.0 Latin-1, symbols, special) → code point. */
static const struct {
    const char *name;
    unsigned cp;
} html_entities[] = {
    {"nbsp", 0xA0},     {"iexcl", 0xA1},    {"cent", 0xA2},     {"pound", 0xA3},
    {"curren", 0xA4},   {"yen", 0xA5},      {"brvbar", 0xA6},   {"sect", 0xA7},
    {"uml", 0xA8},      {"copy", 0xA9},     {"ordf", 0xAA},     {"laquo", 0xAB},
    {"not", 0xAC},      {"shy", 0xAD},      {"reg", 0xAE},      {"macr", 0xAF},
    {"deg", 0xB0},      {"plusmn", 0xB1},   {"sup2", 0xB2},     {"sup3", 0xB3},
    {"acute", 0xB4},    {"micro", 0xB5},    {"para", 0xB6},     {"middot", 0xB7},
    {"cedil", 0xB8},    {"sup1", 0xB9},     {"ordm", 0xBA},     {"raquo", 0xBB},
    {"frac14", 0xBC},   {"frac12", 0xBD},   {"frac34", 0xBE},   {"iquest", 0xBF},
    {"Agrave", 0xC0},   {"Aacute", 0xC1},   {"Acirc", 0xC2},    {"Atilde", 0xC3},
    {"Auml", 0xC4},     {"Aring", 0xC5},    {"AElig", 0xC6},    {"Ccedil", 0xC7},
    {"Egrave", 0xC8},   {"Eacute", 0xC9},   {"Ecirc", 0xCA},    {"Euml", 0xCB},
    {"Igrave", 0xCC},   {"Iacute", 0xCD},   {"Icirc", 0xCE},    {"Iuml", 0xCF},
    {"ETH", 0xD0},      {"Ntilde", 0xD1},   {"Ograve", 0xD2},   {"Oacute", 0xD3},
    {"Ocirc", 0xD4},    {"Otilde", 0xD5},   {"Ouml", 0xD6},     {"times", 0xD7},
    {"Oslash", 0xD8},   {"Ugrave", 0xD9},   {"Uacute", 0xDA},   {"Ucirc", 0xDB},
    {"Uuml", 0xDC},     {"Yacute", 0xDD},   {"THORN", 0xDE},    {"szlig", 0xDF},
    {"agrave", 0xE0},   {"aacute", 0xE1},   {"acirc", 0xE2},    {"atilde", 0xE3},
    {"auml", 0xE4},     {"aring", 0xE5},    {"aelig", 0xE6},    {"ccedil", 0xE7},
    {"egrave", 0xE8},   {"eacute", 0xE9},   {"ecirc", 0xEA},    {"euml", 0xEB},
    {"igrave", 0xEC},   {"iacute", 0xED},   {"icirc", 0xEE},    {"iuml", 0xEF},
    {"eth", 0xF0},      {"ntilde", 0xF1},   {"ograve", 0xF2},   {"oacute", 0xF3},
    {"ocirc", 0xF4},    {"otilde", 0xF5},   {"ouml", 0xF6},     {"divide", 0xF7},
    {"oslash", 0xF8},   {"ugrave", 0xF9},   {"uacute", 0xFA},   {"ucirc", 0xFB},
    {"uuml", 0xFC},     {"yacute", 0xFD},   {"thorn", 0xFE},    {"yuml", 0xFF},
    {"OElig", 0x152},   {"oelig", 0x153},   {"Scaron", 0x160},  {"scaron", 0x161},
    {"Yuml", 0x178},    {"fnof", 0x192},    {"circ", 0x2C6},    {"tilde", 0x2DC},
    {"ensp", 0x2002},   {"emsp", 0x2003},   {"thinsp", 0x2009}, {"zwnj", 0x200C},
    {"zwj", 0x200D},    {"lrm", 0x200E},    {"rlm", 0x200F},    {"ndash", 0x2013},
    {"mdash", 0x2014},  {"lsquo", 0x2018},  {"rsquo", 0x2019},  {"sbquo", 0x201A},
    {"ldquo", 0x201C},  {"rdquo", 0x201D},  {"bdquo", 0x201E},  {"dagger", 0x2020},
    {"Dagger", 0x2021}, {"bull", 0x2022},   {"hellip", 0x2026}, {"permil", 0x2030},
    {"prime", 0x2032},  {"Prime", 0x2033},  {"lsaquo", 0x2039}, {"rsaquo", 0x203A},
    {"oline", 0x203E},  {"frasl", 0x2044},  {"euro", 0x20AC},   {"trade", 0x2122},
    {"larr", 0x2190},   {"uarr", 0x2191},   {"rarr", 0x2192},   {"darr", 0x2193},
    {"harr", 0x2194},   {"minus", 0x2212},  {"infin", 0x221E},  {"ne", 0x2260},
    {"le", 0x2264},     {"ge", 0x2265},     {"loz", 0x25CA},    {"spades", 0x2660},
    {"clubs", 0x2663},  {"hearts", 0x2665}, {"diams", 0x2666},  {"alpha", 0x3B1},
    {"beta", 0x3B2},    {"gamma", 0x3B3},   {"delta", 0x3B4},   {"pi", 0x3C0},
    {"sigma", 0x3C3},   {"omega", 0x3C9},   {"mu", 0x3BC},
};

static size_t utf8_put(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    o[0] = (char)(0xE0 | (cp >> 12));
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
}

static int html_entity(const char *name, size_t n)
{
    for (size_t i = 0; i < sizeof(html_entities) / sizeof(html_entities[0]); i++)
        if (strlen(html_entities[i].name) == n && memcmp(html_entities[i].name, name, n) == 0)
            return (int)i;
    return -1;
}

static bool is_xml_entity(const char *name, size_t n)
{
    static const char *const xml[] = {"amp", "lt", "gt", "quot", "apos"};
    for (size_t i = 0; i < 5; i++)
        if (strlen(xml[i]) == n && memcmp(xml[i], name, n) == 0)
            return true;
    return false;
}

/*
 * Replaces HTML named entities by their UTF-8 bytes into `out` (at least
 * len+1 bytes: every replacement is shorter than "&name;"). Returns the
 * output length; *count gets the number of substitutions.
 */
static size_t substitute_entities(char *out, const char *in, size_t len, size_t *count)
{
    size_t w = 0;
    *count = 0;
    for (size_t i = 0; i < len; i++) {
        if (in[i] == '&' && i + 1 < len && isalpha((unsigned char)in[i + 1])) {
            size_t j = i + 1;
            while (j < len && j - i <= 32 && isalnum((unsigned char)in[j]))
                j++;
            if (j < len && in[j] == ';') {
                size_t n = j - i - 1;
                int k = is_xml_entity(in + i + 1, n) ? -1 : html_entity(in + i + 1, n);
                if (k >= 0) {
                    w += utf8_put(out + w, html_entities[k].cp);
                    (*count)++;
                    i = j;
                    continue;
                }
            }
        }
        out[w++] = in[i];
    }
    out[w] = 0;
    return w;
}

/* True if `needle` occurs in data when NUL bytes are ignored (UTF-16/32 too). */
static bool contains_ascii(const char *data, size_t len, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; i < len; i++) {
        if (data[i] != needle[0])
            continue;
        size_t k = 1, j = i + 1;
        while (k < m && j < len) {
            if (data[j] == 0) {
                j++;
                continue;
            }
            if (data[j] != needle[k])
                break;
            k++;
            j++;
        }
        if (k == m)
            return true;
    }
    return false;
}

static xmlParserInputPtr deny_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
    (void)url;
    (void)id;
    (void)ctxt;
    return NULL;
}

void qr_epub__xml_init(void)
{
    xmlInitParser();
    /* Defence in depth: even if some option slipped, no external entity,
     * DTD or XInclude target is ever fetched by any libxml2 parser here. */
    xmlSetExternalEntityLoader(deny_loader);
}

static void quiet_error(void *data, xmlErrorPtr error)
{
    (void)data;
    (void)error;
}

int qr_epub__xml_parse(xmlDoc **out, qr_epub *e, const char *data, size_t len, const char *context,
                       qr_errid invalid, qr_error *err)
{
    char *sub = NULL;
    xmlParserCtxtPtr ctxt = NULL;
    xmlDoc *doc = NULL;
    int rc = 0;
    *out = NULL;
    if (len > e->limits.max_xml_bytes || len > INT_MAX) {
        rc = qr_error_set(err, QR_ERR_ENTRY_TOO_LARGE, QR_EPUB_STAGE,
                          "XML document of %zu bytes, over the %llu-byte limit", len,
                          (unsigned long long)e->limits.max_xml_bytes);
        goto out;
    }
    if (contains_ascii(data, len, "<!ENTITY")) {
        rc = qr_error_set(err, QR_ERR_XML_LIMIT, QR_EPUB_STAGE,
                          "XML document declares entities (refused: entity expansion and "
                          "external entities are never processed)");
        goto out;
    }
    sub = malloc(len + 1);
    if (!sub) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_EPUB_STAGE, "cannot copy XML");
        goto out;
    }
    size_t nsub = 0;
    size_t slen = substitute_entities(sub, data, len, &nsub);
    if (nsub)
        qr_warn(e->warnings, "xml-html-entity", QR_EPUB_STAGE, context,
                "%zu HTML named entit%s (such as &nbsp;) replaced by their characters", nsub,
                nsub == 1 ? "y" : "ies");

    ctxt = xmlNewParserCtxt();
    if (!ctxt) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_EPUB_STAGE, "cannot create XML parser");
        goto out;
    }
    ctxt->sax->serror = quiet_error;
    /*
     * libxml2 2.9 raises some errors outside the parser context, with only
     * the thread's global handler, which prints to stderr: an input whose
     * declared or sniffed encoding cannot be converted ("<\0\0\0" reads as
     * UCS-4) printed "encoding error : input conversion failed". The library
     * never prints, so this thread's handler is the quiet one (libxml2 keeps
     * it per thread; quire sets no other).
     */
    xmlSetStructuredErrorFunc(NULL, quiet_error);
    /* No XML_PARSE_NOENT, DTDLOAD, DTDATTR, XINCLUDE or HUGE: entities stay
     * unexpanded, no DTD is read, the parser's own depth limits apply. */
    int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_RECOVER |
               XML_PARSE_NOXINCNODE;
    doc = xmlCtxtReadMemory(ctxt, sub, (int)slen, NULL, NULL, opts);
    if (!doc || !xmlDocGetRootElement(doc)) {
        rc = qr_error_set(err, invalid, QR_EPUB_STAGE, "not XML, even with recovery");
        qr_error_set_context(err, "%s", context);
        goto out;
    }
    if (!ctxt->wellFormed)
        qr_warn(e->warnings, "xml-recovered", QR_EPUB_STAGE, context,
                "not well-formed XML; parsed with recovery");
    *out = doc;
    doc = NULL;
out:
    if (doc)
        xmlFreeDoc(doc);
    if (ctxt)
        xmlFreeParserCtxt(ctxt);
    free(sub);
    return rc;
}

int qr_epub__soften(qr_epub *e, const qr_error *local, int rc, const char *code,
                    const char *context, qr_error *err)
{
    if (rc >= 0)
        return rc;
    switch (local->errid) {
    case QR_ERR_XML_LIMIT:
    case QR_ERR_ENTRY_TOO_LARGE:
    case QR_ERR_UNSAFE_PATH:
    case QR_ERR_OUT_OF_MEMORY:
    case QR_ERR_TOO_MANY_ENTRIES:
        rc = qr_error_set(err, local->errid, QR_EPUB_STAGE, "%s", local->msg);
        qr_error_set_context(err, "%s", local->context[0] ? local->context : context);
        return rc;
    default:
        qr_warn(e->warnings, code, QR_EPUB_STAGE, context, "ignored: %s", local->msg);
        return 0;
    }
}

bool qr_epub__xml_is(const xmlNode *n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && n->name && strcmp((const char *)n->name, name) == 0;
}

xmlNode *qr_epub__xml_child(const xmlNode *n, const char *name)
{
    for (xmlNode *c = n ? n->children : NULL; c; c = c->next)
        if (qr_epub__xml_is(c, name))
            return c;
    return NULL;
}

static const char *pool_xml(qr_epub *e, xmlChar *v)
{
    if (!v)
        return NULL;
    const char *s = qr_epub__strdup(e, (const char *)v);
    xmlFree(v);
    return s;
}

const char *qr_epub__xml_attr(qr_epub *e, const xmlNode *n, const char *name)
{
    xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *)name);
    if (v)
        return pool_xml(e, v);
    for (xmlAttr *a = n->properties; a; a = a->next)
        if (a->name && strcmp((const char *)a->name, name) == 0)
            return pool_xml(e, xmlNodeGetContent((const xmlNode *)a));
    return NULL;
}

const char *qr_epub__xml_attr_ns(qr_epub *e, const xmlNode *n, const char *name)
{
    for (xmlAttr *a = n->properties; a; a = a->next)
        if (a->ns && a->name && strcmp((const char *)a->name, name) == 0)
            return pool_xml(e, xmlNodeGetContent((const xmlNode *)a));
    /* A prefix bound to no namespace (a broken xmlns) stays in the name. */
    char full[64];
    int k = snprintf(full, sizeof(full), "epub:%s", name);
    if (k > 0 && (size_t)k < sizeof(full)) {
        xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *)full);
        if (v)
            return pool_xml(e, v);
    }
    return NULL;
}

const char *qr_epub__xml_text(qr_epub *e, const xmlNode *n)
{
    xmlChar *v = xmlNodeGetContent(n);
    if (!v)
        return qr_epub__strdup(e, "");
    char *s = (char *)v;
    size_t w = 0;
    bool space = false;
    for (size_t i = 0; s[i]; i++) {
        if (isspace((unsigned char)s[i])) {
            space = w > 0;
            continue;
        }
        if (space)
            s[w++] = ' ';
        space = false;
        s[w++] = s[i];
    }
    s[w] = 0;
    const char *r = qr_epub__strdup(e, s);
    xmlFree(v);
    return r;
}

bool qr_epub__has_token(const char *list, const char *token)
{
    size_t n = strlen(token);
    const char *p = list;
    while (p && *p) {
        while (*p && isspace((unsigned char)*p))
            p++;
        const char *s = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
        if ((size_t)(p - s) == n && strncmp(s, token, n) == 0)
            return true;
    }
    return false;
}
