/*
 * qr_sample_book_write: a valid EPUB 3 generated from nothing.
 *
 * Entry order follows OCF: `mimetype` first, stored, with no extra field,
 * then the container, the package document, navigation, stylesheet, the
 * cover page, the chapters and the pictures. Every entry gets the same fixed
 * date and Unix mode so the same options always give the same bytes.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zip.h>

#include "qr/fs.h"
#include "qr/sample.h"
#include "sample/sample_internal.h"

#define QR_SAMPLE_MAX_CHAPTERS 500
#define QR_SAMPLE_MAX_IMAGES 200
#define QR_SAMPLE_MIN_SIDE 16
#define QR_SAMPLE_MAX_SIDE 10000
/* Hard caps on the generated documents (a chapter is at most ~60 KB). */
#define QR_SAMPLE_MAX_CHAPTER_BYTES (UINT32_C(4) << 20)
#define QR_SAMPLE_MAX_DOC_BYTES (UINT32_C(32) << 20)

#define QR_SAMPLE_MODIFIED "2024-01-01T00:00:00Z"
#define QR_SAMPLE_CREATOR "Quire Sample Generator"

static const char mimetype[] = "application/epub+zip";

static const char container_xml[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<container version=\"1.0\" xmlns=\"urn:oasis:names:tc:opendocument:xmlns:container\">\n"
    "  <rootfiles>\n"
    "    <rootfile full-path=\"EPUB/package.opf\" media-type=\"application/oebps-package+xml\"/>\n"
    "  </rootfiles>\n"
    "</container>\n";

static const char style_css[] = "body { margin: 0 5%; font-family: serif; line-height: 1.45; }\n"
                                "h1 { font-size: 1.6em; margin: 2em 0 1em; text-align: center; }\n"
                                "h2 { font-size: 1.2em; margin: 1.5em 0 0.5em; }\n"
                                "p { margin: 0; text-indent: 1.5em; text-align: justify; }\n"
                                "figure { margin: 1.5em 0; text-align: center; }\n"
                                "figure img { max-width: 100%; height: auto; }\n"
                                "figcaption { font-size: 0.85em; font-style: italic; }\n"
                                ".cover { margin: 0; padding: 0; text-align: center; }\n"
                                ".cover img { max-width: 100%; max-height: 100%; }\n";

static const char xhtml_head[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE html>\n"
    "<html xmlns=\"http://www.w3.org/1999/xhtml\" xmlns:epub=\"http://www.idpf.org/2007/ops\" "
    "xml:lang=\"en\" lang=\"en\">\n<head>\n  <meta charset=\"UTF-8\"/>\n  <title>";

/* Everything one write holds; freed at one place. */
typedef struct sample_book {
    const qr_sample_opts *o;
    zip_t *za;
    char *workdir;
    qr_sample_chapter *chapters;
    qr_sample_image *images;
    qr_buf *texts; /* one XHTML buffer per chapter */
    int pages;     /* print pages in the whole book */
    time_t mtime;
} sample_book;

static int check_opts(const char *path, const qr_sample_opts *o, qr_error *err)
{
    if (!path || !*path)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "sample", "no output path given");
    if (!o)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "sample", "no options given");
    if (o->chapters < 1 || o->chapters > QR_SAMPLE_MAX_CHAPTERS)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "sample",
                            "chapters must be 1..%d, got %d", QR_SAMPLE_MAX_CHAPTERS, o->chapters);
    if (o->images < 0 || o->images > QR_SAMPLE_MAX_IMAGES)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "sample", "images must be 0..%d, got %d",
                            QR_SAMPLE_MAX_IMAGES, o->images);
    if (o->image_width < QR_SAMPLE_MIN_SIDE || o->image_width > QR_SAMPLE_MAX_SIDE ||
        o->image_height < QR_SAMPLE_MIN_SIDE || o->image_height > QR_SAMPLE_MAX_SIDE)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "sample",
                            "image size must be %d..%d on each side, got %dx%d", QR_SAMPLE_MIN_SIDE,
                            QR_SAMPLE_MAX_SIDE, o->image_width, o->image_height);
    if (o->threads < 0 || o->threads > QR_SAMPLE_MAX_THREADS)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "sample", "threads must be 0..%d, got %d",
                            QR_SAMPLE_MAX_THREADS, o->threads);
    if (!o->title || !*o->title)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "sample", "title must not be empty");
    if (!o->identifier || !*o->identifier)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "sample", "identifier must not be empty");
    return 0;
}

/*
 * ZIP stores local (DOS) time. mktime() is the inverse of the localtime()
 * libzip applies, so every time zone records the same 2024-01-01 12:00.
 */
static time_t fixed_mtime(void)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = 2024 - 1900;
    tm.tm_mon = 0;
    tm.tm_mday = 1;
    tm.tm_hour = 12;
    tm.tm_isdst = -1;
    return mktime(&tm);
}

static int zip_fail(qr_error *err, zip_t *za, const char *what, const char *name)
{
    int rc = qr_error_set(err, QR_ERR_WRITE_FAILED, "sample", "%s: %s", what, zip_strerror(za));
    qr_error_set_context(err, "%s", name);
    return rc;
}

static int finish_entry(sample_book *bk, zip_int64_t idx, bool store, const char *name,
                        qr_error *err)
{
    zip_uint64_t i = (zip_uint64_t)idx;
    if (zip_set_file_compression(bk->za, i, store ? ZIP_CM_STORE : ZIP_CM_DEFLATE, 0) < 0 ||
        zip_file_set_mtime(bk->za, i, bk->mtime, 0) < 0 ||
        zip_file_set_external_attributes(bk->za, i, 0, ZIP_OPSYS_UNIX,
                                         (zip_uint32_t)0100644 << 16) < 0)
        return zip_fail(err, bk->za, "cannot set entry attributes", name);
    return 0;
}

/* Adds `len` bytes of static or caller-kept data (copied by libzip at close). */
static int add_static(sample_book *bk, const char *name, const void *data, size_t len, bool store,
                      qr_error *err)
{
    zip_source_t *src = zip_source_buffer(bk->za, data, len, 0);
    if (!src)
        return zip_fail(err, bk->za, "cannot create source", name);
    zip_int64_t idx = zip_file_add(bk->za, name, src, ZIP_FL_ENC_UTF_8);
    if (idx < 0) {
        zip_source_free(src);
        return zip_fail(err, bk->za, "cannot add entry", name);
    }
    return finish_entry(bk, idx, store, name, err);
}

/* Adds the contents of `b`; libzip takes the storage and frees it after close. */
static int add_buf(sample_book *bk, const char *name, qr_buf *b, qr_error *err)
{
    size_t len = 0;
    uint8_t *data = qr_buf_detach(b, &len);
    zip_source_t *src = zip_source_buffer(bk->za, data, len, 1);
    if (!src) {
        free(data);
        return zip_fail(err, bk->za, "cannot create source", name);
    }
    zip_int64_t idx = zip_file_add(bk->za, name, src, ZIP_FL_ENC_UTF_8);
    if (idx < 0) {
        zip_source_free(src);
        return zip_fail(err, bk->za, "cannot add entry", name);
    }
    return finish_entry(bk, idx, false, name, err);
}

/* Adds a file that libzip reads when the archive is closed. Pictures are stored. */
static int add_file(sample_book *bk, const char *name, const char *file, qr_error *err)
{
    zip_source_t *src = zip_source_file(bk->za, file, 0, -1);
    if (!src)
        return zip_fail(err, bk->za, "cannot open generated picture", name);
    zip_int64_t idx = zip_file_add(bk->za, name, src, ZIP_FL_ENC_UTF_8);
    if (idx < 0) {
        zip_source_free(src);
        return zip_fail(err, bk->za, "cannot add entry", name);
    }
    return finish_entry(bk, idx, true, name, err);
}

static const char *image_type(const qr_sample_image *img)
{
    return img->is_png ? "image/png" : "image/jpeg";
}

static int package_opf(qr_buf *b, const sample_book *bk, qr_error *err)
{
    const qr_sample_opts *o = bk->o;
    int rc = qr_buf_appendf(b, err,
                            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                            "<package xmlns=\"http://www.idpf.org/2007/opf\" version=\"3.0\" "
                            "unique-identifier=\"book-id\" xml:lang=\"en\">\n"
                            "  <metadata xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\n"
                            "    <dc:identifier id=\"book-id\">");
    if (rc == 0)
        rc = qr_sample__xml_escape(b, o->identifier, err);
    if (rc == 0)
        rc = qr_buf_appendf(b, err, "</dc:identifier>\n    <dc:title>");
    if (rc == 0)
        rc = qr_sample__xml_escape(b, o->title, err);
    if (rc == 0)
        rc = qr_buf_appendf(
            b, err,
            "</dc:title>\n    <dc:language>en</dc:language>\n"
            "    <dc:creator>" QR_SAMPLE_CREATOR "</dc:creator>\n"
            "    <meta property=\"dcterms:modified\">" QR_SAMPLE_MODIFIED "</meta>\n"
            "    <meta name=\"cover\" content=\"cover-image\"/>\n"
            "  </metadata>\n  <manifest>\n"
            "    <item id=\"nav\" href=\"nav.xhtml\" media-type=\"application/xhtml+xml\" "
            "properties=\"nav\"/>\n"
            "    <item id=\"ncx\" href=\"toc.ncx\" media-type=\"application/x-dtbncx+xml\"/>\n"
            "    <item id=\"css\" href=\"css/style.css\" media-type=\"text/css\"/>\n"
            "    <item id=\"cover-image\" href=\"images/cover.jpg\" media-type=\"image/jpeg\" "
            "properties=\"cover-image\"/>\n"
            "    <item id=\"cover-page\" href=\"text/cover.xhtml\" "
            "media-type=\"application/xhtml+xml\"/>\n");
    for (int c = 0; c < o->chapters && rc == 0; c++)
        rc = qr_buf_appendf(b, err,
                            "    <item id=\"ch-%03d\" href=\"text/chapter-%02d.xhtml\" "
                            "media-type=\"application/xhtml+xml\"/>\n",
                            c + 1, c + 1);
    for (int i = 0; i < o->images && rc == 0; i++)
        rc = qr_buf_appendf(b, err,
                            "    <item id=\"img-%03d\" href=\"images/%s\" media-type=\"%s\"/>\n",
                            bk->images[i].index, bk->images[i].name, image_type(&bk->images[i]));
    if (rc == 0)
        rc = qr_buf_appendf(b, err,
                            "  </manifest>\n  <spine toc=\"ncx\">\n"
                            "    <itemref idref=\"cover-page\"/>\n");
    for (int c = 0; c < o->chapters && rc == 0; c++)
        rc = qr_buf_appendf(b, err, "    <itemref idref=\"ch-%03d\"/>\n", c + 1);
    if (rc == 0)
        rc = qr_buf_appendf(b, err, "  </spine>\n</package>\n");
    return rc;
}

static int nav_xhtml(qr_buf *b, const sample_book *bk, qr_error *err)
{
    int rc =
        qr_buf_appendf(b, err,
                       "%sContents</title>\n"
                       "  <link rel=\"stylesheet\" type=\"text/css\" href=\"css/style.css\"/>\n"
                       "</head>\n<body>\n"
                       "  <nav epub:type=\"toc\" id=\"toc\">\n    <h1>Contents</h1>\n    <ol>\n",
                       xhtml_head);
    for (int c = 0; c < bk->o->chapters && rc == 0; c++)
        rc = qr_buf_appendf(b, err, "      <li><a href=\"text/chapter-%02d.xhtml\">%s</a></li>\n",
                            c + 1, bk->chapters[c].title);
    if (rc == 0)
        rc = qr_buf_appendf(b, err,
                            "    </ol>\n  </nav>\n"
                            "  <nav epub:type=\"page-list\" id=\"page-list\" hidden=\"\">\n"
                            "    <h2>Pages</h2>\n    <ol>\n");
    for (int c = 0; c < bk->o->chapters && rc == 0; c++) {
        const qr_sample_chapter *ch = &bk->chapters[c];
        for (int p = ch->first_page; p < ch->first_page + ch->pages && rc == 0; p++)
            rc = qr_buf_appendf(
                b, err, "      <li><a href=\"text/chapter-%02d.xhtml#page-%d\">%d</a></li>\n",
                ch->index, p, p);
    }
    if (rc == 0)
        rc = qr_buf_appendf(
            b, err,
            "    </ol>\n  </nav>\n"
            "  <nav epub:type=\"landmarks\" id=\"landmarks\" hidden=\"\">\n"
            "    <h2>Landmarks</h2>\n    <ol>\n"
            "      <li><a epub:type=\"cover\" href=\"text/cover.xhtml\">Cover</a></li>\n"
            "      <li><a epub:type=\"bodymatter\" href=\"text/chapter-01.xhtml\">"
            "Start reading</a></li>\n"
            "    </ol>\n  </nav>\n</body>\n</html>\n");
    return rc;
}

/*
 * NCX for EPUB 2 reading systems. playOrder follows reading order, so each
 * chapter's navPoint comes before the pageTargets inside it.
 */
static int toc_ncx(qr_buf *b, const sample_book *bk, qr_error *err)
{
    int rc =
        qr_buf_appendf(b, err,
                       "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                       "<ncx xmlns=\"http://www.daisy.org/z3986/2005/ncx/\" version=\"2005-1\" "
                       "xml:lang=\"en\">\n  <head>\n    <meta name=\"dtb:uid\" content=\"");
    if (rc == 0)
        rc = qr_sample__xml_escape(b, bk->o->identifier, err);
    if (rc == 0)
        rc = qr_buf_appendf(b, err,
                            "\"/>\n    <meta name=\"dtb:depth\" content=\"1\"/>\n"
                            "    <meta name=\"dtb:totalPageCount\" content=\"%d\"/>\n"
                            "    <meta name=\"dtb:maxPageNumber\" content=\"%d\"/>\n"
                            "  </head>\n  <docTitle><text>",
                            bk->pages, bk->pages);
    if (rc == 0)
        rc = qr_sample__xml_escape(b, bk->o->title, err);
    if (rc == 0)
        rc = qr_buf_appendf(b, err, "</text></docTitle>\n  <navMap>\n");
    int order = 1;
    for (int c = 0; c < bk->o->chapters && rc == 0; c++) {
        const qr_sample_chapter *ch = &bk->chapters[c];
        rc = qr_buf_appendf(b, err,
                            "    <navPoint id=\"np-%d\" playOrder=\"%d\">"
                            "<navLabel><text>%s</text></navLabel>"
                            "<content src=\"text/chapter-%02d.xhtml\"/></navPoint>\n",
                            ch->index, order, ch->title, ch->index);
        order += 1 + ch->pages;
    }
    if (rc == 0)
        rc = qr_buf_appendf(
            b, err, "  </navMap>\n  <pageList>\n    <navLabel><text>Pages</text></navLabel>\n");
    order = 1;
    for (int c = 0; c < bk->o->chapters && rc == 0; c++) {
        const qr_sample_chapter *ch = &bk->chapters[c];
        order++;
        for (int p = ch->first_page; p < ch->first_page + ch->pages && rc == 0; p++)
            rc = qr_buf_appendf(b, err,
                                "    <pageTarget id=\"pt-%d\" type=\"normal\" value=\"%d\" "
                                "playOrder=\"%d\"><navLabel><text>%d</text></navLabel>"
                                "<content src=\"text/chapter-%02d.xhtml#page-%d\"/></pageTarget>\n",
                                p, p, order++, p, ch->index, p);
    }
    if (rc == 0)
        rc = qr_buf_appendf(b, err, "  </pageList>\n</ncx>\n");
    return rc;
}

static int cover_xhtml(qr_buf *b, const sample_book *bk, qr_error *err)
{
    int rc = qr_buf_appendf(b, err,
                            "%sCover</title>\n"
                            "  <link rel=\"stylesheet\" type=\"text/css\" "
                            "href=\"../css/style.css\"/>\n</head>\n<body class=\"cover\">\n"
                            "  <section epub:type=\"cover\">\n"
                            "    <img src=\"../images/cover.jpg\" alt=\"Cover of ",
                            xhtml_head);
    if (rc == 0)
        rc = qr_sample__xml_escape(b, bk->o->title, err);
    if (rc == 0)
        rc = qr_buf_appendf(b, err, "\"/>\n  </section>\n</body>\n</html>\n");
    return rc;
}

/* Chapters and their text come first: the navigation needs their page counts. */
static int plan_book(sample_book *bk, qr_error *err)
{
    const qr_sample_opts *o = bk->o;
    bk->chapters = calloc((size_t)o->chapters, sizeof(*bk->chapters));
    bk->texts = calloc((size_t)o->chapters, sizeof(*bk->texts));
    bk->images = calloc((size_t)o->images + 1, sizeof(*bk->images));
    if (!bk->chapters || !bk->texts || !bk->images)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "sample", "cannot plan %d chapters",
                            o->chapters);
    static const char *const moods[] = {"warm", "cool", "misty", "bright", "dusky", "hazy"};
    for (int i = 0; i < o->images; i++) {
        qr_sample_image *img = &bk->images[i];
        img->index = i + 1;
        img->chapter = (int)((long)i * o->chapters / o->images) + 1;
        img->is_png = (i % 2) == 1;
        snprintf(img->name, sizeof(img->name), "img-%03d.%s", img->index,
                 img->is_png ? "png" : "jpg");
        snprintf(img->alt, sizeof(img->alt),
                 "Generated picture %d: a %s colour field with soft shapes", img->index,
                 moods[(o->seed + (uint32_t)i) % 6]);
    }
    int page = 1;
    int first_image = 0;
    for (int c = 0; c < o->chapters; c++) {
        qr_sample_chapter *ch = &bk->chapters[c];
        qr_sample__chapter_title(ch, c + 1, o->seed);
        ch->first_page = page;
        int n = 0;
        while (first_image + n < o->images && bk->images[first_image + n].chapter == c + 1)
            n++;
        qr_buf_init(&bk->texts[c], QR_SAMPLE_MAX_CHAPTER_BYTES);
        int rc =
            qr_sample__chapter_xhtml(&bk->texts[c], ch, o->seed, &bk->images[first_image], n, err);
        if (rc < 0)
            return rc;
        first_image += n;
        page += ch->pages;
    }
    bk->pages = page - 1;
    return 0;
}

/* Builds a navigation document with `fn` and adds it as `name`. */
static int add_doc(sample_book *bk, const char *name,
                   int (*fn)(qr_buf *, const sample_book *, qr_error *), qr_error *err)
{
    qr_buf b = QR_BUF_INIT(QR_SAMPLE_MAX_DOC_BYTES);
    int rc = fn(&b, bk, err);
    if (rc == 0)
        rc = add_buf(bk, name, &b, err);
    qr_buf_free(&b);
    if (rc < 0)
        qr_error_set_context(err, "%s", name);
    return rc;
}

static int draw_pictures(sample_book *bk, qr_error *err)
{
    const qr_sample_opts *o = bk->o;
    int rc = 0;
    int n = o->images + 1;
    qr_sample_picture *pics = calloc((size_t)n, sizeof(*pics));
    if (!pics)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "sample", "cannot plan %d pictures", n);
    /* The cover is portrait (2:3) at the pictures' height. */
    snprintf(pics[0].name, sizeof(pics[0].name), "cover.jpg");
    pics[0].h = o->image_height;
    pics[0].w =
        o->image_height * 2 / 3 < QR_SAMPLE_MIN_SIDE ? QR_SAMPLE_MIN_SIDE : o->image_height * 2 / 3;
    pics[0].seed = o->seed ^ 0xc0ffeeu;
    for (int i = 0; i < o->images; i++) {
        const qr_sample_image *img = &bk->images[i];
        qr_sample_picture *p = &pics[i + 1];
        snprintf(p->name, sizeof(p->name), "%s", img->name);
        p->w = o->image_width;
        p->h = o->image_height;
        p->is_png = img->is_png;
        p->seed = o->seed * 1000003u + (uint32_t)img->index;
    }
    int threads = o->threads;
    if (threads == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cpus < 1 ? 1 : cpus > QR_SAMPLE_MAX_THREADS ? QR_SAMPLE_MAX_THREADS : (int)cpus;
    }
    rc = qr_sample__draw_images(bk->workdir, pics, n, threads, err);
    /* libzip opens the files now and reads them when the archive is closed. */
    for (int i = 0; i < n && rc == 0; i++) {
        char file[4096], name[64];
        snprintf(file, sizeof(file), "%s/%s", bk->workdir, pics[i].name);
        snprintf(name, sizeof(name), "EPUB/images/%s", pics[i].name);
        rc = add_file(bk, name, file, err);
    }
    free(pics);
    return rc;
}

/* The directory that will hold `path`, so temporary files stay on its filesystem. */
static int parent_dir(char *out, size_t n, const char *path, qr_error *err)
{
    const char *slash = strrchr(path, '/');
    int len = snprintf(out, n, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    if (len < 0 || (size_t)len >= n)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "sample", "output path too long");
    if (slash == path)
        snprintf(out, n, "/");
    return 0;
}

int qr_sample_book_write(const char *path, const qr_sample_opts *opts, qr_error *err)
{
    sample_book bk;
    memset(&bk, 0, sizeof(bk));
    bk.o = opts;
    bk.mtime = fixed_mtime();
    char dir[4096];
    int rc = check_opts(path, opts, err);
    if (rc < 0)
        return rc;
    rc = parent_dir(dir, sizeof(dir), path, err);
    if (rc < 0)
        goto out;
    rc = plan_book(&bk, err);
    if (rc < 0)
        goto out;
    /* Pictures are drawn to files beside the output, so memory holds one at a time. */
    rc = qr_workdir_create(&bk.workdir, dir, "sample", err);
    if (rc < 0)
        goto out;

    int zerr = 0;
    bk.za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
    if (!bk.za) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, zerr);
        rc = qr_error_set(err, QR_ERR_WRITE_FAILED, "sample", "cannot create %s: %s", path,
                          zip_error_strerror(&ze));
        zip_error_fini(&ze);
        goto out;
    }
    rc = add_static(&bk, "mimetype", mimetype, sizeof(mimetype) - 1, true, err);
    if (rc == 0)
        rc = add_static(&bk, "META-INF/container.xml", container_xml, sizeof(container_xml) - 1,
                        false, err);
    if (rc == 0)
        rc = add_doc(&bk, "EPUB/package.opf", package_opf, err);
    if (rc == 0)
        rc = add_doc(&bk, "EPUB/nav.xhtml", nav_xhtml, err);
    if (rc == 0)
        rc = add_doc(&bk, "EPUB/toc.ncx", toc_ncx, err);
    if (rc == 0)
        rc = add_static(&bk, "EPUB/css/style.css", style_css, sizeof(style_css) - 1, false, err);
    if (rc == 0)
        rc = add_doc(&bk, "EPUB/text/cover.xhtml", cover_xhtml, err);
    for (int c = 0; c < opts->chapters && rc == 0; c++) {
        char name[64];
        snprintf(name, sizeof(name), "EPUB/text/chapter-%02d.xhtml", c + 1);
        rc = add_buf(&bk, name, &bk.texts[c], err);
    }
    if (rc == 0)
        rc = draw_pictures(&bk, err);
    if (rc < 0)
        goto out;
    /* zip_close writes a temporary file beside `path` and renames it: atomic. */
    if (zip_close(bk.za) < 0) {
        rc = qr_error_set(err, QR_ERR_WRITE_FAILED, "sample", "cannot write %s: %s", path,
                          zip_strerror(bk.za));
        goto out;
    }
    bk.za = NULL;
out:
    if (bk.za)
        zip_discard(bk.za);
    if (bk.workdir) {
        int rm = qr_workdir_remove(bk.workdir, err);
        if (rc == 0)
            rc = rm;
    }
    free(bk.workdir);
    if (bk.texts)
        for (int c = 0; c < opts->chapters; c++)
            qr_buf_free(&bk.texts[c]);
    free(bk.texts);
    free(bk.images);
    free(bk.chapters);
    if (rc < 0)
        qr_error_set_context(err, "%s", path);
    return rc;
}
