/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "workload/spec.h"

#include "core/csv.h"
#include "core/error.h"
#include "core/outfile.h"
#include "core/parse.h"
#include "core/yaml.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the request stream's limits (docs/formats.md) */
#define MAX_TOKENS ((int64_t)1 << 40)
#define MAX_SECONDS 1e12
#define MAX_RATE 1e9
#define MAX_ROUNDS 100000
/* how far the probabilities of a PMF may sum from 1 */
#define PMF_TOLERANCE 1e-6

struct ctx {
    const struct yaml_doc *doc;
    const char *dir; /* for relative PMF files; NULL refuses files */
};

/* A BLIS key servesim does not model, and what the feature is. */
struct unmodelled {
    const char *key, *feature;
};

static int __attribute__((format(printf, 4, 5)))
bad(const struct ctx *c, const struct yaml_node *n, const char *path, const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return config_error("%s:%ld: '%s': %s", c->doc->name, n->line, path, why);
}

static void
join(char *out, size_t size, const char *path, const char *key)
{
    /* a field name too long for the buffer is cut: it only appears in messages */
    if (snprintf(out, size, "%s%s%s", path, *path ? "." : "", key) >= (int)size)
        out[size - 1] = '\0';
}

static int
check_keys(const struct ctx *c, const struct yaml_node *map, const char *path,
           const char *const *allowed, const struct unmodelled *unmodelled)
{
    for (size_t i = 0; i < map->count; i++) {
        const char *key = map->keys[i];
        const char *const *a = allowed;
        while (*a && strcmp(*a, key) != 0) a++;
        if (*a) continue;
        char field[256];
        join(field, sizeof field, path, key);
        for (const struct unmodelled *u = unmodelled; u && u->key; u++)
            if (strcmp(u->key, key) == 0)
                return config_error("%s:%ld: key '%s' (BLIS feature: %s) is not modelled by "
                                    "servesim",
                                    c->doc->name, map->items[i]->line, field, u->feature);
        char list[512] = "";
        for (a = allowed; *a; a++) {
            if (a != allowed) strncat(list, ", ", sizeof list - strlen(list) - 1);
            strncat(list, *a, sizeof list - strlen(list) - 1);
        }
        return config_error("%s:%ld: unknown key '%s' (known: %s)", c->doc->name,
                            map->items[i]->line, field, list);
    }
    return 0;
}

static int
expect(const struct ctx *c, const struct yaml_node *n, enum yaml_kind kind, const char *path)
{
    static const char *names[] = {"a scalar", "a map", "a list"};
    return n->kind == kind ? 0 : bad(c, n, path, "must be %s", names[kind]);
}

/* The getters: 0 when absent (*out untouched), 1 when read, or ERR_CONFIG. */
static const struct yaml_node *
scalar(const struct ctx *c, const struct yaml_node *map, const char *key, const char *path,
       char *field, size_t size, int *rc)
{
    const struct yaml_node *n = yaml_get(map, key);
    join(field, size, path, key);
    *rc = 0;
    if (n && expect(c, n, YAML_SCALAR, field)) *rc = ERR_CONFIG;
    return *rc ? NULL : n;
}

static int
get_double(const struct ctx *c, const struct yaml_node *map, const char *key, const char *path,
           double min, double max, double *out)
{
    char field[256];
    int rc;
    const struct yaml_node *n = scalar(c, map, key, path, field, sizeof field, &rc);
    if (!n) return rc;
    const char *why = parse_double(n->scalar, min, max, out);
    return why ? bad(c, n, field, "%s: '%s'", why, n->scalar) : 1;
}

/* A number > 0 (and <= max). */
static int
get_positive(const struct ctx *c, const struct yaml_node *map, const char *key,
             const char *path, double max, double *out)
{
    double v = 0;
    int rc = get_double(c, map, key, path, -INFINITY, max, &v);
    if (rc <= 0) return rc;
    if (!(v > 0)) {
        char field[256];
        join(field, sizeof field, path, key);
        return bad(c, yaml_get(map, key), field, "must be > 0: '%s'", yaml_get(map, key)->scalar);
    }
    *out = v;
    return 1;
}

static int
get_i64(const struct ctx *c, const struct yaml_node *map, const char *key, const char *path,
        int64_t min, int64_t max, int64_t *out)
{
    char field[256];
    int rc;
    const struct yaml_node *n = scalar(c, map, key, path, field, sizeof field, &rc);
    if (!n) return rc;
    const char *why = parse_i64(n->scalar, min, max, out);
    if (why)
        return bad(c, n, field, "%s: '%s' (need an integer in [%" PRId64 ", %" PRId64 "])", why,
                   n->scalar, min, max);
    return 1;
}

static int
get_bool(const struct ctx *c, const struct yaml_node *map, const char *key, const char *path,
         bool *out)
{
    char field[256];
    int rc;
    const struct yaml_node *n = scalar(c, map, key, path, field, sizeof field, &rc);
    if (!n) return rc;
    const char *why = parse_bool(n->scalar, out);
    return why ? bad(c, n, field, "%s: '%s'", why, n->scalar) : 1;
}

static int
get_string(const struct ctx *c, const struct yaml_node *map, const char *key, const char *path,
           const char **out)
{
    char field[256];
    int rc;
    const struct yaml_node *n = scalar(c, map, key, path, field, sizeof field, &rc);
    if (!n) return rc;
    *out = n->scalar;
    return 1;
}

/* A name used inside a prefix segment or a session: no ';' ',' or line breaks. */
static int
get_name(const struct ctx *c, const struct yaml_node *map, const char *key, const char *path,
         const char **out)
{
    const char *s = NULL;
    int rc = get_string(c, map, key, path, &s);
    if (rc <= 0) return rc;
    if (!*s || strpbrk(s, ";,\"\r\n") || strlen(s) > 200) {
        char field[256];
        join(field, sizeof field, path, key);
        return bad(c, yaml_get(map, key), field,
                   "must be 1 to 200 characters without ';', ',', '\"' or line breaks: '%s'", s);
    }
    *out = s;
    return 1;
}

static char *
dup_or_null(const char *s, int *rc)
{
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) *rc = internal_error("out of memory");
    return d;
}

/* ---- length distributions ---- */

static int
add_pmf_entry(struct length_sampler *d, size_t *capacity, int64_t value, double probability)
{
    if (d->count == *capacity) {
        size_t n = *capacity ? 2 * *capacity : 16;
        int64_t *v = realloc(d->values, n * sizeof *v);
        if (v) d->values = v;
        double *p = realloc(d->probabilities, n * sizeof *p);
        if (p) d->probabilities = p;
        if (!v || !p) return internal_error("out of memory");
        *capacity = n;
    }
    d->values[d->count] = value;
    d->probabilities[d->count++] = probability;
    return 0;
}

static int
inline_pmf(const struct ctx *c, const struct yaml_node *pmf, const char *path, int64_t floor,
           struct length_sampler *d)
{
    int rc = expect(c, pmf, YAML_MAP, path);
    size_t capacity = 0;
    for (size_t i = 0; !rc && i < pmf->count; i++) {
        int64_t value = 0;
        double p = 0;
        const struct yaml_node *n = pmf->items[i];
        const char *why = parse_i64(pmf->keys[i], floor, MAX_TOKENS, &value);
        if (why) return bad(c, n, path, "value %s: '%s'", why, pmf->keys[i]);
        if ((rc = expect(c, n, YAML_SCALAR, path))) break;
        if ((why = parse_double(n->scalar, 0, 1, &p)))
            return bad(c, n, path, "probability of %" PRId64 " %s: '%s'", value, why, n->scalar);
        rc = add_pmf_entry(d, &capacity, value, p);
    }
    return rc;
}

static char *
resolve(const char *dir, const char *file)
{
    if (file[0] == '/' || !dir || !*dir) return strdup(file);
    size_t n = strlen(dir) + strlen(file) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, file);
    return p;
}

/* A PMF file: CSV with the columns value,probability. */
static int
file_pmf(const struct ctx *c, const struct yaml_node *n, const char *path, int64_t floor,
         struct length_sampler *d)
{
    if (!c->dir) return bad(c, n, path, "a built-in preset cannot read files");
    char *name = resolve(c->dir, n->scalar);
    if (!name) return internal_error("out of memory");
    FILE *in = input_open(name);
    if (!in) {
        free(name);
        return ERR_CONFIG;
    }
    static const struct csv_column columns[] = {{"value", true}, {"probability", true}};
    struct csv_table t;
    size_t capacity = 0;
    int rc = csv_table_open(&t, in, name, columns, 2);
    if (!rc) {
        struct csv_record rec;
        while ((rc = csv_table_next(&t, &rec)) > 0) {
            int64_t value = 0;
            double p = 0;
            if ((rc = csv_table_i64(&t, &rec, 0, floor, MAX_TOKENS, &value))) break;
            const char *why = parse_double(csv_table_field(&t, &rec, 1), 0, 1, &p);
            if (why) {
                rc = csv_table_bad(&t, &rec, 1, why);
                break;
            }
            if ((rc = add_pmf_entry(d, &capacity, value, p))) break;
        }
        csv_table_close(&t);
    }
    input_close(in);
    free(name);
    return rc < 0 ? rc : 0;
}

static int
empirical(const struct ctx *c, const struct yaml_node *params, const char *path, int64_t floor,
          struct length_sampler *d)
{
    const struct yaml_node *pmf = yaml_get(params, "pmf"), *file = yaml_get(params, "file");
    char field[256];
    if (!pmf == !file) return bad(c, params, path, "an empirical distribution needs one of pmf, file");
    int rc;
    if (pmf) {
        join(field, sizeof field, path, "pmf");
        rc = inline_pmf(c, pmf, field, floor, d);
    } else {
        join(field, sizeof field, path, "file");
        if ((rc = expect(c, file, YAML_SCALAR, field))) return rc;
        rc = file_pmf(c, file, field, floor, d);
    }
    if (rc) return rc;
    const struct yaml_node *at = pmf ? pmf : file;
    if (d->count == 0) return bad(c, at, field, "the PMF is empty");
    double sum = 0;
    for (size_t i = 0; i < d->count; i++) sum += d->probabilities[i];
    if (!(fabs(sum - 1) <= PMF_TOLERANCE))
        return bad(c, at, field, "the probabilities sum to %.9g, not 1 (within %g)", sum,
                   PMF_TOLERANCE);
    return length_sampler_prepare(d);
}

/* params of each type; every type also takes min and max (the clamp) */
static const char *const params_constant[] = {"value", NULL};
static const char *const params_gaussian[] = {"mean", "std_dev", "min", "max", NULL};
static const char *const params_exponential[] = {"mean", "min", "max", NULL};
static const char *const params_lognormal[] = {"mu", "sigma", "min", "max", NULL};
static const char *const params_pareto[] = {"alpha", "xm", "mu", "sigma", "mix_weight",
                                            "min", "max", NULL};
static const char *const params_uniform[] = {"min", "max", NULL};
static const char *const params_empirical[] = {"pmf", "file", "min", "max", NULL};

static const char *const *const params_of[] = {
    [LENGTH_CONSTANT] = params_constant,       [LENGTH_GAUSSIAN] = params_gaussian,
    [LENGTH_EXPONENTIAL] = params_exponential, [LENGTH_LOGNORMAL] = params_lognormal,
    [LENGTH_PARETO_LOGNORMAL] = params_pareto, [LENGTH_UNIFORM] = params_uniform,
    [LENGTH_EMPIRICAL] = params_empirical,
};

/* A required parameter: its absence is an error. */
static int
need(const struct ctx *c, int rc, const struct yaml_node *params, const char *path,
     const char *key)
{
    if (rc != 0) return rc < 0 ? rc : 0;
    return bad(c, params, path, "missing parameter '%s'", key);
}

static int
lognormal_params(const struct ctx *c, const struct yaml_node *p, const char *path,
                 struct length_sampler *d)
{
    int rc;
    if ((rc = need(c, get_double(c, p, "mu", path, -100, 100, &d->mu), p, path, "mu")) ||
        (rc = need(c, get_double(c, p, "sigma", path, 0, 100, &d->sigma), p, path, "sigma")))
        return rc;
    return 0;
}

static int
length_params(const struct ctx *c, const struct yaml_node *p, const char *path, int64_t floor,
              struct length_sampler *d)
{
    int rc = 0;
    switch (d->kind) {
    case LENGTH_CONSTANT:
        if ((rc = need(c, get_double(c, p, "value", path, (double)floor, (double)MAX_TOKENS,
                                     &d->value), p, path, "value")))
            return rc;
        break;
    case LENGTH_GAUSSIAN:
        if ((rc = need(c, get_double(c, p, "mean", path, 0, (double)MAX_TOKENS, &d->mean), p,
                       path, "mean")) ||
            (rc = need(c, get_double(c, p, "std_dev", path, 0, (double)MAX_TOKENS, &d->std_dev),
                       p, path, "std_dev")))
            return rc;
        break;
    case LENGTH_EXPONENTIAL:
        if ((rc = need(c, get_positive(c, p, "mean", path, (double)MAX_TOKENS, &d->mean), p, path,
                       "mean")))
            return rc;
        break;
    case LENGTH_PARETO_LOGNORMAL:
        if ((rc = need(c, get_positive(c, p, "alpha", path, 1e6, &d->alpha), p, path, "alpha")) ||
            (rc = need(c, get_positive(c, p, "xm", path, (double)MAX_TOKENS, &d->xm), p, path,
                       "xm")) ||
            (rc = need(c, get_double(c, p, "mix_weight", path, 0, 1, &d->mix_weight), p, path,
                       "mix_weight")))
            return rc;
        return lognormal_params(c, p, path, d);
    case LENGTH_LOGNORMAL:
        return lognormal_params(c, p, path, d);
    case LENGTH_UNIFORM:
        break;
    case LENGTH_EMPIRICAL:
        return 0;
    }
    return rc;
}

static int
length_sampler_parse(const struct ctx *c, const struct yaml_node *node, const char *path,
                  int64_t floor, struct length_sampler *out)
{
    static const char *const keys[] = {"type", "params", NULL};
    int rc;
    char field[256];
    if ((rc = expect(c, node, YAML_MAP, path)) || (rc = check_keys(c, node, path, keys, NULL)))
        return rc;
    const char *type = NULL;
    if ((rc = get_string(c, node, "type", path, &type)) < 0) return rc;
    if (!type) return bad(c, node, path, "missing 'type'");
    struct length_sampler d = {.min = floor, .max = MAX_TOKENS};
    join(field, sizeof field, path, "type");
    if (length_kind_parse(type, &d.kind))
        return bad(c, yaml_get(node, "type"), field,
                   "unknown distribution '%s' (known: constant, gaussian, exponential, "
                   "lognormal, pareto_lognormal, uniform, empirical)",
                   type);
    const struct yaml_node *params = yaml_get(node, "params");
    join(field, sizeof field, path, "params");
    if (!params) return bad(c, node, path, "missing 'params'");
    if ((rc = expect(c, params, YAML_MAP, field)) ||
        (rc = check_keys(c, params, field, params_of[d.kind], NULL)))
        return rc;
    int has_min = 0, has_max = 0;
    if ((has_min = get_i64(c, params, "min", field, floor, MAX_TOKENS, &d.min)) < 0 ||
        (has_max = get_i64(c, params, "max", field, floor, MAX_TOKENS, &d.max)) < 0)
        return ERR_CONFIG;
    if (d.min > d.max)
        return bad(c, params, field, "min %" PRId64 " is greater than max %" PRId64, d.min,
                   d.max);
    if (d.kind == LENGTH_UNIFORM) {
        if (!has_min || !has_max) return bad(c, params, field, "uniform needs min and max");
        d.low = d.min;
        d.high = d.max;
    }
    if ((rc = length_params(c, params, field, floor, &d)) ||
        (d.kind == LENGTH_EMPIRICAL && (rc = empirical(c, params, field, floor, &d)))) {
        length_sampler_free(&d);
        return rc;
    }
    *out = d;
    return 0;
}

static struct length_sampler
constant_length(double value)
{
    return (struct length_sampler){.kind = LENGTH_CONSTANT, .value = value, .min = 0,
                                .max = MAX_TOKENS};
}

/* ---- arrival processes ---- */

/* Reads an arrival map; *fixed_rate is 1/(shape*scale) when both are given, else 0. */
static int
arrival_parse(const struct ctx *c, const struct yaml_node *node, const char *path,
              struct gap_process *out, double *fixed_rate)
{
    static const char *const keys[] = {"process", "cv", "shape", "scale", NULL};
    int rc;
    if ((rc = expect(c, node, YAML_MAP, path)) || (rc = check_keys(c, node, path, keys, NULL)))
        return rc;
    const char *name = NULL;
    char field[256];
    if ((rc = get_string(c, node, "process", path, &name)) < 0) return rc;
    if (!name) return bad(c, node, path, "missing 'process'");
    enum gap_kind kind;
    join(field, sizeof field, path, "process");
    if (gap_kind_parse(name, &kind))
        return bad(c, yaml_get(node, "process"), field,
                   "unknown process '%s' (known: poisson, constant, gamma, weibull)", name);
    double cv = 0, shape = 0, scale = 0;
    int has_cv, has_shape, has_scale;
    if ((has_cv = get_positive(c, node, "cv", path, 1000, &cv)) < 0 ||
        (has_shape = get_positive(c, node, "shape", path, 1e12, &shape)) < 0 ||
        (has_scale = get_positive(c, node, "scale", path, 1e12, &scale)) < 0)
        return ERR_CONFIG;
    *fixed_rate = 0;
    if (kind == GAP_GAMMA) {
        if (has_cv == (has_shape || has_scale))
            return bad(c, node, path, "gamma needs either cv, or shape (and optionally scale)");
        if (has_shape) cv = 1 / sqrt(shape);
        if (has_scale) *fixed_rate = 1 / (shape * scale);
    } else if (has_shape || has_scale) {
        return bad(c, node, path, "shape and scale apply to the gamma process only");
    } else if (kind == GAP_WEIBULL && !has_cv) {
        return bad(c, node, path, "weibull needs cv");
    } else if (kind != GAP_WEIBULL && has_cv) {
        return bad(c, node, path, "cv applies to gamma and weibull only");
    }
    return gap_process_init(out, kind, cv, path) ? ERR_CONFIG : 0;
}

/* ---- windows, spikes, diurnal ---- */

static int
get_period(const struct ctx *c, const struct yaml_node *w, const char *path, double *start,
           double *end)
{
    int rc;
    *start = 0;
    *end = INFINITY;
    if ((rc = get_double(c, w, "start_s", path, 0, MAX_SECONDS, start)) < 0 ||
        (rc = get_double(c, w, "end_s", path, 0, MAX_SECONDS, end)) < 0)
        return rc;
    if (!(*end > *start)) return bad(c, w, path, "end_s must be after start_s");
    return 0;
}

/* Periods must be listed in time order and must not overlap. */
static int
check_order(const struct ctx *c, const struct yaml_node *w, const char *path, double prev_end,
            double start)
{
    if (start < prev_end)
        return bad(c, w, path, "starts before the previous window ends (windows are listed "
                               "in time order and do not overlap)");
    return 0;
}

static int
windows_parse(const struct ctx *c, const struct yaml_node *list, double aggregate_rate,
              struct workload_spec *s)
{
    static const char *const keys[] = {"start_s", "end_s", "rate", "ramp_to", "rate_scale",
                                       NULL};
    int rc = expect(c, list, YAML_SEQ, "windows");
    if (rc) return rc;
    if (list->count == 0) return bad(c, list, "windows", "the list is empty");
    s->windows = calloc(list->count, sizeof *s->windows);
    if (!s->windows) return internal_error("out of memory");
    double prev_end = 0;
    for (size_t i = 0; i < list->count; i++) {
        const struct yaml_node *w = list->items[i];
        char path[64];
        snprintf(path, sizeof path, "windows[%zu]", i);
        struct spec_window *o = &s->windows[s->num_windows++];
        if ((rc = expect(c, w, YAML_MAP, path)) || (rc = check_keys(c, w, path, keys, NULL)) ||
            (rc = get_period(c, w, path, &o->start_s, &o->end_s)) ||
            (rc = check_order(c, w, path, prev_end, o->start_s)))
            return rc;
        prev_end = o->end_s;
        double rate = NAN, ramp = NAN, scale = NAN;
        int has_rate, has_ramp, has_scale;
        if ((has_rate = get_double(c, w, "rate", path, 0, MAX_RATE, &rate)) < 0 ||
            (has_ramp = get_double(c, w, "ramp_to", path, 0, MAX_RATE, &ramp)) < 0 ||
            (has_scale = get_double(c, w, "rate_scale", path, 0, 1e6, &scale)) < 0)
            return ERR_CONFIG;
        if (has_rate == has_scale) return bad(c, w, path, "needs one of rate, rate_scale");
        if (has_ramp && (!has_rate || isinf(o->end_s)))
            return bad(c, w, path, "ramp_to needs rate and end_s");
        if (has_rate && !(aggregate_rate > 0))
            return bad(c, w, path, "rate needs a top-level aggregate_rate");
        o->scale_start = has_rate ? rate / aggregate_rate : scale;
        o->scale_end = has_ramp ? ramp / aggregate_rate : o->scale_start;
    }
    return 0;
}

static int
spikes_parse(const struct ctx *c, const struct yaml_node *list, struct workload_spec *s)
{
    static const char *const keys[] = {"start_s", "duration_s", "multiplier", NULL};
    int rc = expect(c, list, YAML_SEQ, "spikes");
    if (rc) return rc;
    s->spikes = calloc(list->count ? list->count : 1, sizeof *s->spikes);
    if (!s->spikes) return internal_error("out of memory");
    for (size_t i = 0; i < list->count; i++) {
        const struct yaml_node *w = list->items[i];
        char path[64];
        snprintf(path, sizeof path, "spikes[%zu]", i);
        struct spec_spike *o = &s->spikes[s->num_spikes++];
        double duration = 0;
        if ((rc = expect(c, w, YAML_MAP, path)) || (rc = check_keys(c, w, path, keys, NULL)) ||
            (rc = need(c, get_double(c, w, "start_s", path, 0, MAX_SECONDS, &o->start_s), w,
                       path, "start_s")) ||
            (rc = need(c, get_positive(c, w, "duration_s", path, MAX_SECONDS, &duration), w, path,
                       "duration_s")) ||
            (rc = need(c, get_double(c, w, "multiplier", path, 0, 1e6, &o->multiplier), w, path,
                       "multiplier")))
            return rc;
        o->end_s = o->start_s + duration;
    }
    return 0;
}

static int
diurnal_parse(const struct ctx *c, const struct yaml_node *n, struct spec_diurnal *d)
{
    static const char *const keys[] = {"period_s", "amplitude", "peak_s", NULL};
    int rc;
    d->enabled = true;
    d->period_s = 86400;
    d->peak_s = 0;
    if ((rc = expect(c, n, YAML_MAP, "diurnal")) ||
        (rc = check_keys(c, n, "diurnal", keys, NULL)) ||
        (rc = get_positive(c, n, "period_s", "diurnal", MAX_SECONDS, &d->period_s)) < 0 ||
        (rc = need(c, get_double(c, n, "amplitude", "diurnal", 0, 1, &d->amplitude), n,
                   "diurnal", "amplitude")) ||
        (rc = get_double(c, n, "peak_s", "diurnal", 0, MAX_SECONDS, &d->peak_s)) < 0)
        return rc < 0 ? rc : ERR_CONFIG;
    return 0;
}

/* ---- clients ---- */

static const struct unmodelled client_unmodelled[] = {
    {"network", "client network round-trip time and bandwidth"},
    {"multimodal", "image, audio and video inputs"},
    {"model", "several models behind one endpoint"},
    {"lifecycle", "client lifecycle (write the client's active periods as 'windows')"},
    {"closed_loop", "closed-loop clients; closed-loop sessions are written "
                    "multi_turn: {closed_loop: true}"},
    {"concurrency", "closed-loop clients with a fixed concurrency (not supported yet)"},
    {"timeout", "client-side timeouts"},
    {NULL, NULL},
};

static int
distributions_parse(const struct ctx *c, const struct yaml_node *map, const char *path,
                    struct gap_process *arrival, double *fixed_rate, struct length_sampler *input,
                    struct length_sampler *output)
{
    const struct yaml_node *n;
    char field[256];
    int rc = 0;
    if ((n = yaml_get(map, "arrival"))) {
        join(field, sizeof field, path, "arrival");
        if ((rc = arrival_parse(c, n, field, arrival, fixed_rate))) return rc;
    }
    if ((n = yaml_get(map, "input_distribution"))) {
        join(field, sizeof field, path, "input_distribution");
        length_sampler_free(input);
        if ((rc = length_sampler_parse(c, n, field, 1, input))) return rc;
    }
    if ((n = yaml_get(map, "output_distribution"))) {
        join(field, sizeof field, path, "output_distribution");
        length_sampler_free(output);
        if ((rc = length_sampler_parse(c, n, field, 1, output))) return rc;
    }
    return 0;
}

/* A distribution known to be 0: BLIS writes "no reasoning" as a gaussian
 * with mean, std_dev, min and max all 0. */
static bool
is_zero_distribution(const struct yaml_node *n)
{
    const struct yaml_node *type = yaml_get(n, "type"), *params = yaml_get(n, "params");
    if (!type || !params || type->kind != YAML_SCALAR || params->kind != YAML_MAP) return false;
    for (size_t i = 0; i < params->count; i++) {
        double v = 1;
        if (params->items[i]->kind != YAML_SCALAR ||
            parse_double(params->items[i]->scalar, -1e300, 1e300, &v) || v != 0)
            return false;
    }
    return params->count > 0;
}

static int
multi_turn_parse(const struct ctx *c, const struct yaml_node *n, const char *path,
                 struct spec_client *cl)
{
    static const char *const keys[] = {"max_rounds",     "think_time_us", "think_time_distribution",
                                       "context_growth", "closed_loop",   NULL};
    static const struct unmodelled unmodelled[] = {
        {"single_session", "one shared session per client"},
        {NULL, NULL},
    };
    int rc;
    if ((rc = expect(c, n, YAML_MAP, path)) || (rc = check_keys(c, n, path, keys, unmodelled)) ||
        (rc = need(c, get_i64(c, n, "max_rounds", path, 1, MAX_ROUNDS, &cl->rounds), n, path,
                   "max_rounds")))
        return rc;
    double think = 0;
    int has_think = get_double(c, n, "think_time_us", path, 0, MAX_SECONDS * 1e6, &think);
    if (has_think < 0) return has_think;
    const struct yaml_node *td = yaml_get(n, "think_time_distribution");
    if (has_think && td)
        return bad(c, n, path, "give think_time_us or think_time_distribution, not both");
    cl->think_time_us = constant_length(think);
    if (td) {
        char field[256];
        join(field, sizeof field, path, "think_time_distribution");
        if ((rc = length_sampler_parse(c, td, field, 0, &cl->think_time_us))) return rc;
    }
    if ((rc = get_bool(c, n, "closed_loop", path, &cl->closed_loop)) < 0) return rc;
    const char *growth = "accumulate";
    if ((rc = get_string(c, n, "context_growth", path, &growth)) < 0) return rc;
    if (strcmp(growth, "accumulate") == 0)
        cl->accumulate = true;
    else if (strcmp(growth, "none") == 0)
        cl->accumulate = false;
    else {
        char field[256];
        join(field, sizeof field, path, "context_growth");
        return bad(c, yaml_get(n, "context_growth"), field,
                   "unknown value '%s' (known: accumulate, none)", growth);
    }
    return 0;
}

static int
reasoning_parse(const struct ctx *c, const struct yaml_node *n, const char *path,
                struct spec_client *cl)
{
    static const char *const keys[] = {"multi_turn", "reason_ratio_distribution", NULL};
    int rc;
    char field[256];
    if ((rc = expect(c, n, YAML_MAP, path)) || (rc = check_keys(c, n, path, keys, NULL)))
        return rc;
    const struct yaml_node *ratio = yaml_get(n, "reason_ratio_distribution");
    join(field, sizeof field, path, "reason_ratio_distribution");
    if (ratio && !is_zero_distribution(ratio))
        return config_error("%s:%ld: key '%s' (BLIS feature: reasoning tokens, a share of the "
                            "output left out of the next round's context) is not modelled by "
                            "servesim; only a distribution that is identically 0 is accepted",
                            c->doc->name, ratio->line, field);
    const struct yaml_node *mt = yaml_get(n, "multi_turn");
    join(field, sizeof field, path, "multi_turn");
    return mt ? multi_turn_parse(c, mt, field, cl) : 0;
}

static int
client_windows_parse(const struct ctx *c, const struct yaml_node *list, const char *path,
                     struct spec_client *cl)
{
    static const char *const keys[] = {"start_s", "end_s", "arrival", "input_distribution",
                                       "output_distribution", NULL};
    int rc = expect(c, list, YAML_SEQ, path);
    if (rc) return rc;
    if (list->count == 0) return bad(c, list, path, "the list is empty");
    cl->windows = calloc(list->count, sizeof *cl->windows);
    if (!cl->windows) return internal_error("out of memory");
    double prev_end = 0;
    for (size_t i = 0; i < list->count; i++) {
        const struct yaml_node *w = list->items[i];
        char field[256];
        if (snprintf(field, sizeof field, "%s[%zu]", path, i) >= (int)sizeof field)
            field[sizeof field - 1] = '\0';
        struct spec_client_window *o = &cl->windows[cl->num_windows++];
        o->arrival = cl->arrival;
        double fixed = 0;
        if ((rc = expect(c, w, YAML_MAP, field)) || (rc = check_keys(c, w, field, keys, NULL)) ||
            (rc = get_period(c, w, field, &o->start_s, &o->end_s)) ||
            (rc = check_order(c, w, field, prev_end, o->start_s)))
            return rc;
        prev_end = o->end_s;
        o->has_input = yaml_get(w, "input_distribution") != NULL;
        o->has_output = yaml_get(w, "output_distribution") != NULL;
        if ((rc = distributions_parse(c, w, field, &o->arrival, &fixed, &o->input, &o->output)))
            return rc;
        if (fixed > 0) return bad(c, w, field, "a window's gamma process takes cv or shape, not scale");
    }
    return 0;
}

static int
client_parse(const struct ctx *c, const struct yaml_node *n, const char *path, size_t index,
             struct spec_client *cl, double *fixed_rate)
{
    static const char *const keys[] = {
        "id",           "tenant_id",          "tenant",       "slo_class",
        "rate_fraction", "streaming",         "arrival",      "input_distribution",
        "output_distribution", "prefix_group", "prefix_length", "reasoning",
        "multi_turn",   "windows",            NULL};
    int rc;
    if ((rc = expect(c, n, YAML_MAP, path)) ||
        (rc = check_keys(c, n, path, keys, client_unmodelled)))
        return rc;
    const char *id = NULL, *tenant = NULL, *tenant_id = NULL, *slo = "", *group = NULL;
    bool streaming = true;
    char generated[32];
    snprintf(generated, sizeof generated, "client%zu", index);
    if ((rc = get_name(c, n, "id", path, &id)) < 0 ||
        (rc = get_string(c, n, "tenant", path, &tenant)) < 0 ||
        (rc = get_string(c, n, "tenant_id", path, &tenant_id)) < 0 ||
        (rc = get_string(c, n, "slo_class", path, &slo)) < 0 ||
        (rc = get_name(c, n, "prefix_group", path, &group)) < 0 ||
        (rc = get_bool(c, n, "streaming", path, &streaming)) < 0)
        return rc;
    if (tenant && tenant_id) return bad(c, n, path, "give tenant or tenant_id, not both");
    rc = 0;
    cl->id = dup_or_null(id ? id : generated, &rc);
    cl->tenant = dup_or_null(tenant ? tenant : tenant_id ? tenant_id : "", &rc);
    cl->slo_class = dup_or_null(slo, &rc);
    cl->prefix_group = dup_or_null(group, &rc);
    if (rc) return rc;
    cl->rounds = 1;
    cl->accumulate = true;
    cl->think_time_us = constant_length(0);
    int has_fraction = get_positive(c, n, "rate_fraction", path, 1e9, &cl->rate_fraction);
    int has_length = get_i64(c, n, "prefix_length", path, 1, MAX_TOKENS, &cl->prefix_length);
    if (has_fraction < 0 || has_length < 0) return ERR_CONFIG;
    if (has_length && !group) cl->prefix_group = dup_or_null(cl->id, &rc);
    if (rc) return rc;
    if (group && !has_length) return bad(c, n, path, "prefix_group needs prefix_length");
    cl->arrival.kind = GAP_POISSON;
    gap_process_init(&cl->arrival, GAP_POISSON, 1, path);
    if (!yaml_get(n, "input_distribution") || !yaml_get(n, "output_distribution"))
        return bad(c, n, path, "needs input_distribution and output_distribution");
    if ((rc = distributions_parse(c, n, path, &cl->arrival, fixed_rate, &cl->input, &cl->output)))
        return rc;
    if (*fixed_rate > 0 && has_fraction)
        return bad(c, n, path, "a gamma process given by shape and scale fixes the client's "
                               "rate: drop rate_fraction");
    if (*fixed_rate == 0 && !has_fraction) return bad(c, n, path, "missing 'rate_fraction'");
    const struct yaml_node *r = yaml_get(n, "reasoning"), *mt = yaml_get(n, "multi_turn");
    char field[256];
    if (r && mt) return bad(c, n, path, "give reasoning.multi_turn or multi_turn, not both");
    join(field, sizeof field, path, r ? "reasoning" : "multi_turn");
    if ((r && (rc = reasoning_parse(c, r, field, cl))) ||
        (mt && (rc = multi_turn_parse(c, mt, field, cl))))
        return rc;
    const struct yaml_node *w = yaml_get(n, "windows");
    join(field, sizeof field, path, "windows");
    return w ? client_windows_parse(c, w, field, cl) : 0;
}

static int
clients_parse(const struct ctx *c, const struct yaml_node *list, struct workload_spec *s)
{
    int rc = expect(c, list, YAML_SEQ, "clients");
    if (rc) return rc;
    if (list->count == 0) return bad(c, list, "clients", "the list is empty");
    s->clients = calloc(list->count, sizeof *s->clients);
    double *fixed = calloc(list->count, sizeof *fixed);
    if (!s->clients || !fixed) {
        free(fixed);
        return internal_error("out of memory");
    }
    double fractions = 0;
    for (size_t i = 0; !rc && i < list->count; i++) {
        char path[64];
        snprintf(path, sizeof path, "clients[%zu]", i);
        struct spec_client *cl = &s->clients[s->num_clients++];
        if ((rc = client_parse(c, list->items[i], path, i, cl, &fixed[i]))) break;
        for (size_t j = 0; j < i; j++)
            if (strcmp(s->clients[j].id, cl->id) == 0) {
                rc = bad(c, list->items[i], path, "client id '%s' is used twice", cl->id);
                break;
            }
        fractions += cl->rate_fraction;
    }
    for (size_t i = 0; !rc && i < s->num_clients; i++) {
        struct spec_client *cl = &s->clients[i];
        if (fixed[i] > 0)
            cl->rate_per_s = fixed[i];
        else if (!(s->aggregate_rate > 0))
            rc = bad(c, list->items[i], "aggregate_rate",
                     "missing: the clients' rate fractions share it");
        else
            cl->rate_per_s = s->aggregate_rate * cl->rate_fraction / fractions;
    }
    free(fixed);
    return rc;
}

/* ---- inference-perf: stages and shared-prefix groups, expanded to clients ---- */

static int
make_constant_client(struct spec_client *cl, const char *id, const char *group,
                     int64_t prefix_length, double input, double output)
{
    int rc = 0;
    cl->id = dup_or_null(id, &rc);
    cl->tenant = dup_or_null("", &rc);
    cl->slo_class = dup_or_null("", &rc);
    cl->prefix_group = dup_or_null(group, &rc);
    cl->prefix_length = prefix_length;
    cl->rate_fraction = 1;
    cl->rounds = 1;
    cl->accumulate = true;
    gap_process_init(&cl->arrival, GAP_POISSON, 1, id);
    cl->input = constant_length(input);
    cl->output = constant_length(output);
    cl->input.min = cl->output.min = 1;
    cl->think_time_us = constant_length(0);
    return rc;
}

static int
inference_perf_parse(const struct ctx *c, const struct yaml_node *n, struct workload_spec *s)
{
    static const char *const keys[] = {"stages", "shared_prefix", NULL};
    static const char *const stage_keys[] = {"rate", "duration", NULL};
    static const char *const prefix_keys[] = {
        "num_unique_system_prompts", "num_users_per_system_prompt", "system_prompt_len",
        "question_len", "output_len", "enable_multi_turn_chat", NULL};
    const char *p = "inference_perf", *sp = "inference_perf.shared_prefix";
    int rc;
    if ((rc = expect(c, n, YAML_MAP, p)) || (rc = check_keys(c, n, p, keys, NULL))) return rc;
    const struct yaml_node *stages = yaml_get(n, "stages"), *prefix = yaml_get(n, "shared_prefix");
    if (!stages || !prefix) return bad(c, n, p, "needs stages and shared_prefix");
    if ((rc = expect(c, stages, YAML_SEQ, "inference_perf.stages")) ||
        (rc = expect(c, prefix, YAML_MAP, sp)) ||
        (rc = check_keys(c, prefix, sp, prefix_keys, NULL)))
        return rc;
    if (stages->count == 0) return bad(c, stages, "inference_perf.stages", "the list is empty");
    s->aggregate_rate = 1; /* each stage's rate is its window's scale */
    s->windows = calloc(stages->count, sizeof *s->windows);
    if (!s->windows) return internal_error("out of memory");
    double t = 0;
    for (size_t i = 0; i < stages->count; i++) {
        char path[64];
        snprintf(path, sizeof path, "inference_perf.stages[%zu]", i);
        const struct yaml_node *st = stages->items[i];
        double rate = 0, duration = 0;
        if ((rc = expect(c, st, YAML_MAP, path)) ||
            (rc = check_keys(c, st, path, stage_keys, NULL)) ||
            (rc = need(c, get_double(c, st, "rate", path, 0, MAX_RATE, &rate), st, path,
                       "rate")) ||
            (rc = need(c, get_positive(c, st, "duration", path, MAX_SECONDS, &duration), st,
                       path, "duration")))
            return rc;
        s->windows[s->num_windows++] = (struct spec_window){t, t + duration, rate, rate};
        t += duration;
    }
    int64_t prompts = 0, users = 0, system = 0, question = 0, output = 0;
    bool multi_turn = false;
    if ((rc = need(c, get_i64(c, prefix, "num_unique_system_prompts", sp, 1, 100000, &prompts),
                   prefix, sp, "num_unique_system_prompts")) ||
        (rc = need(c, get_i64(c, prefix, "num_users_per_system_prompt", sp, 1, 100000, &users),
                   prefix, sp, "num_users_per_system_prompt")) ||
        (rc = need(c, get_i64(c, prefix, "system_prompt_len", sp, 1, MAX_TOKENS, &system),
                   prefix, sp, "system_prompt_len")) ||
        (rc = need(c, get_i64(c, prefix, "question_len", sp, 1, MAX_TOKENS, &question), prefix,
                   sp, "question_len")) ||
        (rc = need(c, get_i64(c, prefix, "output_len", sp, 1, MAX_TOKENS, &output), prefix, sp,
                   "output_len")) ||
        (rc = get_bool(c, prefix, "enable_multi_turn_chat", sp, &multi_turn)) < 0)
        return rc < 0 ? rc : ERR_CONFIG;
    if (multi_turn)
        return config_error("%s:%ld: key '%s.enable_multi_turn_chat' (BLIS feature: one shared "
                            "session per user) is not modelled by servesim",
                            c->doc->name, yaml_get(prefix, "enable_multi_turn_chat")->line, sp);
    if (prompts * users > 100000) return bad(c, prefix, sp, "more than 100000 clients");
    s->clients = calloc((size_t)(prompts * users), sizeof *s->clients);
    if (!s->clients) return internal_error("out of memory");
    for (int64_t g = 0; g < prompts; g++)
        for (int64_t u = 0; u < users; u++) {
            char id[64], group[64];
            snprintf(id, sizeof id, "prompt%" PRId64 "-user%" PRId64, g, u);
            snprintf(group, sizeof group, "system-prompt%" PRId64, g);
            struct spec_client *cl = &s->clients[s->num_clients++];
            if ((rc = make_constant_client(cl, id, group, system, (double)question,
                                           (double)output)))
                return rc;
            cl->rate_per_s = 1.0 / (double)(prompts * users);
        }
    return 0;
}

/* ---- the document ---- */

static const struct unmodelled top_unmodelled[] = {
    {"cohorts", "client cohorts with population dynamics"},
    {"servegen_data", "ServeGen data directories (use gen-workload --from servegen)"},
    {"closed_loop", "closed-loop clients; closed-loop sessions are written "
                    "clients[N].multi_turn: {closed_loop: true}"},
    {NULL, NULL},
};

static int
top_parse(const struct ctx *c, const struct yaml_node *root, struct workload_spec *s)
{
    static const char *const keys[] = {
        "version", "description", "seed",    "category", "aggregate_rate", "num_requests",
        "horizon_s", "clients",   "windows", "diurnal",  "spikes",         "inference_perf",
        NULL};
    int rc;
    if ((rc = expect(c, root, YAML_MAP, "the document")) ||
        (rc = check_keys(c, root, "", keys, top_unmodelled)))
        return rc;
    const char *version = "2", *category = "language", *description = "";
    if ((rc = get_string(c, root, "version", "", &version)) < 0 ||
        (rc = get_string(c, root, "category", "", &category)) < 0 ||
        (rc = get_string(c, root, "description", "", &description)) < 0)
        return rc;
    if (strcmp(version, "1") != 0 && strcmp(version, "2") != 0)
        return bad(c, yaml_get(root, "version"), "version", "unknown version '%s' (known: 1, 2)",
                   version);
    if (strcmp(category, "multimodal") == 0)
        return config_error("%s:%ld: key 'category' value 'multimodal' (BLIS feature: image, "
                            "audio and video inputs) is not modelled by servesim",
                            c->doc->name, yaml_get(root, "category")->line);
    if (strcmp(category, "language") != 0 && strcmp(category, "reasoning") != 0)
        return bad(c, yaml_get(root, "category"), "category",
                   "unknown category '%s' (known: language, reasoning)", category);
    rc = 0;
    s->description = dup_or_null(description, &rc);
    int64_t seed = 0;
    s->num_requests = -1;
    s->horizon_s = INFINITY;
    if (rc || (rc = get_i64(c, root, "seed", "", 0, INT64_MAX, &seed)) < 0 ||
        (rc = get_i64(c, root, "num_requests", "", 0, (int64_t)1 << 40, &s->num_requests)) < 0 ||
        (rc = get_positive(c, root, "horizon_s", "", MAX_SECONDS, &s->horizon_s)) < 0 ||
        (rc = get_positive(c, root, "aggregate_rate", "", MAX_RATE, &s->aggregate_rate)) < 0)
        return rc;
    s->seed = (uint64_t)seed;
    const struct yaml_node *clients = yaml_get(root, "clients"), *ip = yaml_get(root, "inference_perf");
    if (!clients == !ip) return bad(c, root, "the document", "needs one of clients, inference_perf");
    const struct yaml_node *n;
    if (ip && (yaml_get(root, "windows") || yaml_get(root, "aggregate_rate")))
        return bad(c, ip, "inference_perf", "its stages replace windows and aggregate_rate");
    if (ip && (rc = inference_perf_parse(c, ip, s))) return rc;
    if ((n = yaml_get(root, "windows")) && (rc = windows_parse(c, n, s->aggregate_rate, s)))
        return rc;
    if (clients && (rc = clients_parse(c, clients, s))) return rc;
    if ((n = yaml_get(root, "spikes")) && (rc = spikes_parse(c, n, s))) return rc;
    if ((n = yaml_get(root, "diurnal")) && (rc = diurnal_parse(c, n, &s->diurnal))) return rc;
    return 0;
}

void
spec_free(struct workload_spec *s)
{
    for (size_t i = 0; i < s->num_clients; i++) {
        struct spec_client *cl = &s->clients[i];
        free(cl->id);
        free(cl->tenant);
        free(cl->slo_class);
        free(cl->prefix_group);
        length_sampler_free(&cl->input);
        length_sampler_free(&cl->output);
        length_sampler_free(&cl->think_time_us);
        for (size_t j = 0; j < cl->num_windows; j++) {
            length_sampler_free(&cl->windows[j].input);
            length_sampler_free(&cl->windows[j].output);
        }
        free(cl->windows);
    }
    free(s->clients);
    free(s->windows);
    free(s->spikes);
    free(s->description);
    memset(s, 0, sizeof *s);
}

static int
load_doc(const struct yaml_doc *doc, const char *dir, struct workload_spec *out)
{
    struct ctx c = {doc, dir};
    struct workload_spec s = {0};
    int rc = top_parse(&c, doc->root, &s);
    if (rc) {
        spec_free(&s);
        return rc;
    }
    *out = s;
    return 0;
}

int
spec_load_text(const char *text, size_t length, const char *name, const char *dir,
               struct workload_spec *out)
{
    struct yaml_doc doc;
    int rc = yaml_load_text(text, length, name, &doc);
    if (rc) return rc;
    rc = load_doc(&doc, dir, out);
    yaml_doc_free(&doc);
    return rc;
}

int
spec_load_file(const char *path, struct workload_spec *out)
{
    struct yaml_doc doc;
    int rc = yaml_load_file(path, &doc);
    if (rc) return rc;
    char *dir = strdup(path);
    if (!dir) {
        yaml_doc_free(&doc);
        return internal_error("out of memory");
    }
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        strcpy(dir, ".");
    rc = load_doc(&doc, dir, out);
    free(dir);
    yaml_doc_free(&doc);
    return rc;
}
