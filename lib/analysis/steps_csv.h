/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * steps_csv: the step trace format (docs/formats.md, "Step trace"), one
 * line per engine step.
 */
#ifndef SERVESIM_ANALYSIS_STEPS_CSV_H
#define SERVESIM_ANALYSIS_STEPS_CSV_H

#include "engine/instance.h"

#include <stdio.h>

#define STEPS_CSV_HEADER                                                                           \
    "instance,start_us,duration_us,prefill_tokens,decode_tokens,batch_size,waiting,"               \
    "kv_used_blocks,preempted"

void steps_csv_write_header(FILE *out);
void steps_csv_write(FILE *out, const struct step_record *step);

#endif
