/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * trace_import: real production traces as a request stream
 * (gen-workload --from FORMAT FILE; docs/traces.md).
 *
 * A trace_stream reads one trace format (azure, mooncake, burstgpt,
 * servegen, csv), turns each row into a request and passes it through the
 * transform stage (workload/transform.h: window, scaling, limit, tiling).
 * Requests come out one at a time in arrival order with ids 0, 1, 2, ...;
 * the first request of the trace defines t = 0.
 *
 * Memory is bounded: the importers never hold the trace. They require a
 * trace sorted by time and stop with a data error naming file:line at the
 * first row earlier than the one before; the only buffering is one
 * Mooncake timestamp tick (the rows that share it) and the ServeGen
 * client description (rates per window, one window's length PMFs).
 *
 * Errors: bad rows are reported as "FILE:LINE[:COLUMN]: field 'NAME':
 * why" and returned as ERR_DATA (exit 1); bad options and unreadable files
 * as ERR_CONFIG (exit 2). Notes that change the data (dropped rows, tick
 * jitter) go to stderr once per run.
 */
#ifndef SERVESIM_WORKLOAD_TRACE_IMPORT_H
#define SERVESIM_WORKLOAD_TRACE_IMPORT_H

#include "model/request.h"
#include "workload/transform.h"

#include <stdbool.h>
#include <stdint.h>

enum trace_format { TRACE_AZURE, TRACE_MOONCAKE, TRACE_BURSTGPT, TRACE_SERVEGEN, TRACE_CSV };

struct trace_options {
    enum trace_format format;
    const char *path; /* a file ("-" = stdin); servegen: a client directory */
    uint64_t seed;    /* mooncake tick jitter, servegen variates */
    /* mooncake: width of the timestamp ticks to spread, ms; -1 = detect
     * 3000 ms ticks, 0 = keep the timestamps as they are */
    int64_t tick_ms;
    /* csv: the column mapping (names in the header); NULL = absent */
    const char *time_col, *input_col, *output_col;
    const char *slo_class_col, *tenant_col, *session_col;
    int64_t time_unit_us; /* csv: microseconds per unit of time_col */
    struct transform_options transform;
};

/* Defaults: no transformation, tick detection, csv time in seconds. */
void trace_options_init(struct trace_options *options);
/* "azure" -> TRACE_AZURE ...; 0 or -1 for an unknown name. */
int trace_format_parse(const char *name, enum trace_format *out);

/*
 * Applies one importer or transform flag, named without its dashes
 * ("rate-scale", "time-col", ...), from its text value. Returns 1 when
 * applied, 0 when flag is not one of these, ERR_CONFIG (reported, naming
 * the flag) on a bad value.
 */
int trace_option_set(struct trace_options *options, const char *flag, const char *value);
/* Cross-checks (csv needs its three columns, --tile needs a named file). 0 or ERR_CONFIG. */
int trace_options_validate(const struct trace_options *options);

struct trace_stream;

/* Opens the trace; 0, or ERR_CONFIG / ERR_DATA / ERR_INTERNAL (reported). */
int trace_stream_open(const struct trace_options *options, struct trace_stream **out);
/* 1: *out is the next request (the caller's; request_clear it); 0: done; ERR_*. */
int trace_stream_next(struct trace_stream *stream, struct request *out);
void trace_stream_free(struct trace_stream *stream);

#endif
