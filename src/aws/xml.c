/*
 * The XML of AWS's query APIs (Auto Scaling, CloudWatch): a few fields read
 * by element name from answers the client already bounded. libxml2 with no
 * network and no entity expansion.
 */
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "aws/aws_internal.h"

#define XML_MAX (4u * 1024u * 1024u)

static xmlDocPtr parse(const char *xml, size_t len)
{
    if (!xml || len == 0 || len > XML_MAX)
        return NULL;
    return xmlReadMemory(xml, (int)len, "aws.xml", NULL,
                         XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

/* Depth-first: the first element named `name` below `n`, or NULL. */
static xmlNodePtr find(xmlNodePtr n, const char *name)
{
    for (; n; n = n->next) {
        if (n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0)
            return n;
        xmlNodePtr c = find(n->children, name);
        if (c)
            return c;
    }
    return NULL;
}

bool qr_aws_xml_text(char *out, size_t cap, const char *xml, size_t len, const char *name)
{
    if (cap)
        out[0] = '\0';
    xmlDocPtr doc = parse(xml, len);
    xmlNodePtr n = doc ? find(xmlDocGetRootElement(doc), name) : NULL;
    if (n) {
        xmlChar *t = xmlNodeGetContent(n);
        snprintf(out, cap, "%s", t ? (const char *)t : "");
        xmlFree(t);
    }
    xmlFreeDoc(doc);
    return n != NULL;
}

static size_t count(xmlNodePtr n, const char *name, const char *text)
{
    size_t c = 0;
    for (; n; n = n->next) {
        if (n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0) {
            xmlChar *t = xmlNodeGetContent(n);
            if (!text || (t && strcmp((const char *)t, text) == 0))
                c++;
            xmlFree(t);
        }
        c += count(n->children, name, text);
    }
    return c;
}

long qr_aws_xml_count(const char *xml, size_t len, const char *name, const char *text)
{
    xmlDocPtr doc = parse(xml, len);
    if (!doc)
        return -1;
    long c = (long)count(xmlDocGetRootElement(doc), name, text);
    xmlFreeDoc(doc);
    return c;
}
