/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * parse: the one strict number parser. Every number from a flag, a CSV
 * field or a YAML scalar goes through here: the whole string must be
 * consumed, the value must lie in [min, max], NaN and infinities are
 * refused. Functions return NULL on success and leave *out untouched
 * on failure, returning a short reason for the caller's message.
 */
#ifndef SERVESIM_CORE_PARSE_H
#define SERVESIM_CORE_PARSE_H

#include <stdbool.h>
#include <stdint.h>

const char *parse_i64(const char *text, int64_t min, int64_t max, int64_t *out);
const char *parse_double(const char *text, double min, double max, double *out);
const char *parse_bool(const char *text, bool *out); /* true/false/yes/no/on/off/1/0 */

/* Parses "a,b,c" into exactly n doubles (each through parse_double). */
const char *parse_double_list(const char *text, double min, double max, double *out, int n);

/* Writes the shortest decimal form of x that reads back to the same double. */
void format_double(char *buf, int size, double x);

#endif
