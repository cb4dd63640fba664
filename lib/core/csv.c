/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "core/csv.h"

#include "core/error.h"
#include "core/parse.h"

#include <csv.h>
#include <stdlib.h>
#include <string.h>

struct csv_reader {
    FILE *in;
    char *name;
    struct csv_parser parser;
    char *line;
    size_t line_size;
    long line_number;
    /* Fields of the record being assembled, then of the finished one;
     * field buffers are kept from record to record (sizes: their sizes). */
    char **fields;
    size_t *sizes;
    size_t count, capacity;
    bool record_done;
    bool oom;
    bool unterminated_ok; /* a last record without its newline is complete */
};

/* Appends a field of the record being assembled; false when out of memory. */
static bool
store_field(struct csv_reader *r, const char *data, size_t length)
{
    if (r->count == r->capacity) {
        size_t capacity = r->capacity ? 2 * r->capacity : 16;
        char **grown = realloc(r->fields, capacity * sizeof *grown);
        if (!grown) return false;
        r->fields = grown;
        size_t *sizes = realloc(r->sizes, capacity * sizeof *sizes);
        if (!sizes) return false;
        r->sizes = sizes;
        for (size_t i = r->capacity; i < capacity; i++) {
            grown[i] = NULL;
            sizes[i] = 0;
        }
        r->capacity = capacity;
    }
    if (length + 1 > r->sizes[r->count]) {
        size_t size = length + 1 < 32 ? 32 : length + 1;
        char *copy = realloc(r->fields[r->count], size);
        if (!copy) return false;
        r->fields[r->count] = copy;
        r->sizes[r->count] = size;
    }
    char *field = r->fields[r->count++];
    memcpy(field, data ? data : "", length);
    field[length] = '\0';
    return true;
}

static void
on_field(void *data, size_t length, void *context)
{
    struct csv_reader *r = context;
    if (!store_field(r, data, length)) r->oom = true;
}

/*
 * Splits a whole line at its commas, as libcsv would parse it, when that
 * is certain: it ends in a newline and holds no quote, no carriage return,
 * no NUL and no space or tab (which libcsv trims around unquoted fields).
 * Most lines are so; returns false, having stored nothing, for the others.
 */
static bool
split_plain_line(struct csv_reader *r, const char *line, size_t length)
{
    if (length < 2 || line[length - 1] != '\n') return false;
    size_t body = length - 1;
    if (strcspn(line, "\" \t\r\n") < body) return false;
    const char *p = line, *end = line + body;
    for (;;) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma ? comma : end;
        if (!store_field(r, p, (size_t)(stop - p))) {
            r->oom = true;
            return true;
        }
        if (!comma) break;
        p = comma + 1;
    }
    r->record_done = true;
    return true;
}

static void
on_record(int terminator, void *context)
{
    (void)terminator;
    struct csv_reader *r = context;
    r->record_done = true;
}

struct csv_reader *
csv_reader_new(FILE *in, const char *name)
{
    struct csv_reader *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->in = in;
    r->name = strdup(name);
    if (!r->name || csv_init(&r->parser, CSV_STRICT | CSV_STRICT_FINI | CSV_EMPTY_IS_NULL) != 0) {
        free(r->name);
        free(r);
        return NULL;
    }
    return r;
}

void
csv_reader_accept_unterminated(struct csv_reader *reader)
{
    reader->unterminated_ok = true;
}

const char *
csv_reader_name(const struct csv_reader *reader)
{
    return reader->name;
}

int
csv_reader_next(struct csv_reader *r, struct csv_record *out)
{
    r->count = 0;
    r->record_done = false;
    long start = 0;
    for (;;) {
        ssize_t length = getline(&r->line, &r->line_size, r->in);
        if (length < 0) {
            if (ferror(r->in)) return error("%s: read error", r->name);
            if (csv_fini(&r->parser, on_field, on_record, r) != 0)
                return error("%s:%ld: unterminated quoted field", r->name, start);
            if (r->record_done && r->unterminated_ok) {
                out->count = r->count;
                out->fields = r->fields;
                out->line = start;
                return 1;
            }
            if (r->count > 0 || r->record_done)
                return error("%s:%ld: record not ended by a newline (truncated input?)", r->name,
                             r->line_number);
            return 0;
        }
        r->line_number++;
        if (r->count == 0 && !r->record_done) start = r->line_number;
        bool terminated = length > 0 && r->line[length - 1] == '\n';
        bool split = r->count == 0 && !r->record_done &&
                     split_plain_line(r, r->line, (size_t)length);
        if (!split && csv_parse(&r->parser, r->line, (size_t)length, on_field, on_record, r) !=
                          (size_t)length)
            return error("%s:%ld: malformed CSV: %s", r->name, r->line_number,
                         csv_strerror(csv_error(&r->parser)));
        if (r->oom) return internal_error("out of memory reading %s", r->name);
        if (r->record_done) {
            if (!terminated)
                return error("%s:%ld: record not ended by a newline (truncated input?)", r->name,
                             r->line_number);
            out->count = r->count;
            out->fields = r->fields;
            out->line = start;
            return 1;
        }
    }
}

void
csv_reader_free(struct csv_reader *r)
{
    if (!r) return;
    csv_free(&r->parser);
    for (size_t i = 0; i < r->capacity; i++) free(r->fields[i]);
    free(r->fields);
    free(r->sizes);
    free(r->line);
    free(r->name);
    free(r);
}

int
csv_columns_map(const struct csv_record *header, const char *file,
                const struct csv_column *columns, size_t count, int *index)
{
    int found[CSV_MAX_COLUMNS];
    if (count > CSV_MAX_COLUMNS) return internal_error("too many CSV columns");
    for (size_t c = 0; c < count; c++) found[c] = -1;
    for (size_t f = 0; f < header->count; f++) {
        size_t c = 0;
        while (c < count && strcmp(header->fields[f], columns[c].name) != 0) c++;
        if (c == count) {
            char names[1024] = "";
            for (size_t k = 0; k < count; k++) {
                if (k) strncat(names, ",", sizeof names - strlen(names) - 1);
                strncat(names, columns[k].name, sizeof names - strlen(names) - 1);
            }
            return error("%s:%ld: unknown column '%s' (known: %s)", file, header->line,
                         header->fields[f], names);
        }
        if (found[c] >= 0)
            return error("%s:%ld: column '%s' appears twice", file, header->line,
                         header->fields[f]);
        found[c] = (int)f;
    }
    for (size_t c = 0; c < count; c++)
        if (columns[c].required && found[c] < 0)
            return error("%s:%ld: missing required column '%s'", file, header->line,
                         columns[c].name);
    memcpy(index, found, count * sizeof *index);
    return 0;
}

int
csv_table_open(struct csv_table *t, FILE *in, const char *name, const struct csv_column *columns,
               size_t num_columns)
{
    *t = (struct csv_table){.columns = columns, .num_columns = num_columns};
    if (!(t->reader = csv_reader_new(in, name))) return internal_error("out of memory");
    struct csv_record header;
    int rc = csv_reader_next(t->reader, &header);
    if (rc == 0) rc = error("%s: empty input (no header line)", name);
    if (rc > 0) rc = csv_columns_map(&header, name, columns, num_columns, t->index);
    if (rc < 0) {
        csv_table_close(t);
        return rc;
    }
    t->width = header.count;
    return 0;
}

int
csv_table_next(struct csv_table *t, struct csv_record *out)
{
    int rc = csv_reader_next(t->reader, out);
    if (rc > 0 && out->count != t->width)
        return error("%s:%ld: %zu fields, the header has %zu", csv_reader_name(t->reader),
                     out->line, out->count, t->width);
    return rc;
}

const char *
csv_table_name(const struct csv_table *t)
{
    return csv_reader_name(t->reader);
}

const char *
csv_table_field(const struct csv_table *t, const struct csv_record *rec, size_t column)
{
    return t->index[column] < 0 ? "" : rec->fields[t->index[column]];
}

int
csv_table_bad(const struct csv_table *t, const struct csv_record *rec, size_t column,
              const char *why)
{
    return error("%s:%ld:%d: field '%s': %s: '%s'", csv_table_name(t), rec->line,
                 t->index[column] + 1, t->columns[column].name, why,
                 csv_table_field(t, rec, column));
}

int
csv_table_i64(const struct csv_table *t, const struct csv_record *rec, size_t column,
              int64_t min, int64_t max, int64_t *out)
{
    const char *why = parse_i64(csv_table_field(t, rec, column), min, max, out);
    return why ? csv_table_bad(t, rec, column, why) : 0;
}

void
csv_table_close(struct csv_table *t)
{
    csv_reader_free(t->reader);
    t->reader = NULL;
}

void
csv_write_field(FILE *out, const char *text)
{
    if (strpbrk(text, ",\"\r\n") || (*text && (text[0] == ' ' || text[strlen(text) - 1] == ' ')))
        csv_fwrite(out, text, strlen(text));
    else
        fputs(text, out);
}
