/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * steps_csv: the step trace format (docs/formats.md, "Step trace"), one
 * line per engine step, written by `simulate --steps FILE`, and its
 * head-of-line-blocking summary for `summarize --steps FILE`: the steps
 * whose admission stopped at a queue head that did not fit in KV while a
 * seat and token budget were free, and the distinct requests so blocked.
 * The reader is strict like every reader here; it holds O(instances)
 * memory plus one id per change of an instance's blocked head.
 */
#ifndef SERVESIM_ANALYSIS_STEPS_CSV_H
#define SERVESIM_ANALYSIS_STEPS_CSV_H

#include "engine/instance.h"

#include <stdint.h>
#include <stdio.h>

#define STEPS_CSV_HEADER                                                                           \
    "instance,start_us,duration_us,prefill_tokens,decode_tokens,batch_size,waiting,"               \
    "kv_used_blocks,preempted,blocked_head"

void steps_csv_write_header(FILE *out);
void steps_csv_write(FILE *out, const struct step_record *step);

struct steps_summary {
    int64_t steps;            /* rows counted (start_us >= the warm-up) */
    int64_t blocked_steps;    /* of those, rows with a blocked_head */
    int64_t blocked_requests; /* distinct blocked_head ids among them */
};

/*
 * Reads the step trace at path, ignoring steps that start before
 * warmup_us. 0, ERR_DATA (reported with file:line:column and the field),
 * ERR_CONFIG (cannot open), ERR_INTERNAL; *out untouched on failure.
 */
int steps_summarize(const char *path, int64_t warmup_us, struct steps_summary *out);

#endif
