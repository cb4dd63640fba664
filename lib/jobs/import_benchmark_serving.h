/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * import_benchmark_serving: reads the result JSON that vLLM's
 * benchmarks/benchmark_serving.py (`vllm bench serve`) writes with
 * --save-result --save-detailed (docs/calibration.md, docs/formats.md).
 *
 * The per-request lists input_lens, output_lens, ttfts (s), itls (s, one
 * list per request) and errors (optional) must have one entry per request,
 * in the order the benchmark sent them. The file holds no send times:
 * arrivals come from job->arrivals, the request stream that was sent (row i
 * is request i; its id, arrival, prefix, slo_class and tenant are kept, and
 * its input_tokens must equal input_lens[i]). Without it, only a run sent
 * all at once (request_rate "inf", no max_concurrency) can be imported:
 * every request arrives at 0 and request i gets id i.
 *
 * A request is ok when it has no error: TTFT is ttfts[i], E2E is ttfts[i]
 * plus the sum of its itls (the last streamed chunk), and every itl entry
 * is one gap of the measured ITL histogram. Failed requests are written as
 * dropped when the arrivals give their length and left out otherwise; an ok
 * request with 0 output tokens is left out; output lengths that differ from
 * the arrivals', and requests whose chunks carried several tokens (fewer
 * gaps than output_tokens − 1): all counted and reported, never silent.
 */
#ifndef SERVESIM_JOBS_IMPORT_BENCHMARK_SERVING_H
#define SERVESIM_JOBS_IMPORT_BENCHMARK_SERVING_H

#include "jobs/calibrate_import.h"
#include "jobs/import_run.h"

/* 0, ERR_DATA, ERR_CONFIG (unreadable file, arrivals needed), ERR_INTERNAL. */
int import_benchmark_serving(const struct import_job *job, struct measured_run *run);

#endif
