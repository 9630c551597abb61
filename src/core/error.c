/* Error ids, their classes and documentation strings; qr_error helpers. */
#include "qr/error.h"

#include <stdio.h>
#include <string.h>

typedef struct errdef {
    qr_errid id;
    const char *str;
    int cls;
    bool transient;
    const char *meaning;
    const char *action;
} errdef;

/* Keep in sync with docs/errors.md (tests/unit/core/test_error.c checks it). */
static const errdef errdefs[] = {
    {QR_ERR_NONE, "ok", QR_OK, false, "no error", "nothing"},
    {QR_ERR_INVALID_ARGUMENT, "invalid-argument", QR_EINVAL, false,
     "an option, argument or configuration value is invalid",
     "fix the command line or configuration named in the message"},
    {QR_ERR_OUT_OF_MEMORY, "out-of-memory", QR_ENOMEM, true, "an allocation failed",
     "retry on a host with more free memory or lower the concurrency"},
    {QR_ERR_IO, "io", QR_EIO, true, "a local read or write failed",
     "check the path, permissions and the health of the disk; retry"},
    {QR_ERR_DISK_FULL, "disk-full", QR_EIO, true, "not enough free space in the work directory",
     "free disk space or point the work directory at a larger volume; retry"},
    {QR_ERR_SOURCE_NOT_FOUND, "source-not-found", QR_EIO, false, "the input book does not exist",
     "check the source path or URL"},
    {QR_ERR_INTERNAL, "internal", QR_EINVAL, false, "quire reached a state it should not",
     "report a bug with the job log attached"},
    {QR_ERR_CANCELED, "canceled", QR_ECANCELED, true, "the job was stopped on request",
     "nothing: the job is requeued or can be retried"},
    {QR_ERR_TIMEOUT, "timeout", QR_ETIMEOUT, true, "a deadline passed",
     "retry; raise the limit if the book is legitimately large"},
    {QR_ERR_UNSUPPORTED_FORMAT, "unsupported-format", QR_EFORMAT, false,
     "the input is neither an EPUB nor a PDF",
     "send an EPUB 2/3 or PDF file; check the upload was not truncated or renamed"},
    {QR_ERR_CORRUPT_ARCHIVE, "corrupt-archive", QR_EFORMAT, false,
     "the ZIP container is damaged (no central directory, bad CRC, inflate error, "
     "unsupported compression method)",
     "ask the publisher for a new file; re-zipping the original often helps"},
    {QR_ERR_CONTAINER_MISSING, "container-missing", QR_EFORMAT, false,
     "META-INF/container.xml is missing, so the package document cannot be found",
     "ask the publisher for a conforming EPUB"},
    {QR_ERR_CONTAINER_INVALID, "container-invalid", QR_EFORMAT, false,
     "META-INF/container.xml is not well-formed or names no rootfile",
     "ask the publisher for a conforming EPUB"},
    {QR_ERR_OPF_MISSING, "opf-missing", QR_EFORMAT, false,
     "the package document named by container.xml is not in the archive",
     "ask the publisher for a conforming EPUB"},
    {QR_ERR_OPF_INVALID, "opf-invalid", QR_EFORMAT, false,
     "the package document cannot be parsed even leniently, or lacks its manifest",
     "ask the publisher for a conforming EPUB"},
    {QR_ERR_SPINE_EMPTY, "spine-empty", QR_EFORMAT, false,
     "the package has no reading order (no spine, or no itemref that resolves)",
     "ask the publisher for a conforming EPUB"},
    {QR_ERR_DRM_PROTECTED, "drm-protected", QR_EFORMAT, false,
     "the book is protected by DRM (encryption.xml other than font obfuscation, rights.xml, "
     "license.lcpl) or the PDF needs a password",
     "ask the publisher for the unprotected master file"},
    {QR_ERR_UNSAFE_PATH, "unsafe-path", QR_EFORMAT, false,
     "an entry name or href is absolute or climbs above the container root (path traversal)",
     "reject the file; ask the publisher for a clean one"},
    {QR_ERR_ZIP_BOMB, "zip-bomb", QR_ELIMIT, false,
     "the archive expands beyond the size or compression-ratio limits",
     "reject the file; raise the limits only for a trusted publisher"},
    {QR_ERR_TOO_MANY_ENTRIES, "too-many-entries", QR_ELIMIT, false,
     "the archive holds more entries than the limit", "reject the file or raise the limit"},
    {QR_ERR_ENTRY_TOO_LARGE, "entry-too-large", QR_ELIMIT, false,
     "one entry (or one XML document) is larger than the limit",
     "reject the file or raise the limit"},
    {QR_ERR_XML_LIMIT, "xml-limit", QR_ELIMIT, false,
     "an XML document uses entity expansion, external entities or nesting beyond the limits "
     "(billion laughs, XXE)",
     "reject the file: it is malformed or hostile"},
    {QR_ERR_INPUT_TOO_LARGE, "input-too-large", QR_ELIMIT, false,
     "the input file is larger than the limit", "raise max_input_bytes if the book is genuine"},
    {QR_ERR_IMAGE_DECODE, "image-decode", QR_EFORMAT, false,
     "an image cannot be decoded (corrupt, truncated or mislabelled)",
     "nothing for the book: the image is kept unchanged and a warning is recorded"},
    {QR_ERR_IMAGE_ENCODE, "image-encode", QR_EFORMAT, false, "re-encoding an image failed",
     "nothing for the book: the image is kept unchanged and a warning is recorded"},
    {QR_ERR_IMAGE_TOO_LARGE, "image-too-large", QR_ELIMIT, false,
     "an image declares more pixels than the limit (decompression bomb guard)",
     "nothing for the book: the image is kept unchanged; raise max_image_pixels if genuine"},
    {QR_ERR_WRITE_FAILED, "write-failed", QR_EIO, true, "writing the output failed",
     "check free space and permissions of the output directory; retry"},
    {QR_ERR_KEY_FILE_INSECURE, "key-file-insecure", QR_EAUTH, false,
     "the key file can be read by group or others", "chmod 600 the key file (and check who read it)"},
    {QR_ERR_KEY_FILE_INVALID, "key-file-invalid", QR_EAUTH, false,
     "the key file (or a wrapped key) is malformed", "regenerate it with `quire keys generate`"},
    {QR_ERR_WRONG_KEY, "wrong-key", QR_ECRYPTO, false,
     "the content key cannot be unwrapped with this key file (other key id, or tampered key.json)",
     "use the key file the package was made with"},
    {QR_ERR_SLICE_TRUNCATED, "slice-truncated", QR_ECRYPTO, false,
     "a slice file is shorter than its header says", "re-publish the book"},
    {QR_ERR_SLICE_INVALID, "slice-invalid", QR_ECRYPTO, false,
     "a slice file has a bad magic number or an unknown format version", "re-publish the book"},
    {QR_ERR_SLICE_AUTH_FAILED, "slice-auth-failed", QR_ECRYPTO, false,
     "a slice does not authenticate: modified, from another position, book or revision, or "
     "sealed under another key",
     "re-publish the book; look for tampering"},
    {QR_ERR_SLICE_HASH_MISMATCH, "slice-hash-mismatch", QR_ECRYPTO, false,
     "a slice's SHA-256 or size differs from the signed manifest", "re-publish the book"},
    {QR_ERR_SLICE_MISSING, "slice-missing", QR_EIO, false,
     "a slice listed in the manifest is not in the package", "re-publish the book"},
    {QR_ERR_MANIFEST_SIGNATURE_INVALID, "manifest-signature-invalid", QR_ECRYPTO, false,
     "manifest.json does not match its Ed25519 signature", "re-publish the book; look for tampering"},
    {QR_ERR_MANIFEST_INVALID, "manifest-invalid", QR_EFORMAT, false,
     "manifest.json is missing, not JSON, or lacks the fields quire writes", "re-publish the book"},
    {QR_ERR_JOB_UNKNOWN_CLASS, "job-unknown-class", QR_EFORMAT, false,
     "a queued job names a class (or ActiveJob job_class) this worker does not run",
     "enqueue the class the worker is configured for, or point the worker at the right queue"},
    {QR_ERR_JOB_PAYLOAD_INVALID, "job-payload-invalid", QR_EFORMAT, false,
     "a queued job is not valid JSON, or lacks book_id/source, or a field has the wrong type",
     "fix the enqueueing code; the failure entry holds the payload as received"},
    {QR_ERR_REDIS_UNAVAILABLE, "redis-unavailable", QR_ENET, true,
     "Redis cannot be reached, dropped the connection or refused a command",
     "check the Redis URL and server; the worker reconnects with backoff on its own"},
    {QR_ERR_SOURCE_FORBIDDEN, "source-forbidden", QR_EINVAL, false,
     "a source or callback URL from a job is refused: its scheme is not allowed (plain http, file, ...) or it resolves to a loopback, link-local (instance metadata), private or other non-public address",
     "send a public https or s3 URL; if the address is a trusted internal service, add it to the allowlist (docs/operations/network.md)"},
    {QR_ERR_FETCH_FAILED, "fetch-failed", QR_ENET, true,
     "a remote server could not be reached or kept failing (DNS, refused or dropped connection, HTTP 5xx or 429) after the retries",
     "check the URL and the server; the job can be retried"},
    {QR_ERR_TOO_MANY_REDIRECTS, "too-many-redirects", QR_ENET, false,
     "a source URL redirected more times than the limit",
     "give the final URL of the book"},
    {QR_ERR_ACCESS_DENIED, "access-denied", QR_EAUTH, false,
     "the remote server refused the request (HTTP 401/403, S3 AccessDenied, SignatureDoesNotMatch, InvalidAccessKeyId)",
     "check the credentials, the bucket policy and the region named in the message"},
    {QR_ERR_CREDENTIALS_MISSING, "credentials-missing", QR_EAUTH, true,
     "no AWS credentials were found in the environment, the shared files, the container or the instance role",
     "set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE, or attach an instance role"},
    {QR_ERR_REMOTE_ERROR, "remote-error", QR_ENET, false,
     "a remote server answered with an error quire does not retry (another 4xx, or a malformed answer)",
     "read the status and code in the message; fix the request or the server"},
    {QR_ERR_CALLBACK_FAILED, "callback-failed", QR_ENET, true,
     "the book was published but its callback could not be delivered after the retries",
     "check the callback receiver; retrying the job re-delivers with the same idempotency key and does not republish"},
    {QR_ERR_PDF_DAMAGED, "pdf-damaged", QR_EFORMAT, false,
     "the PDF is damaged beyond what qpdf can repair (no usable cross-reference data, no page tree, no pages)",
     "ask the publisher for a new file"},
    {QR_ERR_ALERT_FAILED, "alert-failed", QR_ENET, true,
     "an alert mail or webhook could not be sent (the relay or receiver refused or was unreachable); the job's outcome is recorded all the same",
     "check the relay (--alert-smtp), its credentials and TLS, or the webhook receiver; the job's history record and failure entry hold everything the alert would have said"},
};

static const errdef *lookup(qr_errid id)
{
    for (size_t i = 0; i < sizeof(errdefs) / sizeof(errdefs[0]); i++)
        if (errdefs[i].id == id)
            return &errdefs[i];
    return lookup(QR_ERR_INTERNAL);
}

void qr_error_clear(qr_error *err)
{
    if (!err)
        return;
    memset(err, 0, sizeof(*err));
}

int qr_error_vset(qr_error *err, qr_errid id, const char *stage, const char *fmt, va_list ap)
{
    const errdef *d = lookup(id);
    if (!err)
        return d->cls;
    if (err->code != 0)
        return d->cls;
    err->code = d->cls;
    err->errid = d->id;
    err->id = d->str;
    err->stage = stage;
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    /* Messages are single lines: they end up in JSON logs and failure entries. */
    for (char *p = err->msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    return d->cls;
}

int qr_error_set(qr_error *err, qr_errid id, const char *stage, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = qr_error_vset(err, id, stage, fmt, ap);
    va_end(ap);
    return rc;
}

int qr_error_set_cause(qr_error *err, qr_errid id, int cause, const char *stage, const char *fmt,
                       ...)
{
    bool was_set = err && err->code != 0;
    va_list ap;
    va_start(ap, fmt);
    int rc = qr_error_vset(err, id, stage, fmt, ap);
    va_end(ap);
    if (err && !was_set)
        err->cause = cause;
    return rc;
}

void qr_error_set_context(qr_error *err, const char *fmt, ...)
{
    if (!err || err->context[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->context, sizeof(err->context), fmt, ap);
    va_end(ap);
}

const char *qr_errid_str(qr_errid id)
{
    return lookup(id)->str;
}

int qr_errid_class(qr_errid id)
{
    return lookup(id)->cls;
}

bool qr_errid_transient(qr_errid id)
{
    return lookup(id)->transient;
}

const char *qr_errid_meaning(qr_errid id)
{
    return lookup(id)->meaning;
}

const char *qr_errid_action(qr_errid id)
{
    return lookup(id)->action;
}

qr_errid qr_errid_from_str(const char *s)
{
    if (!s)
        return QR_ERR_NONE;
    for (size_t i = 0; i < sizeof(errdefs) / sizeof(errdefs[0]); i++)
        if (strcmp(errdefs[i].str, s) == 0)
            return errdefs[i].id;
    return QR_ERR_NONE;
}

bool qr_error_is_transient(const qr_error *err)
{
    return err && err->code != 0 && qr_errid_transient(err->errid);
}

const char *qr_code_str(int code)
{
    switch (code) {
    case QR_OK: return "OK";
    case QR_EINVAL: return "EINVAL";
    case QR_ENOMEM: return "ENOMEM";
    case QR_EIO: return "EIO";
    case QR_EFORMAT: return "EFORMAT";
    case QR_ELIMIT: return "ELIMIT";
    case QR_ENET: return "ENET";
    case QR_ETIMEOUT: return "ETIMEOUT";
    case QR_EAUTH: return "EAUTH";
    case QR_ECRYPTO: return "ECRYPTO";
    case QR_ECANCELED: return "ECANCELED";
    default: return "EUNKNOWN";
    }
}

int qr_error_exit_status(const qr_error *err)
{
    if (!err || err->code == 0)
        return 0;
    switch (err->code) {
    case QR_EINVAL: return err->errid == QR_ERR_INTERNAL ? 70 : 2;
    case QR_EFORMAT: return 3;
    case QR_ELIMIT: return 4;
    case QR_EIO: return err->errid == QR_ERR_SOURCE_NOT_FOUND ? 5 : 6;
    case QR_ENOMEM: return 6;
    case QR_ENET:
    case QR_ETIMEOUT:
    case QR_EAUTH: return 7;
    case QR_ECRYPTO: return 8;
    case QR_ECANCELED: return 130;
    default: return 1;
    }
}
