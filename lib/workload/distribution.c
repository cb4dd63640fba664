/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "workload/distribution.h"

#include "core/error.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_roots.h>
#include <gsl/gsl_sf_gamma.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const length_names[] = {
    [LENGTH_CONSTANT] = "constant",       [LENGTH_GAUSSIAN] = "gaussian",
    [LENGTH_EXPONENTIAL] = "exponential", [LENGTH_LOGNORMAL] = "lognormal",
    [LENGTH_PARETO_LOGNORMAL] = "pareto_lognormal", [LENGTH_UNIFORM] = "uniform",
    [LENGTH_EMPIRICAL] = "empirical",
};

static const char *const gap_names[] = {
    [GAP_POISSON] = "poisson",
    [GAP_CONSTANT] = "constant",
    [GAP_GAMMA] = "gamma",
    [GAP_WEIBULL] = "weibull",
};

#define COUNT(a) (sizeof(a) / sizeof(a)[0])

static int
name_index(const char *const *names, size_t count, const char *name)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(names[i], name) == 0) return (int)i;
    return -1;
}

int
length_kind_parse(const char *name, enum length_kind *out)
{
    int i = name_index(length_names, COUNT(length_names), name);
    if (i < 0) return -1;
    *out = (enum length_kind)i;
    return 0;
}

const char *
length_kind_name(enum length_kind kind)
{
    return (size_t)kind < COUNT(length_names) ? length_names[kind] : "unknown";
}

int
gap_kind_parse(const char *name, enum gap_kind *out)
{
    int i = name_index(gap_names, COUNT(gap_names), name);
    if (i < 0) return -1;
    *out = (enum gap_kind)i;
    return 0;
}

const char *
gap_kind_name(enum gap_kind kind)
{
    return (size_t)kind < COUNT(gap_names) ? gap_names[kind] : "unknown";
}

int
length_sampler_prepare(struct length_sampler *d)
{
    if (d->kind != LENGTH_EMPIRICAL) return 0;
    d->table = gsl_ran_discrete_preproc(d->count, d->probabilities);
    return d->table ? 0 : internal_error("cannot build an empirical distribution's table");
}

void
length_sampler_free(struct length_sampler *d)
{
    if (d->table) gsl_ran_discrete_free(d->table);
    free(d->values);
    free(d->probabilities);
    d->table = NULL;
    d->values = NULL;
    d->probabilities = NULL;
    d->count = 0;
}

static double
raw_draw(const struct length_sampler *d, const gsl_rng *rng)
{
    switch (d->kind) {
    case LENGTH_GAUSSIAN:
        return d->mean + gsl_ran_gaussian(rng, d->std_dev);
    case LENGTH_EXPONENTIAL:
        return gsl_ran_exponential(rng, d->mean);
    case LENGTH_LOGNORMAL:
        return gsl_ran_lognormal(rng, d->mu, d->sigma);
    case LENGTH_PARETO_LOGNORMAL:
        /* the component is chosen first, so each draw uses two variates */
        if (gsl_rng_uniform(rng) < d->mix_weight) return gsl_ran_pareto(rng, d->alpha, d->xm);
        return gsl_ran_lognormal(rng, d->mu, d->sigma);
    case LENGTH_UNIFORM:
        return (double)d->low +
               (double)gsl_rng_uniform_int(rng, (unsigned long)(d->high - d->low + 1));
    case LENGTH_EMPIRICAL:
        return (double)d->values[gsl_ran_discrete(rng, d->table)];
    case LENGTH_CONSTANT:
    default:
        return d->value;
    }
}

int64_t
length_sampler_draw(const struct length_sampler *d, const gsl_rng *rng)
{
    double x = raw_draw(d, rng);
    if (!(x >= (double)d->min)) return d->min; /* NaN too */
    if (x >= (double)d->max) return d->max;
    return llround(x);
}

double
length_sampler_mean(const struct length_sampler *d)
{
    switch (d->kind) {
    case LENGTH_GAUSSIAN:
    case LENGTH_EXPONENTIAL:
        return d->mean;
    case LENGTH_LOGNORMAL:
        return exp(d->mu + d->sigma * d->sigma / 2);
    case LENGTH_PARETO_LOGNORMAL:
        if (d->alpha <= 1) return NAN;
        return d->mix_weight * d->alpha * d->xm / (d->alpha - 1) +
               (1 - d->mix_weight) * exp(d->mu + d->sigma * d->sigma / 2);
    case LENGTH_UNIFORM:
        return ((double)d->low + (double)d->high) / 2;
    case LENGTH_EMPIRICAL: {
        double m = 0;
        for (size_t i = 0; i < d->count; i++) m += (double)d->values[i] * d->probabilities[i];
        return m;
    }
    case LENGTH_CONSTANT:
    default:
        return d->value;
    }
}

/* log cv(k) - log target, where cv(k)^2 = G(1+2/k)/G(1+1/k)^2 - 1 */
static double
weibull_log_cv_gap(double log_k, void *target)
{
    double k = exp(log_k);
    double d = gsl_sf_lngamma(1 + 2 / k) - 2 * gsl_sf_lngamma(1 + 1 / k);
    return 0.5 * log(expm1(d)) - log(*(double *)target);
}

double
weibull_shape_for_cv(double cv)
{
    if (!(cv >= 0.05 && cv <= 20)) return 0;
    /* cv falls as k grows: cv(0.05) is about 1e8, cv(100) about 0.013 */
    gsl_function f = {weibull_log_cv_gap, &cv};
    gsl_root_fsolver *s = gsl_root_fsolver_alloc(gsl_root_fsolver_brent);
    if (!s) return 0;
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    double lo = log(0.05), hi = log(100), k = 0;
    if (gsl_root_fsolver_set(s, &f, lo, hi) == GSL_SUCCESS) {
        for (int i = 0; i < 200; i++) {
            if (gsl_root_fsolver_iterate(s) != GSL_SUCCESS) break;
            lo = gsl_root_fsolver_x_lower(s);
            hi = gsl_root_fsolver_x_upper(s);
            if (gsl_root_test_interval(lo, hi, 0, 1e-13) == GSL_SUCCESS) {
                k = exp(gsl_root_fsolver_root(s));
                break;
            }
        }
    }
    gsl_set_error_handler(old);
    gsl_root_fsolver_free(s);
    return k;
}

int
gap_process_init(struct gap_process *p, enum gap_kind kind, double cv, const char *what)
{
    struct gap_process g = {.kind = kind, .cv = 1, .shape = 1, .scale = 1};
    switch (kind) {
    case GAP_GAMMA:
        if (!(cv > 0 && cv <= 1000))
            return config_error("%s: gamma cv %g is out of range (0, 1000]", what, cv);
        g.cv = cv;
        g.shape = 1 / (cv * cv);
        g.scale = 1 / g.shape;
        break;
    case GAP_WEIBULL:
        if (!(cv >= 0.05 && cv <= 20))
            return config_error("%s: weibull cv %g is out of range [0.05, 20]", what, cv);
        g.cv = cv;
        g.shape = weibull_shape_for_cv(cv);
        if (g.shape <= 0)
            return internal_error("%s: cannot solve the weibull shape for cv %g", what, cv);
        g.scale = 1 / gsl_sf_gamma(1 + 1 / g.shape);
        break;
    case GAP_CONSTANT:
        g.cv = 0;
        break;
    case GAP_POISSON:
    default:
        break;
    }
    *p = g;
    return 0;
}

double
gap_process_draw(const struct gap_process *p, const gsl_rng *rng)
{
    switch (p->kind) {
    case GAP_CONSTANT:
        return 1;
    case GAP_GAMMA:
        return gsl_ran_gamma(rng, p->shape, p->scale);
    case GAP_WEIBULL:
        return gsl_ran_weibull(rng, p->scale, p->shape);
    case GAP_POISSON:
    default:
        return gsl_ran_exponential(rng, 1);
    }
}
