/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * distribution: the random quantities of a workload spec, drawn with GSL.
 *
 * A length_sampler is a token-count (or think-time) distribution: constant,
 * gaussian, exponential, lognormal, pareto_lognormal (with probability
 * mix_weight a Pareto(alpha, xm) draw, otherwise a lognormal(mu, sigma)
 * one), uniform (integers low..high, inclusive) or empirical (a PMF over
 * integer values). A draw is rounded to the nearest integer and clamped
 * to [min, max]. An empirical length_sampler owns its arrays and its GSL
 * lookup table: length_sampler_free releases them; the other kinds own nothing.
 *
 * A gap_process draws the gaps of a renewal arrival process with mean 1
 * (the caller scales them to the rate): poisson (exponential gaps),
 * constant (every gap 1), gamma (shape 1/cv^2) or weibull (the shape whose
 * coefficient of variation is cv, found by root finding). A draw consumes
 * the stream it is given and nothing else.
 */
#ifndef SERVESIM_WORKLOAD_DISTRIBUTION_H
#define SERVESIM_WORKLOAD_DISTRIBUTION_H

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <stddef.h>
#include <stdint.h>

enum length_kind {
    LENGTH_CONSTANT,
    LENGTH_GAUSSIAN,
    LENGTH_EXPONENTIAL,
    LENGTH_LOGNORMAL,
    LENGTH_PARETO_LOGNORMAL,
    LENGTH_UNIFORM,
    LENGTH_EMPIRICAL,
};

struct length_sampler {
    enum length_kind kind;
    double value;           /* constant */
    double mean, std_dev;   /* gaussian; exponential uses mean */
    double mu, sigma;       /* lognormal, pareto_lognormal */
    double alpha, xm;       /* pareto_lognormal: the Pareto part */
    double mix_weight;      /* pareto_lognormal: probability of the Pareto part */
    int64_t low, high;      /* uniform */
    int64_t min, max;       /* every draw is clamped to [min, max] */
    size_t count;           /* empirical: values[i] has probability probabilities[i] */
    int64_t *values;
    double *probabilities;
    gsl_ran_discrete_t *table;
};

/* "gaussian" -> LENGTH_GAUSSIAN ...; 0, or -1 for an unknown name. */
int length_kind_parse(const char *name, enum length_kind *out);
const char *length_kind_name(enum length_kind kind);

/* Builds the lookup table of an empirical distribution from its values and
 * probabilities (already checked: count >= 1, each >= 0, sum 1). 0 or
 * ERR_INTERNAL. */
int length_sampler_prepare(struct length_sampler *dist);
int64_t length_sampler_draw(const struct length_sampler *dist, const gsl_rng *rng);
/* The mean of the distribution before rounding and clamping (NAN for
 * pareto_lognormal with alpha <= 1, whose Pareto part has no mean). */
double length_sampler_mean(const struct length_sampler *dist);
void length_sampler_free(struct length_sampler *dist);

enum gap_kind { GAP_POISSON, GAP_CONSTANT, GAP_GAMMA, GAP_WEIBULL };

struct gap_process {
    enum gap_kind kind;
    double cv;     /* gamma, weibull */
    double shape;  /* gamma: 1/cv^2; weibull: solved from cv */
    double scale;  /* chosen so that the mean gap is 1 */
};

int gap_kind_parse(const char *name, enum gap_kind *out);
const char *gap_kind_name(enum gap_kind kind);

/* Sets shape and scale for kind and cv (cv > 0; weibull: 0.05 <= cv <= 20).
 * 0, or ERR_CONFIG (reported, naming what). */
int gap_process_init(struct gap_process *process, enum gap_kind kind, double cv, const char *what);
/* One gap, mean 1. */
double gap_process_draw(const struct gap_process *process, const gsl_rng *rng);

/* The Weibull shape k whose coefficient of variation
 * sqrt(G(1+2/k)/G(1+1/k)^2 - 1) is cv; 0 when cv is out of the solver's
 * range [0.05, 20]. */
double weibull_shape_for_cv(double cv);

#endif
