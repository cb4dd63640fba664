/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The ServeGen reader: a directory of clients, each described by
 *   chunk-N-trace.csv    no header; per window: start_s, rate (req/s), cv,
 *                        pattern (Gamma | Weibull | empty when rate is 0),
 *                        p1, p2 (the authors' fitted parameters);
 *   chunk-N-dataset.json {"START_S": {"input_tokens": "{len: p, ...}",
 *                        "output_tokens": "{...}"}, ...}: length PMFs per
 *                        (longer) window, stored as text.
 * Each client is a renewal process restarted at every window start: gaps
 * of the window's family with mean 1/rate and the window's cv (gamma:
 * shape 1/cv^2; weibull: the shape whose cv is the window's, found by
 * bisection), arrivals past the window's end discarded. p1/p2 are not
 * used: they are not in seconds. Lengths are drawn from the PMFs of the
 * latest dataset window that starts at or before the arrival. Clients are
 * merged by arrival time with a heap (ties: lower N first). Streams:
 * "servegen/chunk-N/arrival", ".../input", ".../output".
 * Memory: every client's window table and dataset text, plus one window's
 * PMF tables per client.
 */
#include "core/csv.h"
#include "core/error.h"
#include "core/heap.h"
#include "core/parse.h"
#include "core/rng.h"
#include "workload/trace_readers.h"

#include <dirent.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_sf_gamma.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_WINDOW_S 600.0
#define MAX_CLIENTS 4096

enum pattern { PATTERN_NONE, PATTERN_GAMMA, PATTERN_WEIBULL };

struct arrival_window {
    double start_s, rate, cv;
    enum pattern pattern;
    double shape; /* gamma: 1/cv^2; weibull: solved from cv */
};

struct pmf {
    int64_t *values;
    gsl_ran_discrete_t *table;
};

struct client {
    int number;
    char tenant[32];
    char *trace_path, *dataset_path;
    struct arrival_window *windows;
    size_t num_windows, window;
    double t_s;
    json_t *dataset;
    double *length_starts; /* sorted */
    const char **length_keys;
    size_t num_lengths, current_length;
    struct pmf input, output;
    struct rng_stream arrival_rng, input_rng, output_rng;
    int rngs;
};

struct servegen_reader {
    struct trace_reader base;
    struct client *clients;
    size_t num_clients;
    struct heap heap;
};

/* ---- the process per window ---- */

static double
weibull_cv(double k)
{
    double ratio = exp(gsl_sf_lngamma(1 + 2 / k) - 2 * gsl_sf_lngamma(1 + 1 / k));
    return sqrt(ratio - 1);
}

static double
weibull_shape_for_cv(double cv)
{
    double lo = 0.02, hi = 200; /* cv(lo) ~ 1e10 > any cv; cv(hi) < 0.01 */
    for (int i = 0; i < 200; i++) {
        double mid = sqrt(lo * hi);
        if (weibull_cv(mid) > cv) lo = mid;
        else hi = mid;
    }
    return sqrt(lo * hi);
}

static double
draw_gap(struct client *c, const struct arrival_window *w)
{
    if (w->pattern == PATTERN_GAMMA)
        return gsl_ran_gamma(c->arrival_rng.gsl, w->shape, 1 / (w->rate * w->shape));
    double scale = exp(-gsl_sf_lngamma(1 + 1 / w->shape)) / w->rate;
    return gsl_ran_weibull(c->arrival_rng.gsl, scale, w->shape);
}

static double
window_end(const struct client *c, size_t i)
{
    return i + 1 < c->num_windows ? c->windows[i + 1].start_s
                                  : c->windows[i].start_s + DEFAULT_WINDOW_S;
}

/*
 * Moves c->t_s to the client's next arrival; 1, or 0 when it has none. The
 * process runs on across window boundaries (each gap drawn with the
 * parameters of the window it starts in), so a window gets rate x length
 * arrivals on average; a gap that ends in a silent window (rate 0) is
 * dropped and the process starts afresh at the next window.
 */
static int
next_arrival(struct client *c)
{
    while (c->window < c->num_windows) {
        const struct arrival_window *w = &c->windows[c->window];
        if (c->t_s >= window_end(c, c->window) || w->rate <= 0) {
            if (++c->window < c->num_windows && c->t_s < c->windows[c->window].start_s)
                c->t_s = c->windows[c->window].start_s;
            continue;
        }
        double t = c->t_s + draw_gap(c, w);
        size_t k = c->window;
        while (k < c->num_windows && t >= window_end(c, k))
            k++;
        if (k == c->num_windows) {
            c->window = k;
            return 0;
        }
        c->window = k;
        if (c->windows[k].rate <= 0) {
            c->t_s = c->windows[k].start_s;
            continue;
        }
        c->t_s = t;
        return 1;
    }
    return 0;
}

/* ---- the window table (chunk-N-trace.csv) ---- */

static int
window_field(const char *file, const struct csv_record *rec, size_t i, const char *name,
             double *out)
{
    const char *why = parse_double(rec->fields[i], 0, 1e12, out);
    return why ? error("%s:%ld:%zu: field '%s': %s: '%s'", file, rec->line, i + 1, name, why,
                       rec->fields[i])
               : 0;
}

static int
parse_window(const char *file, const struct csv_record *rec, struct arrival_window *w)
{
    if (rec->count != 6)
        return error("%s:%ld: %zu fields (need start_s,rate,cv,pattern,p1,p2)", file, rec->line,
                     rec->count);
    int rc = window_field(file, rec, 0, "start_s", &w->start_s);
    if (!rc) rc = window_field(file, rec, 1, "rate", &w->rate);
    if (!rc) rc = window_field(file, rec, 2, "cv", &w->cv);
    if (rc) return rc;
    const char *pattern = rec->fields[3];
    if (strcmp(pattern, "Gamma") == 0) w->pattern = PATTERN_GAMMA;
    else if (strcmp(pattern, "Weibull") == 0) w->pattern = PATTERN_WEIBULL;
    else if (!*pattern) w->pattern = PATTERN_NONE;
    else
        return error("%s:%ld:4: field 'pattern': unknown (known: Gamma, Weibull): '%s'", file,
                     rec->line, pattern);
    if (w->rate > 0 && w->pattern == PATTERN_NONE)
        return error("%s:%ld:4: field 'pattern': empty while rate > 0", file, rec->line);
    if (w->rate > 0 && w->cv <= 0)
        return error("%s:%ld:3: field 'cv': must be > 0 while rate > 0: '%s'", file, rec->line,
                     rec->fields[2]);
    if (w->pattern == PATTERN_GAMMA) w->shape = 1 / (w->cv * w->cv);
    if (w->pattern == PATTERN_WEIBULL) w->shape = weibull_shape_for_cv(w->cv);
    return 0;
}

static int
load_windows(struct client *c)
{
    FILE *in = fopen(c->trace_path, "r");
    if (!in) return config_error("cannot open '%s'", c->trace_path);
    struct csv_reader *csv = csv_reader_new(in, c->trace_path);
    int rc = csv ? 0 : internal_error("out of memory");
    size_t capacity = 0;
    struct csv_record rec;
    while (!rc && (rc = csv_reader_next(csv, &rec)) == 1) {
        rc = 0;
        if (c->num_windows == capacity) {
            capacity = capacity ? 2 * capacity : 256;
            struct arrival_window *grown = realloc(c->windows, capacity * sizeof *grown);
            if (!grown) {
                rc = internal_error("out of memory");
                break;
            }
            c->windows = grown;
        }
        struct arrival_window *w = &c->windows[c->num_windows];
        if ((rc = parse_window(c->trace_path, &rec, w))) break;
        if (c->num_windows > 0 && w->start_s <= w[-1].start_s)
            rc = error("%s:%ld:1: field 'start_s': not after the window before: '%s'",
                       c->trace_path, rec.line, rec.fields[0]);
        c->num_windows++;
    }
    csv_reader_free(csv);
    fclose(in);
    if (rc < 0) return rc;
    if (c->num_windows == 0) return error("%s: no windows", c->trace_path);
    c->t_s = c->windows[0].start_s;
    return 0;
}

/* ---- length PMFs (chunk-N-dataset.json) ---- */

static int
compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int
load_dataset(struct client *c)
{
    json_error_t why;
    c->dataset = json_load_file(c->dataset_path, JSON_REJECT_DUPLICATES, &why);
    if (!c->dataset)
        return why.line > 0 ? error("%s:%d:%d: malformed JSON: %s", c->dataset_path, why.line,
                                    why.column, why.text)
                            : config_error("cannot read '%s': %s", c->dataset_path, why.text);
    if (!json_is_object(c->dataset)) return error("%s: not a JSON object", c->dataset_path);
    size_t n = json_object_size(c->dataset);
    c->length_starts = malloc((n + 1) * sizeof *c->length_starts);
    c->length_keys = malloc((n + 1) * sizeof *c->length_keys);
    if (!c->length_starts || !c->length_keys) return internal_error("out of memory");
    const char *key;
    json_t *value;
    json_object_foreach(c->dataset, key, value) {
        double start;
        if (parse_double(key, 0, 1e12, &start))
            return error("%s: window key '%s': not a start time in seconds", c->dataset_path, key);
        c->length_starts[c->num_lengths++] = start;
    }
    qsort(c->length_starts, c->num_lengths, sizeof *c->length_starts, compare_doubles);
    /* keys again in sorted order, so a window is found by its start */
    json_object_foreach(c->dataset, key, value) {
        double start;
        parse_double(key, 0, 1e12, &start);
        double *at = bsearch(&start, c->length_starts, c->num_lengths, sizeof start, compare_doubles);
        c->length_keys[at - c->length_starts] = key;
    }
    if (c->num_lengths == 0) return error("%s: no windows", c->dataset_path);
    c->current_length = (size_t)-1;
    return 0;
}

static void
pmf_free(struct pmf *p)
{
    free(p->values);
    if (p->table) gsl_ran_discrete_free(p->table);
    *p = (struct pmf){0};
}

/* "{165: 0.25, 211: 0.75}" -> values and a sampling table. */
static const char *
pmf_parse(const char *text, struct pmf *out)
{
    const char *p = text;
    while (*p == ' ')
        p++;
    if (*p++ != '{') return "not a PMF {length: probability, ...}";
    size_t n = 0, capacity = 0;
    int64_t *values = NULL;
    double *probs = NULL;
    const char *why = NULL;
    for (;;) {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == '}') break;
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p || *end != ':') {
            why = "not a PMF {length: probability, ...}";
            break;
        }
        p = end + 1;
        double prob = strtod(p, &end);
        if (end == p || !isfinite(prob) || prob < 0) {
            why = "bad probability";
            break;
        }
        p = end;
        if (v < 1) {
            why = "a length below 1";
            break;
        }
        if (n == capacity) {
            capacity = capacity ? 2 * capacity : 256;
            int64_t *gv = realloc(values, capacity * sizeof *gv);
            if (gv) values = gv;
            double *gp = realloc(probs, capacity * sizeof *gp);
            if (gp) probs = gp;
            if (!gv || !gp) {
                why = "out of memory";
                break;
            }
        }
        values[n] = v;
        probs[n++] = prob;
    }
    double total = 0;
    for (size_t i = 0; i < n; i++)
        total += probs[i];
    if (!why && (n == 0 || total <= 0)) why = "empty PMF";
    if (!why && !(out->table = gsl_ran_discrete_preproc(n, probs))) why = "out of memory";
    free(probs);
    if (why) {
        free(values);
        return why;
    }
    out->values = values;
    return NULL;
}

/* Makes the PMFs of the dataset window that covers time t_s current. */
static int
select_lengths(struct client *c, double t_s)
{
    size_t i = 0;
    while (i + 1 < c->num_lengths && c->length_starts[i + 1] <= t_s)
        i++;
    if (i == c->current_length) return 0;
    pmf_free(&c->input);
    pmf_free(&c->output);
    c->current_length = (size_t)-1;
    const char *key = c->length_keys[i];
    json_t *window = json_object_get(c->dataset, key);
    const char *names[2] = {"input_tokens", "output_tokens"};
    struct pmf *pmfs[2] = {&c->input, &c->output};
    for (int k = 0; k < 2; k++) {
        json_t *text = json_is_object(window) ? json_object_get(window, names[k]) : NULL;
        if (!json_is_string(text))
            return error("%s: window '%s': field '%s': missing or not a string", c->dataset_path,
                         key, names[k]);
        const char *why = pmf_parse(json_string_value(text), pmfs[k]);
        if (why)
            return error("%s: window '%s': field '%s': %s (needed for arrivals at %.0f s)",
                         c->dataset_path, key, names[k], why, t_s);
    }
    c->current_length = i;
    return 0;
}

/* ---- the reader ---- */

static int
schedule(struct servegen_reader *r, struct client *c)
{
    if (!next_arrival(c)) return 0;
    return heap_push(&r->heap, (struct event){.time_us = llround(c->t_s * 1e6),
                                              .priority = c->number,
                                              .payload = c});
}

static int
servegen_next(struct trace_reader *base, struct request *out)
{
    struct servegen_reader *r = (struct servegen_reader *)base;
    if (!heap_top(&r->heap)) return 0;
    struct event e = heap_pop(&r->heap);
    struct client *c = e.payload;
    int rc = select_lengths(c, c->t_s);
    if (rc) return rc;
    int64_t input = c->input.values[gsl_ran_discrete(c->input_rng.gsl, c->input.table)];
    int64_t output = c->output.values[gsl_ran_discrete(c->output_rng.gsl, c->output.table)];
    if ((rc = trace_request_make(out, e.time_us, input, output, "", "", c->tenant, ""))) return rc;
    if ((rc = schedule(r, c))) request_clear(out);
    return rc ? rc : 1;
}

static void
client_free(struct client *c)
{
    free(c->trace_path);
    free(c->dataset_path);
    free(c->windows);
    free(c->length_starts);
    free(c->length_keys);
    if (c->dataset) json_decref(c->dataset);
    pmf_free(&c->input);
    pmf_free(&c->output);
    struct rng_stream *streams[3] = {&c->arrival_rng, &c->input_rng, &c->output_rng};
    for (int i = 0; i < c->rngs; i++)
        rng_stream_free(streams[i]);
}

static void
servegen_free(struct trace_reader *base)
{
    struct servegen_reader *r = (struct servegen_reader *)base;
    for (size_t i = 0; i < r->num_clients; i++)
        client_free(&r->clients[i]);
    free(r->clients);
    heap_free(&r->heap);
    free(r);
}

static char *
join_path(const char *dir, int number, const char *suffix)
{
    size_t size = strlen(dir) + 64;
    char *path = malloc(size);
    if (path) snprintf(path, size, "%s/chunk-%d-%s", dir, number, suffix);
    return path;
}

static int
compare_ints(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* The client numbers N of the chunk-N-trace.csv files in dir, sorted. */
static int
list_clients(const char *dir, int *numbers, size_t *count)
{
    DIR *d = opendir(dir);
    if (!d) return config_error("--from servegen: cannot open directory '%s'", dir);
    *count = 0;
    struct dirent *entry;
    while ((entry = readdir(d))) {
        int number, end = 0;
        if (sscanf(entry->d_name, "chunk-%d-trace.csv%n", &number, &end) == 1 &&
            entry->d_name[end] == '\0' && end > 0 && number >= 0) {
            if (*count == MAX_CLIENTS) {
                closedir(d);
                return config_error("%s: more than %d clients", dir, MAX_CLIENTS);
            }
            numbers[(*count)++] = number;
        }
    }
    closedir(d);
    if (*count == 0) return config_error("--from servegen: no chunk-N-trace.csv in '%s'", dir);
    qsort(numbers, *count, sizeof *numbers, compare_ints);
    return 0;
}

static int
client_open(struct client *c, const char *dir, int number, uint64_t seed)
{
    c->number = number;
    snprintf(c->tenant, sizeof c->tenant, "chunk-%d", number);
    c->trace_path = join_path(dir, number, "trace.csv");
    c->dataset_path = join_path(dir, number, "dataset.json");
    if (!c->trace_path || !c->dataset_path) return internal_error("out of memory");
    const char *suffix[3] = {"arrival", "input", "output"};
    struct rng_stream *streams[3] = {&c->arrival_rng, &c->input_rng, &c->output_rng};
    for (int i = 0; i < 3; i++) {
        char name[64];
        snprintf(name, sizeof name, "servegen/%s/%s", c->tenant, suffix[i]);
        int rc = rng_stream_init(streams[i], seed, name);
        if (rc) return rc;
        c->rngs++;
    }
    int rc = load_windows(c);
    return rc ? rc : load_dataset(c);
}

int
servegen_reader_open(const struct trace_options *o, FILE *in, const char *name, bool report,
                     struct trace_reader **out)
{
    (void)in, (void)report;
    static int numbers[MAX_CLIENTS];
    size_t count = 0;
    int rc = list_clients(name, numbers, &count);
    if (rc) return rc;
    struct servegen_reader *r = calloc(1, sizeof *r);
    if (!r) return internal_error("out of memory");
    r->base = (struct trace_reader){servegen_next, servegen_free};
    heap_init(&r->heap);
    r->clients = calloc(count, sizeof *r->clients);
    if (!r->clients) rc = internal_error("out of memory");
    for (size_t i = 0; !rc && i < count; i++) {
        r->num_clients++;
        rc = client_open(&r->clients[i], name, numbers[i], o->seed);
    }
    for (size_t i = 0; !rc && i < count; i++)
        rc = schedule(r, &r->clients[i]);
    if (rc) {
        servegen_free(&r->base);
        return rc;
    }
    *out = &r->base;
    return 0;
}
