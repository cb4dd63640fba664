/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * calibrate_import: turns a real measured vLLM run into what the tools
 * exchange, so real and simulated runs are interchangeable downstream:
 *
 *   DIR/requests.csv   the request stream that was sent (docs/formats.md)
 *   DIR/measured.csv   what was measured, as per-request results
 *   DIR/engine.yaml    the engine configuration, for simulate --config
 *
 * Formats:
 *   vllm-h100   EXP.json plus EXP_ground_truth.json beside it (the runs in
 *               ../shared/data/groundtruth/vllm-h100-train): arrivals and
 *               token counts, and TTFT and E2E measured at the client.
 *
 * Every field is checked; a problem names the file and the JSON element
 * (`requests[12].input_tokens`). Requests that failed at the client are
 * written as status `dropped`, counted, and reported on stderr; requests
 * recorded with 0 output tokens (an artifact: they ran for seconds) are
 * left out of both files, counted and reported. The three
 * files appear only when all are complete (temporary names, then rename).
 */
#ifndef SERVESIM_JOBS_CALIBRATE_IMPORT_H
#define SERVESIM_JOBS_CALIBRATE_IMPORT_H

struct import_job {
    const char *format; /* "vllm-h100" */
    const char *path;   /* EXP.json */
    const char *out_dir;
};

/* 0, ERR_DATA (bad source data), ERR_CONFIG (unknown format, unreadable path), ERR_INTERNAL. */
int calibrate_import(const struct import_job *job);

#endif
