/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * decisions_csv: the routing decision trace (docs/formats.md, "Decision
 * trace"), written by `simulate --decisions FILE`, one line per routing
 * decision, and summarized by `summarize --decisions FILE`: decisions per
 * instance, mean and maximum regret. The reader is strict like every
 * reader here and holds O(instances) memory.
 */
#ifndef SERVESIM_ANALYSIS_DECISIONS_CSV_H
#define SERVESIM_ANALYSIS_DECISIONS_CSV_H

#include "cluster/router.h"

#include <stdint.h>
#include <stdio.h>

#define DECISIONS_CSV_HEADER "time_us,request,pool,chosen,regret,scores"

void decisions_csv_write_header(FILE *out);
void decisions_csv_write(FILE *out, const struct routing_decision *decision);

struct decisions_summary {
    int64_t decisions;
    double mean_regret, max_regret; /* 0 without decisions */
    int64_t *per_instance;          /* decisions choosing instance i */
    size_t num_instances;           /* 1 + the largest instance chosen */
};

/* 0, ERR_DATA (reported with file:line), ERR_CONFIG (cannot open), ERR_INTERNAL. */
int decisions_summarize(const char *path, struct decisions_summary *out);
void decisions_summary_free(struct decisions_summary *summary);

#endif
