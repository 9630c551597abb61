/*
 * The ZIP layer: opening the archive (file or memory), the entry table with
 * every safety check made on the central directory before anything is
 * inflated, path lookup, and bounded entry reads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parse/epub_internal.h"

/* Reads up to 4 bytes from the start of the source (for "is it a ZIP at all"). */
static size_t source_magic(const qr_epub *e, uint8_t magic[4])
{
    if (e->src_data) {
        size_t n = e->src_len < 4 ? e->src_len : 4;
        memcpy(magic, e->src_data, n);
        return n;
    }
    FILE *f = fopen(e->src_path, "rb");
    if (!f)
        return 0;
    size_t n = fread(magic, 1, 4, f);
    fclose(f);
    return n;
}

static int open_error(const qr_epub *e, int zerr, qr_error *err)
{
    uint8_t m[4] = {0};
    size_t n;
    switch (zerr) {
    case ZIP_ER_NOENT:
        return qr_error_set_cause(err, QR_ERR_SOURCE_NOT_FOUND, zerr, QR_EPUB_STAGE,
                                  "the book file does not exist");
    case ZIP_ER_MEMORY:
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_EPUB_STAGE, "libzip: out of memory");
    case ZIP_ER_OPEN:
    case ZIP_ER_READ:
    case ZIP_ER_SEEK:
        return qr_error_set_cause(err, QR_ERR_IO, zerr, QR_EPUB_STAGE, "cannot read the book");
    default:
        break;
    }
    /* A local-file or end-of-directory signature means a damaged ZIP; anything else is not one. */
    n = source_magic(e, m);
    if (n == 4 && m[0] == 'P' && m[1] == 'K' &&
        ((m[2] == 3 && m[3] == 4) || (m[2] == 5 && m[3] == 6) || (m[2] == 7 && m[3] == 8)))
        return qr_error_set_cause(err, QR_ERR_CORRUPT_ARCHIVE, zerr, QR_EPUB_STAGE,
                                  "damaged ZIP: no readable central directory (libzip error %d)",
                                  zerr);
    return qr_error_set_cause(err, QR_ERR_UNSUPPORTED_FORMAT, zerr, QR_EPUB_STAGE,
                              "not a ZIP archive, so not an EPUB");
}

int qr_epub__zip_open(zip_t **out, const qr_epub *e, qr_error *err)
{
    zip_error_t ze;
    zip_t *za = NULL;
    int zerr = 0;
    *out = NULL;
    if (e->src_data) {
        if (e->src_len == 0)
            return qr_error_set(err, QR_ERR_UNSUPPORTED_FORMAT, QR_EPUB_STAGE,
                                "empty input: not an EPUB");
        zip_error_init(&ze);
        zip_source_t *src = zip_source_buffer_create(e->src_data, e->src_len, 0, &ze);
        if (src) {
            za = zip_open_from_source(src, ZIP_RDONLY, &ze);
            if (!za)
                zip_source_free(src);
        }
        zerr = zip_error_code_zip(&ze);
        zip_error_fini(&ze);
    } else {
        uint8_t m[4];
        if (source_magic(e, m) == 0) {
            FILE *f = fopen(e->src_path, "rb");
            if (f) {
                fclose(f);
                return qr_error_set(err, QR_ERR_UNSUPPORTED_FORMAT, QR_EPUB_STAGE,
                                    "empty file: not an EPUB");
            }
        }
        za = zip_open(e->src_path, ZIP_RDONLY, &zerr);
    }
    if (!za)
        return open_error(e, zerr, err);
    *out = za;
    return 0;
}

static int cmp_path(const void *a, const void *b, const qr_epub *e)
{
    const qr_epub_entry *x = &e->entries[*(const size_t *)a];
    const qr_epub_entry *y = &e->entries[*(const size_t *)b];
    int c = strcmp(x->path, y->path);
    if (c)
        return c;
    return x->index < y->index ? -1 : (x->index > y->index);
}

/*
 * qsort has no context argument in C11; sort with a small merge sort instead
 * of a global, since the entry table is bounded by max_entries.
 */
static void sort_by_path(size_t *v, size_t *tmp, size_t n, const qr_epub *e)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    sort_by_path(v, tmp, h, e);
    sort_by_path(v + h, tmp, n - h, e);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = cmp_path(&v[i], &v[j], e) <= 0 ? v[i++] : v[j++];
    while (i < h)
        tmp[k++] = v[i++];
    while (j < n)
        tmp[k++] = v[j++];
    memcpy(v, tmp, n * sizeof(*v));
}

static int build_index(qr_epub *e, qr_error *err)
{
    size_t *tmp = NULL;
    int rc = 0;
    size_t n = 0, slots = e->n_entries ? e->n_entries : 1;
    e->by_path = calloc(slots, sizeof(*e->by_path));
    e->nfc_paths = calloc(slots, sizeof(*e->nfc_paths));
    e->nfc_warned = calloc(slots, sizeof(*e->nfc_warned));
    tmp = calloc(slots, sizeof(*tmp));
    if (!e->by_path || !e->nfc_paths || !e->nfc_warned || !tmp) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_EPUB_STAGE, "cannot index entries");
        goto out;
    }
    for (size_t i = 0; i < e->n_entries; i++) {
        if (e->entries[i].is_dir)
            continue;
        e->by_path[n++] = i;
        /* The NFC form is computed once here, so lookups stay read-only. */
        char *nfc = NULL;
        rc = qr_epub__nfc(&nfc, e->entries[i].path, err);
        if (rc < 0)
            goto out;
        if (nfc) {
            if (!(e->nfc_paths[i] = qr_epub__take(e, nfc))) {
                rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_EPUB_STAGE, "cannot index entries");
                goto out;
            }
            e->nfc_any = true;
        }
    }
    sort_by_path(e->by_path, tmp, n, e);
    /* Duplicates: the LAST copy in central-directory order wins (it is what a
     * writer that appends an updated file meant); earlier ones are shadowed. */
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        qr_epub_entry *cur = &e->entries[e->by_path[i]];
        if (i + 1 < n && strcmp(cur->path, e->entries[e->by_path[i + 1]].path) == 0) {
            cur->is_duplicate = true;
            qr_warn(e->warnings, "duplicate-entry", QR_EPUB_STAGE, cur->path,
                    "stored more than once; the last copy (entry %llu) is used",
                    (unsigned long long)e->entries[e->by_path[i + 1]].index);
            continue;
        }
        e->by_path[w++] = e->by_path[i];
    }
    e->n_by_path = w;
out:
    free(tmp);
    return rc;
}

/*
 * A folder zipped instead of its contents ("zip -r book.epub book/"): every
 * entry sits under one top-level folder X/, which holds X/META-INF/
 * container.xml, and there is no container.xml at the root. Reading systems
 * cope, so X/ is read as the container root: entry paths lose the "X/"
 * prefix (names keep the archive's bytes), and everything written from the
 * book (the compressed EPUB, slices, an unpacked EPUB) is flat.
 */
static void strip_root_folder(qr_epub *e)
{
    const char *root = NULL;
    size_t rlen = 0;
    bool container = false;
    for (size_t i = 0; i < e->n_entries; i++) {
        const qr_epub_entry *en = &e->entries[i];
        if (!en->is_dir && strcasecmp(en->path, QR_EPUB_CONTAINER) == 0)
            return;
        if (!root) {
            const char *slash = strchr(en->path, '/');
            if (en->is_dir && !slash)
                continue; /* the folder's own entry, or an empty folder: decided below */
            if (!slash || slash == en->path)
                return;
            root = en->path;
            rlen = (size_t)(slash - en->path);
        }
        if (strncmp(en->path, root, rlen) != 0)
            return;
        if (en->path[rlen] == '/')
            container = container ||
                        (!en->is_dir && strcasecmp(en->path + rlen + 1, QR_EPUB_CONTAINER) == 0);
        else if (!(en->is_dir && en->path[rlen] == 0))
            return;
    }
    if (!container)
        return;
    /* Folder entries before the first file were skipped: they must be the root folder too. */
    for (size_t i = 0; i < e->n_entries; i++) {
        const qr_epub_entry *en = &e->entries[i];
        if (en->is_dir && !strchr(en->path, '/') &&
            (strlen(en->path) != rlen || strncmp(en->path, root, rlen) != 0))
            return;
    }
    /* root points at a file's path, "X/...": the folder's name with its '/'. */
    const char *folder = qr_epub__strndup(e, root, rlen + 1);
    for (size_t i = 0; i < e->n_entries; i++) {
        qr_epub_entry *en = &e->entries[i];
        /* Paths point into pooled strings, so moving past the prefix frees nothing. */
        en->path += en->path[rlen] == '/' ? rlen + 1 : rlen;
    }
    qr_warn(e->warnings, "archive-root-folder", QR_EPUB_STAGE, folder ? folder : "",
            "every entry is under the folder %s (the folder was zipped, not its contents); it is "
            "read as the container root and written flat",
            folder ? folder : "");
}

static int check_entry(qr_epub *e, qr_epub_entry *en, const zip_stat_t *st, qr_error *err)
{
    const qr_limits *l = &e->limits;
    if (st->encryption_method != ZIP_EM_NONE)
        return qr_error_set(err, QR_ERR_DRM_PROTECTED, QR_EPUB_STAGE,
                            "ZIP entry is password-encrypted (method %u)",
                            (unsigned)st->encryption_method);
    if (st->comp_method != ZIP_CM_STORE && st->comp_method != ZIP_CM_DEFLATE)
        return qr_error_set(err, QR_ERR_CORRUPT_ARCHIVE, QR_EPUB_STAGE,
                            "unsupported compression method %u (EPUB allows only stored and "
                            "deflated)",
                            (unsigned)st->comp_method);
    if (en->size > l->max_entry_bytes)
        return qr_error_set(err, QR_ERR_ZIP_BOMB, QR_EPUB_STAGE,
                            "entry declares %llu bytes, over the %llu-byte limit",
                            (unsigned long long)en->size, (unsigned long long)l->max_entry_bytes);
    /*
     * Deflate never grows data by more than a few bytes per 16 KiB block, and
     * a stored entry is its own size: a larger compressed size means the
     * declared size lies (a bomb that would slip past the ratio check, or a
     * raw copy passing along bytes nobody checked).
     */
    if ((st->comp_method == ZIP_CM_STORE && en->comp_size != en->size) ||
        en->comp_size > en->size + (en->size >> 10) + 64)
        return qr_error_set(err, QR_ERR_CORRUPT_ARCHIVE, QR_EPUB_STAGE,
                            "entry holds %llu compressed bytes but declares only %llu",
                            (unsigned long long)en->comp_size, (unsigned long long)en->size);
    if (en->size >= l->ratio_min_bytes) {
        uint64_t comp = en->comp_size ? en->comp_size : 1;
        if (en->size / comp > l->max_ratio)
            return qr_error_set(err, QR_ERR_ZIP_BOMB, QR_EPUB_STAGE,
                                "entry expands %llu:1, over the %u:1 limit",
                                (unsigned long long)(en->size / comp), l->max_ratio);
    }
    return 0;
}

int qr_epub__zip_scan(qr_epub *e, zip_t *za, qr_error *err)
{
    const qr_limits *l = &e->limits;
    zip_int64_t n = zip_get_num_entries(za, 0);
    uint64_t total = 0, total_comp = 0;
    int rc = 0;
    if (n < 0)
        return qr_error_set(err, QR_ERR_CORRUPT_ARCHIVE, QR_EPUB_STAGE, "cannot count entries");
    if ((uint64_t)n > l->max_entries)
        return qr_error_set(err, QR_ERR_TOO_MANY_ENTRIES, QR_EPUB_STAGE,
                            "%lld entries, over the limit of %llu", (long long)n,
                            (unsigned long long)l->max_entries);
    e->entries = calloc(n ? (size_t)n : 1, sizeof(*e->entries));
    if (!e->entries)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_EPUB_STAGE, "cannot allocate entries");
    e->cap_entries = n ? (size_t)n : 1;
    for (zip_int64_t i = 0; i < n; i++) {
        zip_stat_t st;
        zip_stat_init(&st);
        if (zip_stat_index(za, (zip_uint64_t)i, 0, &st) < 0 || !(st.valid & ZIP_STAT_NAME))
            return qr_error_set(err, QR_ERR_CORRUPT_ARCHIVE, QR_EPUB_STAGE,
                                "cannot read central directory entry %lld", (long long)i);
        qr_epub_entry *en = &e->entries[e->n_entries];
        size_t nlen = strlen(st.name);
        if (nlen > l->max_path_bytes) {
            rc = qr_error_set(err, QR_ERR_UNSAFE_PATH, QR_EPUB_STAGE,
                              "entry name of %zu bytes, over the %u-byte limit", nlen,
                              l->max_path_bytes);
            goto fail_ctx;
        }
        en->name = qr_epub__strdup(e, st.name);
        if (!en->name)
            return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_EPUB_STAGE, "cannot copy a name");
        en->index = (uint64_t)i;
        en->size = st.size;
        en->comp_size = st.comp_size;
        en->comp_method = st.comp_method;
        en->crc = st.crc;
        en->mtime = (uint32_t)st.mtime;
        en->item = -1;
        en->obf = QR_OBF_NONE;
        en->is_dir = nlen > 0 && (st.name[nlen - 1] == '/' || st.name[nlen - 1] == '\\');

        char *path = NULL;
        unsigned flags = 0;
        rc = qr_epub__name_normalise(&path, &flags, st.name, err);
        if (rc < 0)
            goto fail_ctx;
        en->path = qr_epub__take(e, path);
        if (!en->path)
            return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_EPUB_STAGE, "cannot copy a name");
        if (flags & QR_HREF_BACKSLASH)
            qr_warn(e->warnings, "href-backslash", QR_EPUB_STAGE, st.name,
                    "entry name uses '\\' separators; read as %s", en->path);
        if ((flags & QR_HREF_DOTSEG) && !en->is_dir)
            qr_warn(e->warnings, "entry-name-normalised", QR_EPUB_STAGE, st.name,
                    "entry name has '.', '..' or empty segments; read as %s", en->path);
        e->n_entries++;
        if (en->is_dir)
            continue;
        rc = check_entry(e, en, &st, err);
        if (rc < 0)
            goto fail_ctx;
        total += en->size;
        total_comp += en->comp_size;
        if (total > l->max_total_bytes)
            return qr_error_set(err, QR_ERR_ZIP_BOMB, QR_EPUB_STAGE,
                                "entries expand to more than the %llu-byte total limit",
                                (unsigned long long)l->max_total_bytes);
        continue;
    fail_ctx:
        qr_error_set_context(err, "%s", st.name);
        return rc;
    }
    if (total >= l->ratio_min_bytes && total / (total_comp ? total_comp : 1) > l->max_ratio)
        return qr_error_set(err, QR_ERR_ZIP_BOMB, QR_EPUB_STAGE,
                            "archive expands %llu:1 overall, over the %u:1 limit",
                            (unsigned long long)(total / (total_comp ? total_comp : 1)),
                            l->max_ratio);
    strip_root_folder(e);
    return build_index(e, err);
}

/* The NFC form of entry `i`'s path (its path when that is already NFC). */
static const char *nfc_path(const qr_epub *e, size_t i)
{
    return e->nfc_paths && e->nfc_paths[i] ? e->nfc_paths[i] : e->entries[i].path;
}

int qr_epub__lookup_how(const qr_epub *e, const char *path, unsigned *how)
{
    size_t lo = 0, hi = e->n_by_path;
    int found = -1;
    char *nfc = NULL;
    if (how)
        *how = 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(path, e->entries[e->by_path[mid]].path);
        if (c == 0)
            return (int)e->by_path[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    if (!how)
        return -1;
    /*
     * Lenient matches scan the table: they are rare (a book whose hrefs match
     * exactly never gets here) and the table is bounded by max_entries. A
     * failed allocation only loses the NFC fallback: the href is then
     * reported missing, which is what it would be without normalisation.
     */
    qr_error ignored = QR_ERROR_INIT;
    if (qr_epub__nfc(&nfc, path, &ignored) < 0)
        nfc = NULL;
    const char *key = nfc ? nfc : path;
    if (nfc || e->nfc_any) {
        for (size_t k = 0; k < e->n_by_path && found < 0; k++) {
            if (strcmp(key, nfc_path(e, e->by_path[k])) == 0) {
                found = (int)e->by_path[k];
                *how = QR_MATCH_NFC;
            }
        }
    }
    for (size_t k = 0; k < e->n_by_path && found < 0; k++) {
        size_t i = e->by_path[k];
        if (strcasecmp(path, e->entries[i].path) == 0) {
            found = (int)i;
            *how = QR_MATCH_CASE;
        } else if ((nfc || e->nfc_any) && strcasecmp(key, nfc_path(e, i)) == 0) {
            found = (int)i;
            *how = QR_MATCH_CASE | QR_MATCH_NFC;
        }
    }
    free(nfc);
    return found;
}

int qr_epub__lookup(const qr_epub *e, const char *path, bool *lenient)
{
    unsigned how = 0;
    int i = qr_epub__lookup_how(e, path, lenient ? &how : NULL);
    if (lenient)
        *lenient = how != 0;
    return i;
}

void qr_epub__warn_match(qr_epub *e, int i, unsigned how, const char *ref, const char *context)
{
    if (i < 0 || how == 0)
        return;
    const char *name = e->entries[i].path;
    if (how & QR_MATCH_NFC) {
        /* Once per entry: a book written decomposed would repeat it for every link. */
        if (e->nfc_warned && e->nfc_warned[i])
            return;
        if (e->nfc_warned)
            e->nfc_warned[i] = true;
        qr_warn(e->warnings, "href-nfc-mismatch", QR_EPUB_STAGE, context,
                "%s matches entry %s only after Unicode NFC normalisation%s; the archive's name "
                "is kept",
                ref, name, (how & QR_MATCH_CASE) ? " and ignoring case" : "");
        return;
    }
    qr_warn(e->warnings, "href-case-mismatch", QR_EPUB_STAGE, context,
            "%s matches entry %s only ignoring case", ref, name);
}

static int read_error(zip_error_t *ze, qr_error *err)
{
    int z = zip_error_code_zip(ze);
    if (z == ZIP_ER_ENCRNOTSUPP || z == ZIP_ER_NOPASSWD || z == ZIP_ER_WRONGPASSWD)
        return qr_error_set_cause(err, QR_ERR_DRM_PROTECTED, z, QR_EPUB_STAGE,
                                  "entry is password-encrypted");
    if (z == ZIP_ER_MEMORY)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_EPUB_STAGE, "libzip: out of memory");
    return qr_error_set_cause(err, QR_ERR_CORRUPT_ARCHIVE, z, QR_EPUB_STAGE,
                              "cannot inflate entry: %s", zip_error_strerror(ze));
}

int qr_epub__zip_read(qr_buf *out, const qr_epub *e, zip_t *za, size_t i, uint64_t cap,
                      qr_errid too_big, qr_error *err)
{
    const qr_epub_entry *en = &e->entries[i];
    zip_file_t *zf = NULL;
    uint8_t chunk[1 << 15];
    uint64_t got = 0;
    int rc = 0;
    if (en->is_dir)
        return 0;
    if (en->size > cap)
        return qr_error_set(err, too_big, QR_EPUB_STAGE, "%llu bytes, over the %llu-byte limit",
                            (unsigned long long)en->size, (unsigned long long)cap);
    if (en->size > SIZE_MAX - 1)
        return qr_error_set(err, QR_ERR_ENTRY_TOO_LARGE, QR_EPUB_STAGE, "entry too large");
    /* out == NULL: inflate and check (size, CRC) without keeping the bytes. */
    if (out) {
        rc = qr_buf_reserve(out, (size_t)en->size, err);
        if (rc < 0)
            return rc;
    }
    zf = zip_fopen_index(za, en->index, 0);
    if (!zf)
        return read_error(zip_get_error(za), err);
    for (;;) {
        zip_int64_t n = zip_fread(zf, chunk, sizeof(chunk));
        if (n < 0) {
            rc = read_error(zip_file_get_error(zf), err);
            goto out;
        }
        if (n == 0)
            break;
        got += (uint64_t)n;
        /* The header may lie: never hold more than it declared. */
        if (got > en->size) {
            rc = qr_error_set(err, QR_ERR_CORRUPT_ARCHIVE, QR_EPUB_STAGE,
                              "entry inflates beyond its declared %llu bytes",
                              (unsigned long long)en->size);
            goto out;
        }
        if (out) {
            rc = qr_buf_append(out, chunk, (size_t)n, err);
            if (rc < 0)
                goto out;
        }
    }
    if (got != en->size)
        rc = qr_error_set(err, QR_ERR_CORRUPT_ARCHIVE, QR_EPUB_STAGE,
                          "entry inflates to %llu bytes, not the declared %llu",
                          (unsigned long long)got, (unsigned long long)en->size);
out:
    zip_fclose(zf);
    return rc;
}
