/* Process-wide libvips initialisation (called by main and by forked children). */
#include <stdlib.h>
#include <vips/vips.h>

#include "qr/image.h"
#include "qr/log.h"

/*
 * libvips reports recoverable oddities (truncated data, bad tiles) through
 * GLib's log, which prints to stderr by default; the library never prints,
 * so they go to quire's log at debug level. Errors reach callers through
 * qr_error regardless.
 */
static void on_vips_log(const gchar *domain, GLogLevelFlags level, const gchar *message,
                        gpointer user)
{
    (void)domain;
    (void)level;
    (void)user;
    qr_log(QR_LOG_DEBUG, "image", "libvips: %s", message);
}

/*
 * libvips loads every module it finds in $libdir/vips-modules-X.Y at start,
 * and plugins from $libdir itself, where libdir is $VIPSHOME/lib when
 * VIPSHOME is set. Debian's modules (HEIF, JPEG XL, ImageMagick, OpenSlide,
 * Poppler) add loaders quire never uses (EPUB images are JPEG, PNG, GIF,
 * WebP and SVG, each checked by its own signature first) and cost 30-45 ms
 * of every start, as much as the whole run of a small PDF; the ImageMagick
 * loader would also open any of its formats. VIPSHOME=/dev/null makes that
 * libdir a path that cannot exist, so nothing is loaded; the variable is
 * put back as it was once libvips has started. A VIPSHOME the caller set is
 * left alone (and its modules loaded).
 */
static int init_without_modules(const char *argv0)
{
    if (getenv("VIPSHOME"))
        return VIPS_INIT(argv0);
    if (setenv("VIPSHOME", "/dev/null", 1) != 0)
        return VIPS_INIT(argv0);
    int rc = VIPS_INIT(argv0);
    unsetenv("VIPSHOME");
    return rc;
}

int qr_image_global_init(const char *argv0, qr_error *err)
{
    if (init_without_modules(argv0 ? argv0 : "quire") != 0) {
        qr_error_set(err, QR_ERR_INTERNAL, "image", "libvips failed to start: %s",
                     vips_error_buffer());
        vips_error_clear();
        return err ? err->code : QR_EINVAL;
    }
    /* Each book is processed once: the operation cache only holds memory. */
    vips_cache_set_max(0);
    vips_cache_set_max_mem(0);
    /*
     * quire runs one image per worker thread across all cores; libvips'
     * own per-operation threads would oversubscribe them.
     */
    vips_concurrency_set(1);
    g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO,
                      on_vips_log, NULL);
    return 0;
}

/* libvips is linked in here: nothing to load (the binary's version: src/vipsmod). */
int qr_image_ready(qr_error *err)
{
    (void)err;
    return 0;
}

void qr_image_global_shutdown(void)
{
    vips_shutdown();
}

const char *qr_image_library_version(void)
{
    return vips_version_string();
}
