/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "model/result.h"

#include <string.h>

static const char *const names[STATUS_COUNT] = {"ok", "rejected", "dropped", "timeout",
                                                "unfinished"};

const char *
request_status_name(enum request_status status)
{
    return status < STATUS_COUNT ? names[status] : "?";
}

int
request_status_parse(const char *text, enum request_status *out)
{
    for (int s = 0; s < STATUS_COUNT; s++)
        if (strcmp(text, names[s]) == 0) {
            *out = (enum request_status)s;
            return 0;
        }
    return -1;
}
