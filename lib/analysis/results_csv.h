/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * results_csv: the per-request results format (docs/formats.md,
 * "Per-request results"), written one line per finished request by
 * simulate and read back, strictly, by summarize.
 *
 * The writer derives ttft_us, e2e_us and tpot_us from the timestamps for
 * status ok rows and leaves them empty otherwise; TIME_NONE timestamps and
 * a negative instance ("never reached an instance") are written as empty
 * fields. The reader checks every field and every law the writer
 * guarantees (causality, derived latencies consistent with the
 * timestamps) and reports the first violation as "file:line: field 'x':
 * reason". The reader does not own the FILE.
 */
#ifndef SERVESIM_ANALYSIS_RESULTS_CSV_H
#define SERVESIM_ANALYSIS_RESULTS_CSV_H

#include "model/result.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define RESULTS_CSV_HEADER                                                                         \
    "id,instance,status,arrival_us,queued_us,scheduled_us,first_token_us,finish_us,input_tokens,"  \
    "output_tokens,cached_tokens,preemptions,ttft_us,e2e_us,tpot_us,slo_class,tenant"

/* Limits the reader enforces (and the writer's callers respect). */
#define RESULTS_MAX_TIME_US ((int64_t)1 << 60)
#define RESULTS_MAX_TOKENS ((int64_t)1 << 40)
#define RESULTS_MAX_INSTANCE 1048575 /* instances are numbered 0 .. 2^20 - 1 */

void results_csv_write_header(FILE *out);
/* One line. Write errors are left in ferror(out) for the caller to check. */
void results_csv_write(FILE *out, const struct request_result *result);

/*
 * One row as read: the result (instance -1 when the field is empty,
 * TIME_NONE for empty timestamps; slo_class and tenant point into the
 * reader and stay valid until the next results_reader_next() or
 * results_reader_free()) and the derived latencies, present exactly for
 * status ok rows (tpot also needs output_tokens >= 2).
 */
struct result_row {
    struct request_result result;
    bool has_ttft, has_e2e, has_tpot;
    int64_t ttft_us;
    int64_t e2e_us;
    double tpot_us;
    long line; /* input line of the row, for messages */
};

struct results_reader;

/* Reads and checks the header. 0, or ERR_DATA / ERR_INTERNAL (reported; *out untouched). */
int results_reader_open(FILE *in, const char *name, struct results_reader **out);
/* 1: *out filled; 0: end of input; ERR_DATA / ERR_INTERNAL (reported). */
int results_reader_next(struct results_reader *reader, struct result_row *out);
const char *results_reader_name(const struct results_reader *reader);
void results_reader_free(struct results_reader *reader);

#endif
