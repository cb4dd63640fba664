/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * simulate_job: what `simulate` runs. Wires the request stream reader
 * (workload), the simulation (cluster, engine) and the writers (analysis):
 * results to out as requests finish, the step trace, the ITL side file and
 * the decision trace to files that appear only when the run succeeds.
 *
 * The header is written with the first result (or at the end of a run
 * with none), so a run failing before any result leaves out empty. When a
 * run fails after results were written, out ends with a line that is not
 * a valid record (no newline, one field), so nothing downstream can take
 * the partial results for complete ones.
 */
#ifndef SERVESIM_JOBS_SIMULATE_JOB_H
#define SERVESIM_JOBS_SIMULATE_JOB_H

#include "cluster/simulation.h"

#include <stdbool.h>
#include <stdio.h>

struct simulate_job {
    const struct engine_params *params;
    struct simulation_options options;
    FILE *in;
    const char *in_name;
    FILE *out;
    const char *steps_path; /* NULL: no step trace */
    const char *itl_path;   /* NULL: no ITL side file */
    const struct cluster *cluster; /* NULL: one instance of params */
    const char *decisions_path;    /* NULL: no decision trace */
    bool print_stats;       /* engine statistics on stderr */
};

/* 0 or ERR_* (reported). */
int simulate_job_run(const struct simulate_job *job);

#endif
