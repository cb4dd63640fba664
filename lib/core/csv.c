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
    /* Fields of the record being assembled, then of the finished one. */
    char **fields;
    size_t count, capacity;
    /* Fields of a plain line, pointing into `line` (see split_plain_line). */
    char **views;
    size_t view_capacity;
    int idle_state; /* libcsv's state between records, as csv_init leaves it */
    bool record_done;
    bool oom;
    bool unterminated_ok; /* a last record without its newline is complete */
};

static void
on_field(void *data, size_t length, void *context)
{
    struct csv_reader *r = context;
    if (r->count == r->capacity) {
        size_t capacity = r->capacity ? 2 * r->capacity : 16;
        char **grown = realloc(r->fields, capacity * sizeof *grown);
        if (!grown) {
            r->oom = true;
            return;
        }
        for (size_t i = r->capacity; i < capacity; i++) grown[i] = NULL;
        r->fields = grown;
        r->capacity = capacity;
    }
    char *copy = realloc(r->fields[r->count], length + 1);
    if (!copy) {
        r->oom = true;
        return;
    }
    memcpy(copy, data ? data : "", length);
    copy[length] = '\0';
    r->fields[r->count++] = copy;
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
    r->idle_state = r->parser.pstate;
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

static bool
is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/*
 * Most lines are one record of plain fields: no quotes, no CR, no NUL, no
 * space or tab at a field's edge, ended by a newline. For those libcsv
 * would return the text between the commas as is, so the fields are cut
 * in place in the line instead, without copying them (libcsv and the
 * per-field copies were half of summarize's time). false: not such a
 * line, or libcsv is inside a record; the line is untouched then.
 */
static bool
split_plain_line(struct csv_reader *r, size_t length)
{
    char *line = r->line, *end = line + length - 1;
    if (length < 2 || *end != '\n' || r->parser.pstate != r->idle_state) return false;
    if (memchr(line, '"', length) || memchr(line, '\r', length) || strlen(line) != length)
        return false;
    size_t count = 0;
    for (char *start = line;;) {
        char *comma = memchr(start, ',', (size_t)(end - start));
        char *stop = comma ? comma : end;
        if (stop > start && (is_blank(*start) || is_blank(stop[-1]))) return false;
        if (count == r->view_capacity) {
            size_t capacity = r->view_capacity ? 2 * r->view_capacity : 16;
            char **grown = realloc(r->views, capacity * sizeof *grown);
            if (!grown) return false; /* libcsv reports it */
            r->views = grown;
            r->view_capacity = capacity;
        }
        r->views[count++] = start;
        if (!comma) break;
        start = comma + 1;
    }
    for (size_t i = 1; i < count; i++)
        r->views[i][-1] = '\0';
    *end = '\0';
    r->count = count;
    return true;
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
        if (r->count == 0 && !r->record_done && split_plain_line(r, (size_t)length)) {
            out->count = r->count;
            out->fields = r->views;
            out->line = start;
            return 1;
        }
        bool terminated = length > 0 && r->line[length - 1] == '\n';
        if (csv_parse(&r->parser, r->line, (size_t)length, on_field, on_record, r) !=
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
    free(r->views);
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

char *
csv_put_i64(char *p, int64_t v)
{
    static const char pairs[] = "00010203040506070809101112131415161718192021222324"
                                "25262728293031323334353637383940414243444546474849"
                                "50515253545556575859606162636465666768697071727374"
                                "75767778798081828384858687888990919293949596979899";
    static const uint64_t powers[20] = {
        1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
        100000000ull, 1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull,
        10000000000000ull, 100000000000000ull, 1000000000000000ull, 10000000000000000ull,
        100000000000000000ull, 1000000000000000000ull, 10000000000000000000ull};
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    if (v < 0) *p++ = '-';
    /* digits from the bit length: log10(2) ~ 1233 / 4096, then one
     * comparison (u | 1: 0 has one digit; powers above 1 are even) */
    uint64_t odd = u | 1;
    int bits = 64 - __builtin_clzll(odd);
    int estimate = (bits * 1233) >> 12;
    int digits = estimate + (odd >= powers[estimate]);
    char *end = p + digits, *d = end;
    while (u >= 100) {
        uint64_t rest = u / 100;
        d -= 2;
        memcpy(d, &pairs[2 * (u - 100 * rest)], 2);
        u = rest;
    }
    if (u >= 10) memcpy(d - 2, &pairs[2 * u], 2);
    else d[-1] = (char)('0' + u);
    return end;
}

void
csv_write_field(FILE *out, const char *text)
{
    if (!*text) return;
    if (strpbrk(text, ",\"\r\n") || (*text && (text[0] == ' ' || text[strlen(text) - 1] == ' ')))
        csv_fwrite(out, text, strlen(text));
    else
        fputs(text, out);
}
