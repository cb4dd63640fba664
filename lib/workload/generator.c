/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "workload/generator.h"

#include "core/error.h"
#include "core/rng.h"

#include <gsl/gsl_randist.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Token counts above this are refused: far beyond any real prompt, and small
 * enough that prefix + prompt cannot overflow (request_csv.c reads the same). */
#define MAX_TOKENS ((int64_t)1 << 40)
/* The latest arrival the request stream accepts (request_csv.c). */
#define MAX_TIME_US ((int64_t)1 << 60)

static const char *const process_names[] = {
    [ARRIVAL_POISSON] = "poisson",
    [ARRIVAL_CONSTANT] = "constant",
    [ARRIVAL_GAMMA] = "gamma",
};

int
arrival_process_parse(const char *name, enum arrival_process *out)
{
    for (size_t i = 0; i < sizeof process_names / sizeof process_names[0]; i++)
        if (strcmp(name, process_names[i]) == 0) {
            *out = (enum arrival_process)i;
            return 0;
        }
    return -1;
}

const char *
arrival_process_name(enum arrival_process process)
{
    if ((size_t)process >= sizeof process_names / sizeof process_names[0]) return "unknown";
    return process_names[process];
}

static int
validate_length(const struct length_dist *d, const char *what, const char *flag)
{
    if (!isfinite(d->mean) || d->mean < 0 || d->mean > (double)MAX_TOKENS)
        return config_error("%s length: mean %g is out of range [0, %" PRId64 "] (--%s-tokens)",
                            what, d->mean, MAX_TOKENS, flag);
    if (!isfinite(d->stdev) || d->stdev < 0 || d->stdev > (double)MAX_TOKENS)
        return config_error("%s length: stdev %g is out of range [0, %" PRId64 "] (--%s-stdev)",
                            what, d->stdev, MAX_TOKENS, flag);
    if (d->min < 1 || d->min > MAX_TOKENS)
        return config_error("%s length: min %" PRId64 " is out of range [1, %" PRId64
                            "] (--%s-min)",
                            what, d->min, MAX_TOKENS, flag);
    if (d->max < 1 || d->max > MAX_TOKENS)
        return config_error("%s length: max %" PRId64 " is out of range [1, %" PRId64
                            "] (--%s-max)",
                            what, d->max, MAX_TOKENS, flag);
    if (d->min > d->max)
        return config_error("%s length: min %" PRId64 " is greater than max %" PRId64
                            " (--%s-min, --%s-max)",
                            what, d->min, d->max, flag, flag);
    return 0;
}

int
workload_config_validate(const struct workload_config *c)
{
    if (!isfinite(c->rate_per_s) || c->rate_per_s <= 0 || c->rate_per_s > 1e9)
        return config_error("rate %g is out of range: need 0 < rate <= 1e9 requests/s (--rate)",
                            c->rate_per_s);
    if (c->num_requests < 0)
        return config_error("number of requests %" PRId64 " is negative (--num-requests)",
                            c->num_requests);
    if ((size_t)c->arrival >= sizeof process_names / sizeof process_names[0])
        return config_error("unknown arrival process %d (--arrival)", (int)c->arrival);
    if (!isfinite(c->cv) || c->cv <= 0 || c->cv > 1e3)
        return config_error("cv %g is out of range: need 0 < cv <= 1000 (--cv)", c->cv);
    /* refuse up front what would surely pass the stream's time limit; a
     * random process that still does is caught in generator_next */
    if ((double)c->num_requests / c->rate_per_s * 1e6 > (double)(MAX_TIME_US / 2))
        return config_error("%" PRId64 " requests at %g/s would last beyond the request "
                            "stream's time limit (2^60 us) (--num-requests, --rate)",
                            c->num_requests, c->rate_per_s);
    if (c->prefix_tokens < 0 || c->prefix_tokens > MAX_TOKENS)
        return config_error("prefix tokens %" PRId64 " out of range [0, %" PRId64
                            "] (--prefix-tokens)",
                            c->prefix_tokens, MAX_TOKENS);
    if (!memchr(c->slo_class, '\0', sizeof c->slo_class))
        return config_error("slo class name is too long (--slo-class)");
    if (!memchr(c->tenant, '\0', sizeof c->tenant))
        return config_error("tenant name is too long (--tenant)");
    return validate_length(&c->prompt, "prompt", "prompt") ||
                   validate_length(&c->output, "output", "output")
               ? ERR_CONFIG
               : 0;
}

struct generator {
    struct workload_config config;
    struct rng_stream arrival, prompt, output;
    struct request template; /* prefix, segments, labels shared by every request */
    int64_t next_id;
    double now_s; /* cumulative sum of the gaps, never of rounded times */
};

void
generator_free(struct generator *g)
{
    if (!g) return;
    rng_stream_free(&g->arrival);
    rng_stream_free(&g->prompt);
    rng_stream_free(&g->output);
    request_clear(&g->template);
    free(g);
}

static int
make_template(const struct workload_config *c, struct request *t)
{
    char prefix[64] = "";
    if (c->prefix_tokens > 0) snprintf(prefix, sizeof prefix, "system:%" PRId64, c->prefix_tokens);
    if (prefix_parse(prefix, &t->segments, &t->num_segments, &t->prefix_tokens))
        return internal_error("cannot parse the generated prefix '%s'", prefix);
    t->prefix = strdup(prefix);
    t->slo_class = strdup(c->slo_class);
    t->tenant = strdup(c->tenant);
    t->session = strdup("");
    if (!t->prefix || !t->slo_class || !t->tenant || !t->session)
        return internal_error("out of memory");
    return 0;
}

int
generator_new(const struct workload_config *config, struct generator **out)
{
    int rc = workload_config_validate(config);
    if (rc) return rc;
    struct generator *g = calloc(1, sizeof *g);
    if (!g) return internal_error("out of memory");
    g->config = *config;
    /* one stream per quantity: changing the lengths never moves an arrival */
    if ((rc = rng_stream_init(&g->arrival, config->seed, "arrival")) ||
        (rc = rng_stream_init(&g->prompt, config->seed, "prompt")) ||
        (rc = rng_stream_init(&g->output, config->seed, "output")) ||
        (rc = make_template(config, &g->template))) {
        generator_free(g);
        return rc;
    }
    *out = g;
    return 0;
}

static double
next_gap_s(struct generator *g)
{
    const struct workload_config *c = &g->config;
    switch (c->arrival) {
    case ARRIVAL_CONSTANT:
        return 1.0 / c->rate_per_s;
    case ARRIVAL_GAMMA: {
        /* mean k*theta = 1/rate and cv = 1/sqrt(k) */
        double k = 1.0 / (c->cv * c->cv);
        return gsl_ran_gamma(g->arrival.gsl, k, 1.0 / (c->rate_per_s * k));
    }
    case ARRIVAL_POISSON:
    default:
        return gsl_ran_exponential(g->arrival.gsl, 1.0 / c->rate_per_s);
    }
}

static int64_t
sample_length(struct rng_stream *s, const struct length_dist *d)
{
    double x = d->mean + gsl_ran_gaussian(s->gsl, d->stdev);
    if (x < (double)d->min) return d->min;
    if (x > (double)d->max) return d->max;
    return llround(x);
}

int
generator_next(struct generator *g, struct request *out)
{
    if (g->next_id >= g->config.num_requests) return 0;
    g->now_s += next_gap_s(g);
    double arrival_us = g->now_s * 1e6;
    if (!(arrival_us <= (double)MAX_TIME_US))
        return config_error("request %" PRId64 " would arrive after %g s, beyond the request "
                            "stream's limit; lower --num-requests or raise --rate",
                            g->next_id, g->now_s);
    struct request r;
    int rc = request_copy(&r, &g->template);
    if (rc) return rc;
    r.id = g->next_id++;
    r.arrival_us = llround(arrival_us);
    r.input_tokens = g->config.prefix_tokens + sample_length(&g->prompt, &g->config.prompt);
    r.output_tokens = sample_length(&g->output, &g->config.output);
    r.round = 0;
    *out = r;
    return 1;
}
