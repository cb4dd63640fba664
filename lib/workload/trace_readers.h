/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * trace_readers: the per-format readers behind trace_import (internal to
 * lib/workload). A reader yields requests with arrival_us on the trace's
 * own clock (any origin; the transform stage rebases), ids unset, in
 * source order, and checks that the clock never goes back. Readers do not
 * own the FILE they read; `report` asks for the once-per-run notes on
 * stderr (dropped rows, tick jitter).
 */
#ifndef SERVESIM_WORKLOAD_TRACE_READERS_H
#define SERVESIM_WORKLOAD_TRACE_READERS_H

#include "model/request.h"
#include "workload/trace_import.h"

#include <stdbool.h>
#include <stdio.h>

struct trace_reader {
    /* 1: *out filled; 0: end; ERR_* (reported). */
    int (*next)(struct trace_reader *reader, struct request *out);
    void (*free)(struct trace_reader *reader);
};

typedef int trace_reader_open_fn(const struct trace_options *options, FILE *in, const char *name,
                                 bool report, struct trace_reader **out);

trace_reader_open_fn azure_reader_open, burstgpt_reader_open, csv_trace_reader_open,
    mooncake_reader_open;

/* ServeGen reads a directory, not a stream: in is NULL and name the path. */
trace_reader_open_fn servegen_reader_open;

/* A request with empty text fields and the given times and lengths; the
 * prefix is copied. 0 or ERR_INTERNAL. */
int trace_request_make(struct request *out, int64_t arrival_us, int64_t input_tokens,
                       int64_t output_tokens, const char *prefix, const char *slo_class,
                       const char *tenant, const char *session);

#endif
