#include "qr_test.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "qr/fs.h"

const char *qr_test_corpus_dir(void)
{
    static char path[PATH_MAX];
    const char *shared = getenv("QR_SHARED_DIR");
#ifdef QR_SHARED_DIR
    if (!shared)
        shared = QR_SHARED_DIR;
#endif
    if (!shared)
        return NULL;
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s/corpus", shared);
    if (!realpath(tmp, path))
        return NULL;
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return NULL;
    return path;
}

char *qr_test_tmpdir(void)
{
    char *dir = NULL;
    const char *t = getenv("TMPDIR");
    if (qr_workdir_create(&dir, t ? t : "/tmp", "test", NULL) < 0)
        return NULL;
    return dir;
}

void qr_test_rmtree(const char *path)
{
    if (path && qr_workdir_remove(path, NULL) < 0)
        fprintf(stderr, "warning: could not remove %s\n", path);
}
