/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "core/outfile.h"

#include "core/error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
outfile_open(struct outfile *out, const char *path)
{
    /* A device, pipe or socket (/dev/null, /dev/stdout, >(cmd)) is written
     * in place: there is nothing to rename, and renaming over it would
     * replace the device itself. */
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        FILE *f = fopen(path, "w");
        char *copy = strdup(path);
        if (!f || !copy) {
            int rc = config_error("cannot open '%s': %s", path, strerror(errno));
            if (f) fclose(f);
            free(copy);
            return rc;
        }
        *out = (struct outfile){f, copy, NULL};
        return 0;
    }
    size_t size = strlen(path) + 32;
    char *temporary = malloc(size);
    char *copy = strdup(path);
    if (!temporary || !copy) {
        free(temporary);
        free(copy);
        return internal_error("out of memory");
    }
    snprintf(temporary, size, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(temporary, "w");
    if (!f) {
        int rc = config_error("cannot create '%s': %s", temporary, strerror(errno));
        free(temporary);
        free(copy);
        return rc;
    }
    *out = (struct outfile){f, copy, temporary};
    return 0;
}

static void
release(struct outfile *out)
{
    free(out->path);
    free(out->temporary);
    *out = (struct outfile){0};
}

int
outfile_commit(struct outfile *out)
{
    int failed = fflush(out->file) != 0 || ferror(out->file);
    int saved = errno;
    if (fclose(out->file) != 0 && !failed) {
        failed = 1;
        saved = errno;
    }
    if (!failed && out->temporary && rename(out->temporary, out->path) != 0) {
        failed = 1;
        saved = errno;
    }
    int rc = 0;
    if (failed) {
        rc = internal_error("cannot write '%s': %s", out->path, strerror(saved));
        if (out->temporary) unlink(out->temporary);
    }
    release(out);
    return rc;
}

void
outfile_abort(struct outfile *out)
{
    if (!out->file) return;
    fclose(out->file);
    if (out->temporary) unlink(out->temporary);
    release(out);
}

FILE *
input_open(const char *path)
{
    if (strcmp(path, "-") == 0) return stdin;
    FILE *f = fopen(path, "r");
    if (!f) config_error("cannot open '%s': %s", path, strerror(errno));
    return f;
}

void
input_close(FILE *file)
{
    if (file && file != stdin) fclose(file);
}

int
close_stdout(void)
{
    int failed = fflush(stdout) != 0 || ferror(stdout);
    int saved = errno;
    if (fclose(stdout) != 0 && !failed) {
        failed = 1;
        saved = errno;
    }
    if (failed) return internal_error("cannot write standard output: %s", strerror(saved));
    return 0;
}
