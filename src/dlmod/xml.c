/*
 * libxml2 for the `quire` binary, loaded on first use instead of linked
 * (qr/dlib.h, docs/internals/dlmod.md): EPUB documents, S3's XML answers
 * and a PDF's XMP metadata are what quire parses with it. libxml2 brings
 * ICU and liblzma with it, four shared objects in all. $QUIRE_LIBXML2 names
 * another file than libxml2.so.2. Hidden, like the other files here.
 *
 * xmlFree is a variable in libxml2 (a pointer to its free function) that
 * the callers read: it is defined here, as a function that frees through
 * libxml2's own variable once loaded.
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "dlmod/dlmod.h"
#include "qr/dlib.h"
#include "qr/epub.h"
#include "qr/error.h"

#pragma GCC visibility push(hidden)
#include <libxml/HTMLparser.h>
#include <libxml/globals.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

/* What quire calls, and what each returns when libxml2 cannot be loaded: no document. */
#define XML_FUNCTIONS(F, V)                                                                        \
    F(const char **, __xmlParserVersion, (void), (), &unavailable)                                 \
    F(htmlDocPtr, htmlCtxtReadMemory,                                                              \
      (htmlParserCtxtPtr a, const char *b, int c, const char *d, const char *e, int f),            \
      (a, b, c, d, e, f), NULL)                                                                    \
    V(htmlFreeParserCtxt, (htmlParserCtxtPtr a), (a))                                              \
    F(htmlParserCtxtPtr, htmlNewParserCtxt, (void), (), NULL)                                      \
    F(xmlDocPtr, xmlCtxtReadMemory,                                                                \
      (xmlParserCtxtPtr a, const char *b, int c, const char *d, const char *e, int f),             \
      (a, b, c, d, e, f), NULL)                                                                    \
    F(xmlNodePtr, xmlDocGetRootElement, (const xmlDoc *a), (a), NULL)                              \
    V(xmlFreeDoc, (xmlDocPtr a), (a))                                                              \
    V(xmlFreeParserCtxt, (xmlParserCtxtPtr a), (a))                                                \
    F(xmlChar *, xmlGetNoNsProp, (const xmlNode *a, const xmlChar *b), (a, b), NULL)               \
    V(xmlInitParser, (void), ())                                                                   \
    F(xmlParserCtxtPtr, xmlNewParserCtxt, (void), (), NULL)                                        \
    F(xmlChar *, xmlNodeGetContent, (const xmlNode *a), (a), NULL)                                 \
    F(xmlDocPtr, xmlReadMemory, (const char *a, int b, const char *c, const char *d, int e),       \
      (a, b, c, d, e), NULL)                                                                       \
    V(xmlSetExternalEntityLoader, (xmlExternalEntityLoader a), (a))                                \
    V(xmlSetStructuredErrorFunc, (void *a, xmlStructuredErrorFunc b), (a, b))

static const char *unavailable = "0";

/* The functions, then libxml2's xmlFree variable (its address). */
enum { XML_FUNCTIONS(QR_DL_ENUM_F, QR_DL_ENUM_V) FN_xmlFree_variable, FN_COUNT };
static const char *const names[] = {XML_FUNCTIONS(QR_DL_NAME_F, QR_DL_NAME_V) "xmlFree", NULL};
static qr_dlib_fn fns[FN_COUNT];
static qr_dlib lib = QR_DLIB_INIT("libxml2.so.2", "QUIRE_LIBXML2", names, fns, NULL);

static bool ready(void)
{
    return qr_dlib_load(&lib, "epub");
}

XML_FUNCTIONS(QR_DL_DEF_F, QR_DL_DEF_V)

/* Whatever libxml2 handed out was allocated after the load: its free function is there. */
static void free_through_libxml2(void *p)
{
    if (!p || !qr_dlib_loaded(&lib))
        return;
    xmlFreeFunc *var;
    memcpy(&var, &fns[FN_xmlFree_variable], sizeof(var));
    (*var)(p);
}

xmlFreeFunc xmlFree = free_through_libxml2;
#pragma GCC visibility pop

int qr_epub_xml_ready(qr_error *err)
{
    return qr_dlib_ready(&lib, "epub", err);
}
