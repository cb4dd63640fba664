/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "core/parse.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Up to 18 plain decimal digits, the common case, cannot overflow: read
 * them directly. -1 when text is anything else. */
static int64_t
plain_digits(const char *text)
{
    int64_t v = 0;
    int n = 0;
    for (; text[n] >= '0' && text[n] <= '9'; n++) {
        if (n == 18) return -1;
        v = 10 * v + (text[n] - '0');
    }
    return n > 0 && text[n] == '\0' ? v : -1;
}

const char *
parse_i64(const char *text, int64_t min, int64_t max, int64_t *out)
{
    if (!text || !*text) return "empty";
    int64_t plain = plain_digits(text);
    if (plain >= 0) {
        if (plain < min || plain > max) return "out of range";
        *out = plain;
        return NULL;
    }
    if (isspace((unsigned char)text[0])) return "not an integer";
    errno = 0;
    char *end;
    long long v = strtoll(text, &end, 10);
    if (*end) return "not an integer";
    if (errno == ERANGE) return "out of range (overflow)";
    if (v < min || v > max) return v < 0 && min >= 0 ? "negative" : "out of range";
    *out = v;
    return NULL;
}

const char *
parse_double(const char *text, double min, double max, double *out)
{
    if (!text || !*text) return "empty";
    if (isspace((unsigned char)text[0])) return "not a number";
    errno = 0;
    char *end;
    double v = strtod(text, &end);
    if (*end) return "not a number";
    if (isnan(v)) return "NaN";
    if (isinf(v) || errno == ERANGE) return "out of range (overflow)";
    if (v < min || v > max) return v < 0 && min >= 0 ? "negative" : "out of range";
    *out = v;
    return NULL;
}

const char *
parse_bool(const char *text, bool *out)
{
    static const char *yes[] = {"true", "yes", "on", "1"};
    static const char *no[] = {"false", "no", "off", "0"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(text, yes[i]) == 0) return *out = true, NULL;
        if (strcmp(text, no[i]) == 0) return *out = false, NULL;
    }
    return "not a boolean (true/false)";
}

const char *
parse_double_list(const char *text, double min, double max, double *out, int n)
{
    double values[16];
    if (n > 16) return "list too long";
    const char *p = text;
    for (int i = 0; i < n; i++) {
        /* every item is non-empty: "1,,2" and "1,2," are refused */
        const char *comma = strchr(p, ',');
        size_t length = comma ? (size_t)(comma - p) : strlen(p);
        char item[64];
        if (length == 0) return "empty value";
        if (length >= sizeof item) return "not a number";
        memcpy(item, p, length);
        item[length] = '\0';
        const char *why = parse_double(item, min, max, &values[i]);
        if (why) return why;
        if (!comma) {
            if (i + 1 < n) return "too few values";
            break;
        }
        if (i + 1 == n) return "too many values";
        p = comma + 1;
    }
    memcpy(out, values, sizeof(double) * (size_t)n);
    return NULL;
}

void
format_double(char *buf, int size, double x)
{
    /* Up to 15 significant digits every decimal survives the round trip, so
     * %.15g (trailing zeros dropped) is already the shortest form when it
     * reads back; otherwise 16 or 17 digits are needed. */
    for (int precision = 15; precision <= 17; precision++) {
        snprintf(buf, (size_t)size, "%.*g", precision, x);
        if (strtod(buf, NULL) == x) return;
    }
}
