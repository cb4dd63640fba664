/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * transform: reshapes any request stream in arrival order, in O(1) memory.
 *
 * The stage pulls requests from a request_source, whose times may start
 * anywhere (an importer's wall clock, say), and applies, in this order:
 *   1. rebase: the first request of the source is t = 0;
 *   2. window: keeps requests with start <= t < start + duration (source
 *      seconds) and shifts them so the window starts at 0; the first
 *      request past the window ends the pass (sources are sorted);
 *   3. scale: t' = t * time_scale / rate_scale (rate_scale 2 = twice the
 *      arrival rate), rounded to the nearest microsecond;
 *   4. tile: the pass is repeated tile times, copy k shifted by k * period
 *      where period = the scaled window duration when one was given, else
 *      the scaled span of the first pass plus its mean gap; copy k >= 1
 *      renames its prefix streams and sessions NAME -> NAME/tK so copies
 *      share no cache content with each other (each copy is an independent
 *      replica of the trace);
 *   5. limit: at most limit requests in all;
 * and numbers the requests 0, 1, 2, ... in output order.
 *
 * Tiling asks the source to restart; a source that cannot (standard input)
 * makes tile > 1 a configuration error. The stage takes ownership of
 * nothing: the source stays the caller's.
 */
#ifndef SERVESIM_WORKLOAD_TRANSFORM_H
#define SERVESIM_WORKLOAD_TRANSFORM_H

#include "model/request.h"

#include <stdbool.h>
#include <stdint.h>

struct transform_options {
    double rate_scale;  /* > 0; 1 = as recorded */
    double time_scale;  /* > 0; 1 = as recorded */
    double start_s;     /* >= 0 */
    double duration_s;  /* > 0, or < 0 for "to the end" */
    int64_t limit;      /* >= 0, or < 0 for no limit */
    int64_t tile;       /* >= 1 */
};

struct request_source {
    /* 1: *out filled (the caller's); 0: end; ERR_* (reported). */
    int (*next)(void *context, struct request *out);
    /* Starts the source over; 0 or ERR_*. NULL when it cannot. */
    int (*restart)(void *context);
    void *context;
};

void transform_options_init(struct transform_options *options);
/* 0 or ERR_CONFIG (reported). */
int transform_options_validate(const struct transform_options *options);

struct transform {
    struct transform_options options;
    struct request_source source;
    double factor;        /* time_scale / rate_scale */
    bool have_origin;
    int64_t origin_us;    /* source time of the source's first request */
    int64_t last_source_us;
    int64_t copy;         /* current tile copy, 0-based */
    int64_t period_us;    /* copy shift, known once the first pass ended */
    int64_t pass_count;   /* requests written in the current pass */
    int64_t first_us, last_us; /* scaled times of the first pass */
    int64_t emitted;
    bool done;
};

void transform_init(struct transform *t, const struct transform_options *options,
                    struct request_source source);
/* 1: *out is the next request (the caller's); 0: done; ERR_* (reported). */
int transform_next(struct transform *t, struct request *out);

#endif
