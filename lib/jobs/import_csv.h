/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * import_csv: reads the generic per-request CSV (docs/formats.md, "Generic
 * measured CSV") into a measured_run, strictly, with the csv_table reader:
 * required id, arrival_us, input_tokens, output_tokens, ttft_us, e2e_us;
 * optional status (ok | failed), queued_us, scheduled_us, prefix,
 * slo_class, tenant. Rows may come in any order (they are written in
 * arrival order). Every problem is reported as "FILE:LINE:COLUMN: field
 * 'NAME': why: 'text'" or, for an id seen twice, with both lines. The
 * source records no engine: engine.yaml is an empty engine section.
 */
#ifndef SERVESIM_JOBS_IMPORT_CSV_H
#define SERVESIM_JOBS_IMPORT_CSV_H

#include "jobs/calibrate_import.h"
#include "jobs/import_run.h"

/* 0, ERR_DATA, ERR_CONFIG (unreadable file), ERR_INTERNAL. */
int import_csv(const struct import_job *job, struct measured_run *run);

#endif
