/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *name = "servesim";

void
set_program_name(const char *argv0)
{
    const char *slash = strrchr(argv0, '/');
    name = slash ? slash + 1 : argv0;
}

const char *
program_name(void)
{
    return name;
}

static void
report(const char *prefix, const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: %s", name, prefix);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

#define REPORT(prefix)                                                                             \
    do {                                                                                           \
        va_list ap;                                                                                \
        va_start(ap, fmt);                                                                         \
        report(prefix, fmt, ap);                                                                   \
        va_end(ap);                                                                                \
    } while (0)

int
error(const char *fmt, ...)
{
    REPORT("");
    return ERR_DATA;
}

int
config_error(const char *fmt, ...)
{
    REPORT("");
    return ERR_CONFIG;
}

int
internal_error(const char *fmt, ...)
{
    REPORT("internal error: ");
    return ERR_INTERNAL;
}

void
warn(const char *fmt, ...)
{
    REPORT("warning: ");
}

_Noreturn void
die(const char *fmt, ...)
{
    REPORT("");
    exit(EXIT_USAGE);
}

int
exit_status_of(int code)
{
    switch (code) {
    case 0:
        return EXIT_OK;
    case ERR_DATA:
        return EXIT_DATA;
    case ERR_CONFIG:
        return EXIT_USAGE;
    default:
        return EXIT_INTERNAL;
    }
}
