/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * spec: a workload spec (docs/workloads.md), the YAML description of a
 * traffic mix, strictly parsed. It reads BLIS workload-spec v2 files as they
 * are, plus servesim's own keys (windows, diurnal, spikes, think-time
 * distributions, horizon_s).
 *
 * Strictness: every map's keys are checked; an unknown key, a wrong type or
 * an out-of-range value is ERR_CONFIG reported as "FILE:LINE: FIELD: why".
 * BLIS keys for features servesim does not model (client network delays,
 * multimodal inputs, reasoning tokens, closed-loop clients, ...) are
 * refused by name, never ignored. An empirical PMF file is data: a bad line
 * in it is ERR_DATA naming the file:line.
 *
 * Rates. A client's base rate is aggregate_rate * rate_fraction / (sum of
 * the rate fractions), or 1/(shape*scale) when its gamma arrival process is
 * given by shape and scale. Top-level windows scale every base rate by
 * their rate / aggregate_rate (linearly ramped when ramp_to is given), the
 * diurnal cycle by 1 + amplitude*cos(2 pi (t - peak_s) / period_s), spikes
 * by their multiplier; a client with windows of its own is silent outside
 * them and uses each window's distributions inside it.
 *
 * A workload_spec owns everything it points to; spec_free releases it.
 */
#ifndef SERVESIM_WORKLOAD_SPEC_H
#define SERVESIM_WORKLOAD_SPEC_H

#include "workload/distribution.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A period of the whole load: [start_s, end_s), end_s = INFINITY if open.
 * The rate multiplier goes linearly from scale_start to scale_end. */
struct spec_window {
    double start_s, end_s;
    double scale_start, scale_end;
};

struct spec_spike {
    double start_s, end_s, multiplier;
};

struct spec_diurnal {
    bool enabled;
    double period_s, amplitude, peak_s;
};

/* A period in which one client is active, with its own distributions. */
struct spec_client_window {
    double start_s, end_s;
    struct gap_process arrival;
    bool has_input, has_output; /* else the client's */
    struct length_sampler input, output;
};

struct spec_client {
    char *id, *tenant, *slo_class;
    double rate_per_s; /* base rate, requests (sessions, if multi-turn) per second */
    double rate_fraction; /* as written; 0 for a client with its own rate */
    struct gap_process arrival;
    struct length_sampler input, output;
    char *prefix_group;    /* NULL: none */
    int64_t prefix_length; /* tokens of the shared system prompt */
    int64_t rounds;        /* 1: single-turn */
    bool accumulate;       /* round n's prompt holds every earlier input and output */
    bool closed_loop;      /* round n + 1 sent a think time after round n completes */
    struct length_sampler think_time_us;
    size_t num_windows; /* 0: active all the time */
    struct spec_client_window *windows;
};

struct workload_spec {
    char *description; /* "" when absent */
    uint64_t seed;
    int64_t num_requests; /* -1: no limit (the horizon stops the stream) */
    double horizon_s;     /* INFINITY: none */
    double aggregate_rate;
    size_t num_windows;
    struct spec_window *windows;
    size_t num_spikes;
    struct spec_spike *spikes;
    struct spec_diurnal diurnal;
    size_t num_clients;
    struct spec_client *clients;
};

/* 0, ERR_CONFIG or ERR_DATA (reported); *out untouched on failure. */
int spec_load_file(const char *path, struct workload_spec *out);
/* name is used in messages; relative PMF file names resolve against dir
 * (NULL: files are refused). */
int spec_load_text(const char *text, size_t length, const char *name, const char *dir,
                   struct workload_spec *out);
void spec_free(struct workload_spec *spec);

#endif
