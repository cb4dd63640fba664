/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * calibrate_fit: fits latency coefficients to measured runs with the
 * simulator in the loop: the blackbox set of one model, GPU and tensor
 * parallelism, or the one physics set shared by every model and GPU
 * (prefill, decode and memory scales of the roofline terms, per-step and
 * per-request CPU time, the queueing delay a0 and its multi-GPU addition, and
 * the time per all-reduce; the link is taken at its data-sheet speed and
 * per-layer time is folded into the per-step one).
 *
 * Each run is a directory written by calibrate import (requests.csv,
 * measured.csv, engine.yaml); all must describe the same model, GPU and
 * TP for blackbox. The blackbox parameters are b0, b1, b2 (step time) and
 * a0 (queueing delay), searched, like the physics ones, as logarithms (so
 * they stay positive) by GSL's Nelder-Mead simplex, restarted with smaller
 * simplexes; physics then polishes the simplex's point by Levenberg-Marquardt
 * on the same loss (the simplex stalls with its eight coefficients). The loss matches
 * distributions: for TTFT, E2E and TPOT, the squared relative errors of
 * the mean and of the 10th, 25th, 50th, 75th and 90th percentiles over
 * the requests measured ok after the warm-up, averaged over runs; a
 * request measured ok that the simulation does not finish adds a whole
 * error. (Matching requests one by one identifies the coefficients too,
 * but small changes reshuffle batches and leave a loss too rough for the
 * simplex; quantiles are smooth and still separate a0, b0, b1 and b2.)
 * The result is a coefficients entry that simulate --config reads.
 */
#ifndef SERVESIM_JOBS_CALIBRATE_FIT_H
#define SERVESIM_JOBS_CALIBRATE_FIT_H

#include "model/latency.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct fit_job {
    enum latency_kind kind; /* blackbox (one engine) or physics (any runs) */
    const char *const *runs; /* directories written by calibrate import */
    size_t num_runs;
    int64_t warmup_us;
    int max_iterations;
    FILE *out;       /* the coefficients file (YAML) */
    bool progress;   /* a line per iteration on stderr */
};

/* 0, ERR_DATA, ERR_CONFIG (runs of different engines), ERR_INTERNAL. */
int calibrate_fit(const struct fit_job *job);

#endif
