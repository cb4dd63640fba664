/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "model/request.h"

#include "core/error.h"
#include "core/parse.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

const char *
prefix_parse(const char *text, struct prefix_segment **segments, size_t *count,
             int64_t *total_tokens)
{
    size_t n = 0, capacity = 0;
    struct prefix_segment *list = NULL;
    int64_t total = 0;
    const char *p = text;
    while (*p) {
        const char *end = strchr(p, ';');
        size_t length = end ? (size_t)(end - p) : strlen(p);
        /* the last colon separates NAME from LEN, so names may hold colons */
        const char *colon = NULL;
        for (const char *c = p + length; c > p; c--)
            if (c[-1] == ':') {
                colon = c - 1;
                break;
            }
        const char *why = NULL;
        if (length == 0) why = "empty segment";
        else if (!colon || colon == p) why = "segment is not NAME:LEN";
        char number[32];
        size_t digits = colon ? (size_t)(p + length - colon - 1) : 0;
        if (!why && (digits == 0 || digits >= sizeof number)) why = "segment length is not a number";
        int64_t tokens = 0;
        if (!why) {
            memcpy(number, colon + 1, digits);
            number[digits] = '\0';
            why = parse_i64(number, 1, INT64_MAX / 4, &tokens);
            if (why) why = "segment length must be a positive integer";
        }
        if (!why && n == capacity) {
            capacity = capacity ? 2 * capacity : 4;
            struct prefix_segment *grown = realloc(list, capacity * sizeof *grown);
            if (!grown) why = "out of memory";
            else list = grown;
        }
        if (why) {
            free(list);
            return why;
        }
        list[n].stream = XXH3_64bits(p, (size_t)(colon - p));
        list[n].length = tokens;
        total += tokens;
        n++;
        if (!end) break;
        p = end + 1;
        if (!*p) {
            free(list);
            return "empty segment";
        }
    }
    *segments = list;
    *count = n;
    *total_tokens = total;
    return NULL;
}

void
request_clear(struct request *r)
{
    free(r->prefix);
    free(r->slo_class);
    free(r->tenant);
    free(r->session);
    free(r->segments);
    memset(r, 0, sizeof *r);
}

static char *
copy_string(const char *s)
{
    return strdup(s ? s : "");
}

int
request_copy(struct request *dst, const struct request *src)
{
    struct request r = *src;
    r.prefix = copy_string(src->prefix);
    r.slo_class = copy_string(src->slo_class);
    r.tenant = copy_string(src->tenant);
    r.session = copy_string(src->session);
    r.segments = NULL;
    if (src->num_segments) {
        r.segments = malloc(src->num_segments * sizeof *r.segments);
        if (r.segments)
            memcpy(r.segments, src->segments, src->num_segments * sizeof *r.segments);
    }
    if (!r.prefix || !r.slo_class || !r.tenant || !r.session || (src->num_segments && !r.segments)) {
        request_clear(&r);
        return internal_error("out of memory");
    }
    *dst = r;
    return 0;
}
