/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * generator: the distribution-mode workload (gen-workload's flags).
 *
 * Arrivals follow a renewal process (poisson, constant or gamma with a given
 * coefficient of variation) at rate_per_s; prompt and output lengths are
 * gaussian, clamped to [min, max] and rounded. With prefix_tokens K > 0 each
 * prompt starts with the same K-token system prompt, written as the prefix
 * segment "system:K" and counted in input_tokens (K + the sampled length).
 * Each random quantity draws from its own named stream (core/rng.h):
 * "arrival", "prompt" and "output", seeded from config->seed.
 * A generator holds O(1) state: requests are produced one at a time.
 *
 * Arrival times: the process starts at t = 0 and request i (ids 0..N-1)
 * arrives after i + 1 gaps, so the first request arrives at the first gap
 * (constant: at 1/rate). arrival_us = llround(t * 1e6) where t is the
 * cumulative double sum of the gaps (rounding never accumulates), hence
 * non-decreasing. Gaps: poisson = exponential with mean 1/rate; constant =
 * exactly 1/rate; gamma = shape k = 1/cv^2, scale 1/(rate k), so the mean
 * is 1/rate and the coefficient of variation is cv.
 */
#ifndef SERVESIM_WORKLOAD_GENERATOR_H
#define SERVESIM_WORKLOAD_GENERATOR_H

#include "model/request.h"

#include <stdint.h>

enum arrival_process { ARRIVAL_POISSON, ARRIVAL_CONSTANT, ARRIVAL_GAMMA };

struct length_dist {
    double mean, stdev;
    int64_t min, max;
};

struct workload_config {
    double rate_per_s;
    int64_t num_requests;
    enum arrival_process arrival;
    double cv;
    uint64_t seed;
    struct length_dist prompt, output;
    int64_t prefix_tokens;
    char slo_class[64];
    char tenant[64];
};

/* "poisson" -> ARRIVAL_POISSON ...; 0 or -1 for an unknown name. */
int arrival_process_parse(const char *name, enum arrival_process *out);
const char *arrival_process_name(enum arrival_process process);

/* Checks ranges (rate > 0, cv > 0, min <= max, ...). 0 or ERR_CONFIG (reported). */
int workload_config_validate(const struct workload_config *config);

struct generator;

/* 0, or ERR_CONFIG / ERR_INTERNAL (reported). */
int generator_new(const struct workload_config *config, struct generator **out);
/* 1: *out is the next request (the caller's; request_clear it); 0: done;
 * ERR_CONFIG (reported) when an arrival would pass the stream's time limit
 * (2^60 us), ERR_INTERNAL when out of memory. */
int generator_next(struct generator *generator, struct request *out);
void generator_free(struct generator *generator);

#endif
