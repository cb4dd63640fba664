/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * outfile: an output file written under a temporary name in the same
 * directory and renamed into place only when outfile_commit succeeds, so
 * a failed run never leaves a file that looks complete. outfile_abort
 * removes the temporary file. A path naming something other than a regular
 * file (a device, a pipe) is written in place. The struct owns its FILE
 * and names.
 */
#ifndef SERVESIM_CORE_OUTFILE_H
#define SERVESIM_CORE_OUTFILE_H

#include <stdio.h>

struct outfile {
    FILE *file;
    char *path;
    char *temporary; /* NULL when written in place */
};

/* 0 or ERR_CONFIG (cannot create; reported). */
int outfile_open(struct outfile *out, const char *path);
/* Flushes, checks for write errors, closes and renames; 0 or ERR_INTERNAL. */
int outfile_commit(struct outfile *out);
void outfile_abort(struct outfile *out);

/* Opens an input file, "-" meaning standard input; NULL when it cannot be
 * opened (reported as a configuration error: exit status 2). */
FILE *input_open(const char *path);
/* Closes what input_open returned, leaving standard input open. */
void input_close(FILE *file);

/* Flushes and closes stdout, reporting a failed write; 0 or ERR_INTERNAL. */
int close_stdout(void);

#endif
