/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "core/rng.h"

#include "core/error.h"

#include <string.h>
#include <xxhash.h>

int
rng_stream_init(struct rng_stream *stream, uint64_t seed, const char *name)
{
    stream->gsl = gsl_rng_alloc(gsl_rng_mt19937);
    if (!stream->gsl) return internal_error("cannot allocate a random stream");
    uint64_t h = XXH3_64bits_withSeed(name, strlen(name), seed);
    /* MT19937 takes 32 bits of seed; fold all 64 in. GSL treats 0 as 4357. */
    gsl_rng_set(stream->gsl, (unsigned long)((h ^ (h >> 32)) & 0xffffffffu));
    return 0;
}

void
rng_stream_free(struct rng_stream *stream)
{
    gsl_rng_free(stream->gsl);
    stream->gsl = NULL;
}

double
rng_uniform_pos(struct rng_stream *stream)
{
    return gsl_rng_uniform_pos(stream->gsl);
}
