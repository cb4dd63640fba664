/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * simulation: the global clock over the instances of a cluster. Reads
 * requests from a source only as the clock reaches their arrival, admits
 * or rejects each (status rejected, no instance), routes it to an
 * instance, sends it there after the admission and routing latencies and
 * the instance's queueing delay, runs the engines' steps, and hands
 * results to the sink; memory is O(requests in flight). Under P/D a
 * request is first sent to a prefill instance with one output token; when
 * that completes, its KV crosses the link and a decode instance, chosen
 * then, receives it prefilled (docs/cluster.md).
 *
 * Closed-loop rounds (request.closed_loop) are held when read and released
 * after_us after the previous round of their session settles, with that
 * time as their arrival (cluster/sessions.h); they are then admitted and
 * routed like any request. While some are held, every engine leaps only to
 * the next event of any kind, since any completion may release one.
 *
 * Event order at equal times: arrivals (released closed-loop rounds first),
 * then step ends, then queue entries, each in insertion order; an idle
 * engine with work starts its next step only once every event at the
 * current time is done (engines in the order they were touched). Router snapshots are taken at multiples of
 * the snapshot interval, before any event of that instant. A single
 * instance behind `always` and `round-robin` runs exactly as one engine.
 */
#ifndef SERVESIM_CLUSTER_SIMULATION_H
#define SERVESIM_CLUSTER_SIMULATION_H

#include "cluster/cluster.h"
#include "cluster/router.h"
#include "engine/instance.h"

#include <stdbool.h>
#include <stdint.h>

struct request_source {
    void *context;
    /* 1: *out holds the next request (the callee's to fill, the caller's
     * to free); 0: no more; < 0: error (reported). */
    int (*next)(void *context, struct request *out);
};

/* A source over requests held in memory, each handed out as a copy (the
 * array stays the caller's and can be replayed): context is the
 * request_array, next is request_array_next. */
struct request_array {
    const struct request *requests;
    size_t count, next;
};
int request_array_next(void *context, struct request *out);

/* Receives the exact token-gap histogram once the run ends. */
struct gap_sink {
    void *context;
    int (*gap)(void *context, const char *slo_class, const char *tenant, int instance,
               int64_t gap_us, int64_t count);
};

struct simulation_options {
    int64_t horizon_us; /* stop the clock here (0 = run until every request is done) */
    bool single_steps;  /* no leaps, no quiet steps: the reference path */
    bool check_invariants; /* recount KV and engine invariants after every step */
};

struct simulation_stats {
    int64_t requests, steps, leaps, leapt_steps, preemptions, end_us;
    int64_t quiet_steps; /* summed over the instances (instance_stats) */
    int64_t rejected, transfers;
    int64_t head_of_line_blocked_steps; /* summed over the instances (instance_stats) */
    int64_t kv_reloaded_blocks;         /* likewise: blocks reloaded from the CPU tier */
};

/* 0 or ERR_* (reported). gaps may be NULL. */
int simulation_run(const struct engine_params *params, const struct simulation_options *options,
                   const struct request_source *source, const struct engine_sink *sink,
                   const struct gap_sink *gaps, struct simulation_stats *stats);

/* The same over a cluster (cluster_check must accept it). decisions may be NULL. */
int cluster_run(const struct cluster *cluster, const struct simulation_options *options,
                const struct request_source *source, const struct engine_sink *sink,
                const struct gap_sink *gaps, const struct decision_sink *decisions,
                struct simulation_stats *stats);

#endif
