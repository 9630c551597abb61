/*
 * S3's XML: error documents (<Error><Code>..</Code><Message>..</Message>)
 * and the few answers the client reads (<UploadId>). libxml2 with no network
 * and no entity expansion, over a body already bounded by the caller.
 */
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "aws/aws_internal.h"

#define XML_MAX (256u * 1024u)

static xmlDocPtr parse(const char *xml, size_t len)
{
    if (!xml || len == 0 || len > XML_MAX)
        return NULL;
    return xmlReadMemory(xml, (int)len, "s3.xml", NULL,
                         XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

/* Copies the text of the first child element `name` of `parent` into out (truncated). */
static bool child_text(char *out, size_t cap, xmlNodePtr parent, const char *name)
{
    for (xmlNodePtr n = parent ? parent->children : NULL; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, name) != 0)
            continue;
        xmlChar *t = xmlNodeGetContent(n);
        snprintf(out, cap, "%s", t ? (const char *)t : "");
        xmlFree(t);
        return true;
    }
    return false;
}

bool qr_s3__parse_error(char *code, size_t code_cap, char *message, size_t msg_cap, const char *xml,
                        size_t len)
{
    code[0] = message[0] = '\0';
    xmlDocPtr doc = parse(xml, len);
    if (!doc)
        return false;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    bool ok = root && strcmp((const char *)root->name, "Error") == 0 &&
              child_text(code, code_cap, root, "Code");
    if (ok)
        child_text(message, msg_cap, root, "Message");
    xmlFreeDoc(doc);
    /* Only printable ASCII goes into messages. */
    for (char *p = code; *p; p++)
        if (*p < 0x20 || *p > 0x7e)
            *p = '?';
    for (char *p = message; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' ';
    return ok && code[0];
}

bool qr_s3__parse_upload_id(char *out, size_t cap, const char *xml, size_t len)
{
    out[0] = '\0';
    xmlDocPtr doc = parse(xml, len);
    if (!doc)
        return false;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    bool ok = root && strcmp((const char *)root->name, "InitiateMultipartUploadResult") == 0 &&
              child_text(out, cap, root, "UploadId") && out[0] && strlen(out) < cap - 1;
    xmlFreeDoc(doc);
    return ok;
}

qr_errid qr_s3__errid(long status, const char *code)
{
    static const char *const missing[] = {"NoSuchKey", "NoSuchBucket", "NoSuchUpload", NULL};
    static const char *const denied[] = {
        "AccessDenied",      "InvalidAccessKeyId", "SignatureDoesNotMatch",
        "ExpiredToken",      "InvalidToken",       "TokenRefreshRequired",
        "AllAccessDisabled", "AccountProblem",     NULL};
    if (code && code[0]) {
        for (size_t i = 0; missing[i]; i++)
            if (strcmp(code, missing[i]) == 0)
                return QR_ERR_SOURCE_NOT_FOUND;
        for (size_t i = 0; denied[i]; i++)
            if (strcmp(code, denied[i]) == 0)
                return QR_ERR_ACCESS_DENIED;
        return QR_ERR_REMOTE_ERROR;
    }
    if (status == 404)
        return QR_ERR_SOURCE_NOT_FOUND;
    if (status == 401 || status == 403)
        return QR_ERR_ACCESS_DENIED;
    return QR_ERR_REMOTE_ERROR;
}
