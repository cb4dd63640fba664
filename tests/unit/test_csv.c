/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Laws of lib/core's readers: a plain line, cut in place, gives the fields
 * libcsv gives for it, and lines that need libcsv (quotes, CR, spaces at a
 * field's edge, records over several lines) still go through it, mixed
 * freely with plain ones; the number parsers' fast paths give exactly what
 * strtoll and strtod give.
 */
#include "core/csv.h"
#include "core/parse.h"

#include "check.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Every record of text as "line:field|field|...;", or "error" at the first failure. */
static void
records_of(const char *text, char *out, size_t size)
{
    char *copy = strdup(text);
    FILE *in = fmemopen(copy, strlen(copy), "r");
    struct csv_reader *r = csv_reader_new(in, "test");
    struct csv_record rec;
    int rc;
    out[0] = '\0';
    while ((rc = csv_reader_next(r, &rec)) > 0) {
        size_t used = strlen(out);
        used += (size_t)snprintf(out + used, size - used, "%ld:", rec.line);
        for (size_t i = 0; i < rec.count; i++)
            used += (size_t)snprintf(out + used, size - used, "%s%s", i ? "|" : "", rec.fields[i]);
        snprintf(out + used, size - used, ";");
    }
    if (rc < 0) snprintf(out, size, "error");
    csv_reader_free(r);
    fclose(in);
    free(copy);
}

TEST(csv_plain_and_libcsv_lines_agree)
{
    static const struct {
        const char *text, *records;
    } cases[] = {
        {"a,b,,c\n", "1:a|b||c;"},
        {",\n", "1:|;"},
        {"a b,c\n", "1:a b|c;"},
        {" a , b\t\n", "1:a|b;"},
        {"\"x,y\",z\nd,e\n", "1:x,y|z;2:d|e;"},
        {"x,\"a\nb\",c\nd,e\n", "1:x|a\nb|c;3:d|e;"},
        {"a,b\r\nc,d\r\n", "1:a|b;2:c|d;"},
        {"a,b\n\nc,d\n", "1:a|b;3:c|d;"},
        {"a,\"b\n", "error"},
        {"a,b", "error"},
        {"a,b\nc,d", "error"},
        {"a,x\"y\n", "error"},
    };
    char got[256];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        records_of(cases[i].text, got, sizeof got);
        if (strcmp(got, cases[i].records) != 0) printf("# case %zu: got '%s'\n", i, got);
        CHECK(strcmp(got, cases[i].records) == 0);
    }
}

static uint64_t lcg_state = 7;

static uint64_t
lcg_next(uint64_t bound)
{
    lcg_state = lcg_state * 6364136223846793005u + 1442695040888963407u;
    return (lcg_state >> 33) % bound;
}

TEST(parse_fast_paths_equal_the_c_library)
{
    char text[32];
    for (int trial = 0; trial < 200000; trial++) {
        int whole = 1 + (int)lcg_next(20), fraction = (int)lcg_next(8);
        char *p = text;
        for (int k = 0; k < whole; k++)
            *p++ = (char)('0' + lcg_next(10));
        *p = '\0';
        int64_t i64 = -1;
        char *end;
        errno = 0;
        long long expected = strtoll(text, &end, 10);
        bool overflow = errno == ERANGE;
        const char *why = parse_i64(text, 0, INT64_MAX, &i64);
        CHECK(overflow ? why != NULL : (why == NULL && i64 == expected));
        if (fraction) {
            *p++ = '.';
            for (int k = 0; k < fraction; k++)
                *p++ = (char)('0' + lcg_next(10));
            *p = '\0';
        }
        double value = -1, reference = strtod(text, NULL);
        why = parse_double(text, 0, 1e300, &value);
        CHECK(why == NULL && memcmp(&value, &reference, sizeof value) == 0);
    }
}

int
main(void)
{
    RUN(csv_plain_and_libcsv_lines_agree);
    RUN(parse_fast_paths_equal_the_c_library);
    return check_done();
}
