/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * calibrate_import: turns a real measured vLLM run into what the tools
 * exchange, so real and simulated runs are interchangeable downstream:
 *
 *   DIR/requests.csv      the request stream that was sent (docs/formats.md)
 *   DIR/measured.csv      what was measured, as per-request results
 *   DIR/engine.yaml       the engine configuration, for simulate --config
 *   DIR/measured-itl.csv  the measured token gaps, when the source has them
 *
 * Formats (docs/calibration.md tells how each is read):
 *   vllm-h100          EXP.json plus EXP_ground_truth.json beside it (the runs
 *                      in ../shared/data/groundtruth/vllm-h100-train): arrivals
 *                      and token counts, and TTFT and E2E measured at the client.
 *                      Where the decode times show that the recorded output
 *                      lengths did not govern generation (short records decode
 *                      as long as the rest), lengths under the run's median are
 *                      raised to it, counted and reported; --recorded-lengths
 *                      keeps the record.
 *   llmservingsim      a run directory of LLMServingSim's vLLM benchmark
 *                      (vllm/requests.jsonl, vllm/meta.json, config.json),
 *                      import_llmservingsim.h.
 *   benchmark-serving  vLLM's benchmark_serving result JSON saved with
 *                      --save-detailed, with an --arrivals request stream,
 *                      import_benchmark_serving.h.
 *   csv                the generic per-request CSV, import_csv.h.
 *
 * Every field is checked; a problem names the file and the JSON element
 * (`requests[12].input_tokens`) or the line. Requests that failed are
 * written as status `dropped`, counted, and reported on stderr; requests
 * whose output length is unknown are left out of both files, counted and
 * reported. The files appear only when all are complete (temporary names,
 * then rename).
 */
#ifndef SERVESIM_JOBS_CALIBRATE_IMPORT_H
#define SERVESIM_JOBS_CALIBRATE_IMPORT_H

#include <stdbool.h>

struct import_job {
    const char *format;   /* "vllm-h100", "llmservingsim", "benchmark-serving", "csv" */
    const char *path;     /* the run: a file or a directory, by format */
    const char *out_dir;
    const char *arrivals; /* benchmark-serving: the request stream sent; NULL if none */
    bool recorded_lengths; /* vllm-h100: keep recorded output lengths even where the
                              decode times show the server generated more */
};

/* 0, ERR_DATA (bad source data), ERR_CONFIG (unknown format, unreadable path), ERR_INTERNAL. */
int calibrate_import(const struct import_job *job);

#endif
