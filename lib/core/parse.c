/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "core/parse.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Plain decimal digits, at most max_digits <= 19 of them, as an integer:
 * the common case of every CSV field, read without strtoll's locale and
 * errno machinery. false for anything else, which the general path
 * decides; *end is then left alone.
 */
static bool
plain_digits(const char *text, int max_digits, int64_t *value, const char **end)
{
    uint64_t v = 0; /* may wrap on a longer run of digits, which is refused below */
    const char *p = text;
    for (unsigned digit; (digit = (unsigned)(unsigned char)*p - '0') <= 9; p++)
        v = v * 10 + digit;
    if (p == text || p - text > max_digits) return false;
    *value = (int64_t)v;
    *end = p;
    return true;
}

const char *
parse_i64(const char *text, int64_t min, int64_t max, int64_t *out)
{
    int64_t plain;
    const char *end_plain;
    /* 18 digits never overflow, so strtoll would return the same value */
    if (text && plain_digits(text, 18, &plain, &end_plain) && !*end_plain) {
        if (plain < min || plain > max) return "out of range";
        *out = plain;
        return NULL;
    }
    if (!text || !*text) return "empty";
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

/*
 * "DIGITS" or "DIGITS.DIGITS" with at most 15 digits in all: the integer
 * of all the digits is below 2^53 and the power of ten at most 10^15, both
 * exact doubles, so one correctly rounded division gives exactly strtod's
 * result (Clinger's fast path). false for any other text.
 */
static bool
plain_decimal(const char *text, double *out)
{
    int64_t whole, fraction;
    const char *p, *q;
    if (!plain_digits(text, 15, &whole, &p)) return false;
    if (!*p) {
        *out = (double)whole;
        return true;
    }
    if (*p != '.' || !plain_digits(p + 1, 15 - (int)(p - text), &fraction, &q) || *q) return false;
    static const double tens[16] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                    1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    int64_t scale = (int64_t)tens[q - p - 1];
    *out = (double)(whole * scale + fraction) / tens[q - p - 1];
    return true;
}

const char *
parse_double(const char *text, double min, double max, double *out)
{
    double plain;
    if (text && plain_decimal(text, &plain)) {
        if (plain < min || plain > max) return plain < 0 && min >= 0 ? "negative" : "out of range";
        *out = plain;
        return NULL;
    }
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
