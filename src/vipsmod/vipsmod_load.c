/*
 * The binary's side of the boundary (vipsmod.h): qr/image.h and the sample
 * book's drawing, implemented by loading quire-vips.so on first use.
 *
 * qr_image_global_init, called by main (and by each worker child), only
 * records argv0; main has set VIPSHOME=/dev/null while the process had one
 * thread (libvips then loads none of its own modules: docs/internals/image.md),
 * so starting libvips later sets no variable. The module is opened, and libvips started, by
 * the first call that needs pixels, once per process (pthread_once); stages
 * call qr_image_ready before starting their threads, so that happens on the
 * stage's own thread and a module that cannot be loaded fails the book with
 * one clear error instead of a warning per image.
 * qr_image_library_version only maps the module (the worker's parent asks
 * for it and must not start libvips: its threads do not survive fork).
 *
 * Where the module is: $QUIRE_VIPS_MODULE if set, else quire-vips.so next to
 * the binary (a build tree), else QR_MODULE_RELDIR/quire-vips.so relative to
 * the binary's directory (an installed quire: /usr/bin -> /usr/lib/quire).
 */
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qr/image.h"
#include "qr/log.h"
#include "qr_build.h"
#include "vipsmod/vipsmod.h"

#ifndef QR_MODULE_RELDIR
#define QR_MODULE_RELDIR "../lib/quire"
#endif

static pthread_once_t open_once = PTHREAD_ONCE_INIT;
static pthread_once_t start_once = PTHREAD_ONCE_INIT;
static const qr_vipsmod *mod; /* the module's table, once opened and checked */
static bool started;          /* libvips started (VIPS_INIT) */
static char argv0_copy[256] = "quire";
static char load_error[PATH_MAX + 4096];

/* The directory of the running binary, or "" if /proc cannot say. */
static void exe_dir(char *dir, size_t cap)
{
    ssize_t n = readlink("/proc/self/exe", dir, cap - 1);
    if (n <= 0) {
        dir[0] = '\0';
        return;
    }
    dir[n] = '\0';
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        dir[0] = '\0';
}

static void *dlopen_module(char *path, size_t cap)
{
    const char *env = getenv("QUIRE_VIPS_MODULE");
    if (env && *env) {
        snprintf(path, cap, "%s", env);
        return dlopen(path, RTLD_NOW | RTLD_LOCAL);
    }
    char dir[PATH_MAX];
    exe_dir(dir, sizeof(dir));
    snprintf(path, cap, "%s/%s", dir, QR_VIPSMOD_FILE);
    if (access(path, F_OK) == 0)
        return dlopen(path, RTLD_NOW | RTLD_LOCAL);
    snprintf(path, cap, "%s/%s/%s", dir, QR_MODULE_RELDIR, QR_VIPSMOD_FILE);
    return dlopen(path, RTLD_NOW | RTLD_LOCAL);
}

/* Maps the module and checks it is this build's; libvips is not started. */
static void open_module(void)
{
    char path[PATH_MAX + 64];
    void *h = dlopen_module(path, sizeof(path));
    const qr_vipsmod *t = NULL;
    const char *want = QR_VIPSMOD_BUILD_ID(QR_VERSION, QR_BUILD_COMMIT);
    if (!h) {
        const char *why = dlerror();
        snprintf(load_error, sizeof(load_error), "cannot load the libvips module %s: %s", path,
                 why ? why : "unknown error");
    } else if (!(t = dlsym(h, QR_VIPSMOD_SYMBOL))) {
        snprintf(load_error, sizeof(load_error), "%s has no %s: not a quire module", path,
                 QR_VIPSMOD_SYMBOL);
    } else if (strcmp(t->build_id, want) != 0 || t->sizeof_opts != sizeof(qr_image_opts) ||
               t->sizeof_result != sizeof(qr_image_result) ||
               t->sizeof_error != sizeof(qr_error)) {
        snprintf(load_error, sizeof(load_error),
                 "%s was built for quire %s, this binary is %s: reinstall quire", path,
                 t->build_id, want);
    } else {
        qr_log(QR_LOG_DEBUG, "image", "loaded %s (libvips %s)", path, t->library_version());
        mod = t;
        return;
    }
    qr_log(QR_LOG_WARN, "image", "%s", load_error);
}

static void start_vips(void)
{
    pthread_once(&open_once, open_module);
    if (!mod)
        return;
    qr_error err = QR_ERROR_INIT;
    if (mod->global_init(argv0_copy, &err) < 0) {
        snprintf(load_error, sizeof(load_error), "%s", err.msg);
        qr_log(QR_LOG_WARN, "image", "%s", load_error);
        return;
    }
    started = true;
}

int qr_image_ready(qr_error *err)
{
    pthread_once(&start_once, start_vips);
    if (started)
        return 0;
    return qr_error_set(err, QR_ERR_INTERNAL, "image", "%s", load_error);
}

int qr_image_global_init(const char *argv0, qr_error *err)
{
    (void)err;
    if (argv0)
        snprintf(argv0_copy, sizeof(argv0_copy), "%s", argv0);
    return 0;
}

void qr_image_global_shutdown(void)
{
    if (started)
        mod->global_shutdown();
}

/* Needs the module mapped, not libvips started: the worker's parent asks, and never starts it. */
const char *qr_image_library_version(void)
{
    pthread_once(&open_once, open_module);
    return mod ? mod->library_version() : "unavailable";
}

int qr_image_compress(qr_buf *out, qr_image_result *res, const uint8_t *in, size_t in_len,
                      const char *media_type, const qr_image_opts *opts, qr_error *err)
{
    int rc = qr_image_ready(err);
    if (rc < 0)
        return rc;
    return mod->compress(out, res, in, in_len, media_type, opts, err);
}

int qr_image_probe(qr_image_info *out, const uint8_t *in, size_t in_len, qr_error *err)
{
    int rc = qr_image_ready(err);
    if (rc < 0)
        return rc;
    return mod->probe(out, in, in_len, err);
}

int qr_sample__draw_images(const char *dir, const struct qr_sample_picture *pics, int n,
                           int threads, qr_error *err)
{
    int rc = qr_image_ready(err);
    if (rc < 0)
        return rc;
    return mod->draw_images(dir, pics, n, threads, err);
}
