/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * spec_stream: the request stream a workload spec describes, produced one
 * request at a time in arrival order (docs/workloads.md).
 *
 * Each client runs a renewal process in "operational time": gaps of mean 1
 * drawn from its arrival process, mapped to real time through the inverse
 * of the cumulative rate Lambda(t) = integral of the client's rate, so a
 * time-varying rate keeps the process's shape (cv) and a silent period
 * consumes none of it. A multi-turn client's arrivals start sessions;
 * round r + 1 of a session arrives a think time after round r (open loop).
 * A closed-loop session's rounds are written together, each round r >= 1
 * with round 0's arrival time and its think time as after_us, for simulate
 * to release when round r - 1 completes; its distributions are those in
 * force at round 0, and the horizon does not cut it short.
 * Clients and live sessions are merged by a heap keyed on arrival time, so
 * memory holds one entry per client and per live session, whatever the
 * number of requests.
 *
 * Randomness: client C draws from the streams "client:C:arrival",
 * "client:C:input", "client:C:output" and "client:C:think" only, so adding
 * or changing one client never changes another's requests (their ids,
 * which number the merged stream, do change).
 *
 * The stream stops at spec->num_requests requests, or at the first arrival
 * after spec->horizon_s, or when every client has finished (its windows
 * are over). The spec must outlive the stream.
 */
#ifndef SERVESIM_WORKLOAD_SPEC_STREAM_H
#define SERVESIM_WORKLOAD_SPEC_STREAM_H

#include "model/request.h"
#include "workload/spec.h"

#include <stdbool.h>

struct spec_stream;

/* 0, or ERR_CONFIG (an unbounded spec: no num_requests, horizon or end;
 * reported) / ERR_INTERNAL. */
int spec_stream_new(const struct workload_spec *spec, struct spec_stream **out);
/* 1: *out is the next request (the caller's; request_clear it); 0: done;
 * ERR_CONFIG when an arrival passes the stream's limit (2^60 us);
 * ERR_INTERNAL when out of memory. */
int spec_stream_next(struct spec_stream *stream, struct request *out);
/* true when the stream holds closed-loop rounds (write the after_us column). */
bool spec_stream_closed_loop(const struct spec_stream *stream);
void spec_stream_free(struct spec_stream *stream);

#endif
