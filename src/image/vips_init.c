/* Process-wide libvips initialisation (called by main and by forked children). */
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

int qr_image_global_init(const char *argv0, qr_error *err)
{
    if (VIPS_INIT(argv0 ? argv0 : "quire") != 0) {
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

void qr_image_global_shutdown(void)
{
    vips_shutdown();
}

const char *qr_image_library_version(void)
{
    return vips_version_string();
}
