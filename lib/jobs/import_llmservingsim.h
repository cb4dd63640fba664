/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * import_llmservingsim: reads a run of LLMServingSim's vLLM benchmark (a
 * directory holding config.json, vllm/meta.json and vllm/requests.jsonl;
 * docs/calibration.md) into a measured_run.
 *
 * requests.jsonl has one JSON object per line: request_id ("bench-N": the id
 * is N), input_toks, output_toks, arrival_time (wall-clock seconds) and
 * queued_ts, scheduled_ts, first_token_ts, last_token_ts (seconds of the
 * engine's monotonic clock). The two clocks are tied together by the offset
 * that makes the fastest request's arrival→queue delay zero: the latest
 * offset under which no request is queued before it arrived. Every time is
 * then microseconds from the first arrival; measured TTFT is first token −
 * arrival, E2E last token − arrival, and the queued and scheduled columns
 * are filled.
 *
 * When meta.json names the workload sent (dataset_path) and it is found beside
 * the run or up to two directories above, the prompts' token ids become the
 * requests' prefix column (workload/token_prefix.h); a prompt whose length is
 * not its request's input_toks is an error. Without it, nothing is shared and
 * the import says so.
 *
 * The engine (model, GPU, TP, max_num_seqs, max_num_batched_tokens, and the
 * KV block count, block size, memory utilization and prefix caching when
 * meta.json logs them) goes to engine.yaml. A bad line is reported as
 * "FILE:LINE: field 'NAME': why"; config.json and meta.json that disagree
 * (model, TP) are an error.
 */
#ifndef SERVESIM_JOBS_IMPORT_LLMSERVINGSIM_H
#define SERVESIM_JOBS_IMPORT_LLMSERVINGSIM_H

#include "jobs/calibrate_import.h"
#include "jobs/import_run.h"

/* 0, ERR_DATA, ERR_CONFIG (unreadable files), ERR_INTERNAL; run untouched on error except
 * for what measured_run_free releases. */
int import_llmservingsim(const struct import_job *job, struct measured_run *run);

#endif
