/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The Mooncake (FAST'25) JSONL reader: one object per line with timestamp
 * (ms), input_length, output_length and hash_ids, the ids of the prompt's
 * 512-token blocks (equal id = equal content, and ids are chained, so an
 * equal id also means an equal prefix). Each id becomes the prefix
 * segment "mcID:512" (the last one as long as the prompt's remainder), so
 * two requests sharing an id hash the same KV blocks in simulate.
 *
 * Tick jitter: the conversation trace rounds its timestamps to 3 s ticks,
 * which would make dozens of requests arrive in the same microsecond. With
 * tick_ms > 0 (or detected: every one of the first rows within 5 ms of a
 * multiple of 3000 ms, and some tick shared by several rows) the rows of
 * one tick get sorted uniform offsets in [tick, tick + width), drawn from
 * the stream "mooncake/jitter", so the trace order is kept. Memory: the
 * rows of one tick (and the detection look-ahead).
 */
#include "core/error.h"
#include "core/rng.h"
#include "workload/trace_readers.h"

#include <gsl/gsl_sort.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define BLOCK_TOKENS 512
#define MAX_TOKENS ((int64_t)1 << 40)
#define DETECT_ROWS 256
#define DETECT_TICK_MS 3000
#define DETECT_SLACK_MS 5

struct mooncake_row {
    struct request request; /* arrival_us: the timestamp as recorded */
    double timestamp_ms;
    long line;
};

struct mooncake_reader {
    struct trace_reader base;
    FILE *in;
    const char *name;
    char *line;
    size_t line_size;
    long line_number;
    double last_ms;
    /* rows read but not yet returned: the look-ahead, then one tick */
    struct mooncake_row *rows;
    size_t count, head, capacity;
    size_t tick_end; /* rows [head, tick_end) are the current, spread tick */
    bool at_end;
    int64_t tick_ms;
    struct rng_stream jitter;
    bool have_jitter;
    double *offsets;
    size_t offsets_capacity;
};

static int
bad_line(const struct mooncake_reader *r, const char *field, const char *why)
{
    return error("%s:%ld: field '%s': %s", r->name, r->line_number, field, why);
}

static int
integer_field(const struct mooncake_reader *r, json_t *value, const char *field, int64_t min,
              int64_t *out)
{
    if (!json_is_integer(value)) return bad_line(r, field, "not an integer");
    json_int_t v = json_integer_value(value);
    if (v < min) return bad_line(r, field, v < 0 ? "negative" : "out of range");
    if (v > MAX_TOKENS) return bad_line(r, field, "out of range");
    *out = (int64_t)v;
    return 0;
}

/* "mc7:512;mc8:512;mc9:100" from the hash ids and the prompt length. */
static int
segments_text(const struct mooncake_reader *r, json_t *ids, int64_t input, char **out)
{
    size_t n = json_array_size(ids);
    if ((int64_t)n > (input + BLOCK_TOKENS - 1) / BLOCK_TOKENS)
        return bad_line(r, "hash_ids", "more blocks than input_length holds (512 tokens each)");
    char *text = malloc(n * 32 + 1);
    if (!text) return internal_error("out of memory");
    char *w = text;
    *w = '\0';
    for (size_t i = 0; i < n; i++) {
        int64_t id;
        int rc = integer_field(r, json_array_get(ids, i), "hash_ids", 0, &id);
        if (rc) {
            free(text);
            return rc;
        }
        int64_t length = input - (int64_t)i * BLOCK_TOKENS;
        if (length > BLOCK_TOKENS) length = BLOCK_TOKENS;
        w += sprintf(w, "%smc%" PRId64 ":%" PRId64, i ? ";" : "", id, length);
    }
    *out = text;
    return 0;
}

static int
parse_object(const struct mooncake_reader *r, json_t *object, struct mooncake_row *row)
{
    json_t *timestamp = NULL, *input = NULL, *output = NULL, *ids = NULL;
    const char *key;
    json_t *value;
    json_object_foreach(object, key, value) {
        if (strcmp(key, "timestamp") == 0) timestamp = value;
        else if (strcmp(key, "input_length") == 0) input = value;
        else if (strcmp(key, "output_length") == 0) output = value;
        else if (strcmp(key, "hash_ids") == 0) ids = value;
        else return bad_line(r, key, "unknown key");
    }
    if (!timestamp) return bad_line(r, "timestamp", "missing");
    if (!input) return bad_line(r, "input_length", "missing");
    if (!output) return bad_line(r, "output_length", "missing");
    if (!json_is_number(timestamp)) return bad_line(r, "timestamp", "not a number");
    double ms = json_number_value(timestamp);
    if (!isfinite(ms) || ms < 0) return bad_line(r, "timestamp", ms < 0 ? "negative" : "not finite");
    if (ms > 1e15) return bad_line(r, "timestamp", "out of range");
    if (ms < r->last_ms)
        return bad_line(r, "timestamp", "earlier than the row before (sort the trace by time first)");
    int64_t input_tokens, output_tokens;
    int rc = integer_field(r, input, "input_length", 1, &input_tokens);
    if (!rc) rc = integer_field(r, output, "output_length", 1, &output_tokens);
    if (rc) return rc;
    if (ids && !json_is_array(ids)) return bad_line(r, "hash_ids", "not an array");
    char *prefix = NULL;
    if (ids && (rc = segments_text(r, ids, input_tokens, &prefix))) return rc;
    rc = trace_request_make(&row->request, llround(ms * 1000), input_tokens, output_tokens,
                            prefix ? prefix : "", "", "", "");
    free(prefix);
    row->timestamp_ms = ms;
    row->line = r->line_number;
    return rc;
}

/* Reads the next non-blank line into a row. 1, 0 at the end, ERR_*. */
static int
read_row(struct mooncake_reader *r, struct mooncake_row *row)
{
    for (;;) {
        ssize_t n = getline(&r->line, &r->line_size, r->in);
        if (n < 0) {
            if (ferror(r->in)) return internal_error("%s: read error", r->name);
            return 0;
        }
        r->line_number++;
        if (n == 0 || r->line[n - 1] != '\n')
            return error("%s:%ld: truncated line (no newline at the end of the file)", r->name,
                         r->line_number);
        if (strspn(r->line, " \t\r\n") == (size_t)n) continue;
        json_error_t why;
        json_t *object = json_loadb(r->line, (size_t)n, JSON_REJECT_DUPLICATES, &why);
        if (!object)
            return error("%s:%ld:%d: malformed JSON: %s", r->name, r->line_number, why.column,
                         why.text);
        int rc = json_is_object(object) ? parse_object(r, object, row)
                                        : error("%s:%ld: not a JSON object", r->name, r->line_number);
        json_decref(object);
        if (rc) return rc;
        r->last_ms = row->timestamp_ms;
        return 1;
    }
}

static int
push_row(struct mooncake_reader *r, struct mooncake_row *row)
{
    if (r->count == r->capacity) {
        size_t capacity = r->capacity ? 2 * r->capacity : 64;
        struct mooncake_row *grown = realloc(r->rows, capacity * sizeof *grown);
        if (!grown) return internal_error("out of memory");
        r->rows = grown;
        r->capacity = capacity;
    }
    r->rows[r->count++] = *row;
    return 0;
}

static int64_t
tick_of(const struct mooncake_reader *r, double ms)
{
    return llround(ms / (double)r->tick_ms);
}

/* Reads ahead and decides whether the timestamps come in 3000 ms ticks. */
static int
detect_ticks(struct mooncake_reader *r, bool report)
{
    int rc = 1;
    while (r->count < DETECT_ROWS) {
        struct mooncake_row row;
        if ((rc = read_row(r, &row)) <= 0) break;
        if (push_row(r, &row)) {
            request_clear(&row.request);
            return ERR_INTERNAL;
        }
    }
    if (rc < 0) return rc;
    r->at_end = rc == 0;
    bool on_grid = r->count > 0, shared = false;
    for (size_t i = 0; i < r->count; i++) {
        double ms = r->rows[i].timestamp_ms;
        double off = ms - DETECT_TICK_MS * round(ms / DETECT_TICK_MS);
        on_grid &= fabs(off) <= DETECT_SLACK_MS;
        shared |= i > 0 && llround(ms / DETECT_TICK_MS) == llround(r->rows[i - 1].timestamp_ms / DETECT_TICK_MS);
    }
    r->tick_ms = on_grid && shared ? DETECT_TICK_MS : 0;
    if (r->tick_ms && report)
        warn("mooncake: %s: timestamps come in %d ms ticks: each tick's requests are spread "
             "uniformly over it, in trace order (seeded jitter; --tick-ms 0 keeps them as "
             "recorded)",
             r->name, DETECT_TICK_MS);
    return 0;
}

/* Refills the buffer with the next tick's rows and spreads them over the tick. */
static int
read_tick(struct mooncake_reader *r)
{
    /* rows after the previous tick (look-ahead) move to the front */
    size_t keep = r->head < r->count ? r->count - r->head : 0;
    memmove(r->rows, r->rows + r->head, keep * sizeof *r->rows);
    r->count = keep;
    r->head = r->tick_end = 0;
    if (r->count == 0) {
        if (r->at_end) return 0;
        struct mooncake_row row;
        int rc = read_row(r, &row);
        if (rc <= 0) {
            r->at_end = true;
            return rc;
        }
        if ((rc = push_row(r, &row))) {
            request_clear(&row.request);
            return rc;
        }
    }
    int64_t tick = tick_of(r, r->rows[0].timestamp_ms);
    size_t n = 1;
    for (;;) {
        while (n < r->count && tick_of(r, r->rows[n].timestamp_ms) == tick)
            n++;
        if (n < r->count || r->at_end) break;
        struct mooncake_row row;
        int rc = read_row(r, &row);
        if (rc < 0) return rc;
        if (rc == 0) {
            r->at_end = true;
            break;
        }
        if ((rc = push_row(r, &row))) {
            request_clear(&row.request);
            return rc;
        }
    }
    if (n > r->offsets_capacity) {
        double *grown = realloc(r->offsets, n * sizeof *grown);
        if (!grown) return internal_error("out of memory");
        r->offsets = grown;
        r->offsets_capacity = n;
    }
    double width_us = (double)r->tick_ms * 1000;
    for (size_t i = 0; i < n; i++)
        r->offsets[i] = gsl_rng_uniform(r->jitter.gsl) * width_us;
    gsl_sort(r->offsets, 1, n);
    int64_t base_us = tick * r->tick_ms * 1000;
    for (size_t i = 0; i < n; i++)
        r->rows[i].request.arrival_us = base_us + (int64_t)floor(r->offsets[i]);
    r->tick_end = n; /* rows past n belong to the next tick */
    return 1;
}

static int
mooncake_next(struct trace_reader *base, struct request *out)
{
    struct mooncake_reader *r = (struct mooncake_reader *)base;
    if (r->tick_ms == 0) {
        if (r->head < r->count) {
            *out = r->rows[r->head++].request;
            return 1;
        }
        struct mooncake_row row;
        int rc = r->at_end ? 0 : read_row(r, &row);
        if (rc == 1) *out = row.request;
        return rc;
    }
    if (r->head < r->tick_end) {
        *out = r->rows[r->head++].request;
        return 1;
    }
    int rc = read_tick(r);
    if (rc <= 0) return rc;
    *out = r->rows[r->head++].request;
    return 1;
}

static void
mooncake_free(struct trace_reader *base)
{
    struct mooncake_reader *r = (struct mooncake_reader *)base;
    for (size_t i = r->head; i < r->count; i++)
        request_clear(&r->rows[i].request);
    free(r->rows);
    free(r->offsets);
    free(r->line);
    if (r->have_jitter) rng_stream_free(&r->jitter);
    free(r);
}

int
mooncake_reader_open(const struct trace_options *o, FILE *in, const char *name, bool report,
                     struct trace_reader **out)
{
    struct mooncake_reader *r = calloc(1, sizeof *r);
    if (!r) return internal_error("out of memory");
    r->base = (struct trace_reader){mooncake_next, mooncake_free};
    r->in = in;
    r->name = name;
    r->last_ms = -1;
    r->tick_ms = o->tick_ms;
    int rc = rng_stream_init(&r->jitter, o->seed, "mooncake/jitter");
    r->have_jitter = rc == 0;
    if (!rc && r->tick_ms < 0) rc = detect_ticks(r, report);
    if (rc) {
        mooncake_free(&r->base);
        return rc;
    }
    *out = &r->base;
    return 0;
}
