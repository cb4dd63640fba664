/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * csv: streaming CSV records over libcsv, with exact line numbers.
 *
 * A csv_reader owns its current record; fields stay valid until the next
 * call to csv_reader_next() or csv_reader_free(). Input is read a line at
 * a time, so memory is bounded by the longest record. A last line with no
 * terminating newline is reported as a truncated file. Blank lines are
 * skipped. The reader does not own the FILE.
 *
 * csv_columns maps a header to known column names: an unknown or repeated
 * column, or a missing required one, is an error naming file:1.
 */
#ifndef SERVESIM_CORE_CSV_H
#define SERVESIM_CORE_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct csv_record {
    size_t count;   /* number of fields */
    char **fields;  /* NUL-terminated field texts */
    long line;      /* line on which the record starts (1-based) */
};

struct csv_reader;

struct csv_reader *csv_reader_new(FILE *in, const char *name);
/* 1: *out holds a record; 0: end of input; ERR_DATA: malformed (reported). */
int csv_reader_next(struct csv_reader *reader, struct csv_record *out);
const char *csv_reader_name(const struct csv_reader *reader);
void csv_reader_free(struct csv_reader *reader);

struct csv_column {
    const char *name;
    bool required;
};

/*
 * Fills index[i] with the header position of columns[i], or -1 when an
 * optional column is absent. Returns 0 or ERR_DATA (reported).
 */
int csv_columns_map(const struct csv_record *header, const char *file,
                    const struct csv_column *columns, size_t count, int *index);

/* Writes one field, quoting it only when it needs quoting. */
void csv_write_field(FILE *out, const char *text);

#endif
