/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * rng: named random streams over GSL. One stream per random quantity,
 * seeded from the run seed and the stream's name, so adding a quantity
 * never shifts the values another one draws. Draws are identical on every
 * machine (MT19937, seeded from a 64-bit xxh3 of name and seed).
 */
#ifndef SERVESIM_CORE_RNG_H
#define SERVESIM_CORE_RNG_H

#include <gsl/gsl_rng.h>
#include <stdint.h>

struct rng_stream {
    gsl_rng *gsl; /* owned; pass to gsl_ran_* functions */
};

/* 0 or ERR_INTERNAL. */
int rng_stream_init(struct rng_stream *stream, uint64_t seed, const char *name);
void rng_stream_free(struct rng_stream *stream);
/* Uniform in (0, 1), never 0 or 1. */
double rng_uniform_pos(struct rng_stream *stream);

#endif
