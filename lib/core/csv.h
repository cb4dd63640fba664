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
#include <stdint.h>
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
/* Accepts a last record with no newline after it (files exported by other
 * tools, e.g. the Azure traces), instead of reporting a truncated file. */
void csv_reader_accept_unterminated(struct csv_reader *reader);
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

/*
 * csv_table: a CSV input whose header names known columns, read record by
 * record; every record must have as many fields as the header. Strict
 * like the rest: the header is mapped with csv_columns_map, and errors
 * name file:line and the field. The table owns its reader, not the FILE.
 */
#define CSV_MAX_COLUMNS 64

struct csv_table {
    struct csv_reader *reader;
    const struct csv_column *columns;
    size_t num_columns;
    int index[CSV_MAX_COLUMNS]; /* header position of each column, -1 if absent */
    size_t width;
};

/* Reads and maps the header. 0, or ERR_DATA (empty input, bad header) / ERR_INTERNAL. */
int csv_table_open(struct csv_table *table, FILE *in, const char *name,
                   const struct csv_column *columns, size_t num_columns);
/* 1: *out holds a record of the header's width; 0: end of input; ERR_DATA. */
int csv_table_next(struct csv_table *table, struct csv_record *out);
const char *csv_table_name(const struct csv_table *table);
/* The text of a column in rec, "" when the header lacks that column. Inline: readers call it
 * for every field of every record. */
static inline const char *
csv_table_field(const struct csv_table *table, const struct csv_record *rec, size_t column)
{
    return table->index[column] < 0 ? "" : rec->fields[table->index[column]];
}
/* Reports "file:line:column: field 'NAME': why: 'text'" (column: the field's
 * 1-based position in the record); returns ERR_DATA. */
int csv_table_bad(const struct csv_table *table, const struct csv_record *rec, size_t column,
                  const char *why);
/* Parses a column with parse_i64, reporting a bad value; 0 or ERR_DATA. */
int csv_table_i64(const struct csv_table *table, const struct csv_record *rec, size_t column,
                  int64_t min, int64_t max, int64_t *out);
void csv_table_close(struct csv_table *table);

/* Writes one field, quoting it only when it needs quoting. */
void csv_write_field(FILE *out, const char *text);

/* Writes the decimal form of v at p and returns the end: writers call it
 * once per field for up to 10^7 rows a run, where printf would dominate. It
 * counts the digits first, then writes them from the last, two per division. */
char *csv_put_i64(char *p, int64_t v);

#endif
