/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "jobs/simulate_job.h"

#include "analysis/decisions_csv.h"
#include "analysis/itl.h"
#include "analysis/results_csv.h"
#include "analysis/steps_csv.h"
#include "core/error.h"
#include "core/outfile.h"
#include "workload/request_csv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

struct outputs {
    FILE *results;
    bool started; /* the results header is out */
    struct outfile steps, decisions;
    struct itl_histogram *itl;
};

static int
read_request(void *context, struct request *out)
{
    return request_reader_next(context, out);
}

/* The header goes out with the first result, so that a run failing
 * before any result leaves its output empty. */
static void
start_results(struct outputs *o)
{
    if (o->started) return;
    results_csv_write_header(o->results);
    o->started = true;
}

static int
write_result(void *context, const struct request_result *result)
{
    struct outputs *o = context;
    start_results(o);
    results_csv_write(o->results, result);
    return 0;
}

static int
write_step(void *context, const struct step_record *step)
{
    const struct outputs *o = context;
    steps_csv_write(o->steps.file, step);
    return 0;
}

static int
write_decision(void *context, const struct routing_decision *decision)
{
    const struct outputs *o = context;
    decisions_csv_write(o->decisions.file, decision);
    return 0;
}

static int
add_gaps(void *context, const char *slo_class, const char *tenant, int instance, int64_t gap_us,
         int64_t count)
{
    return itl_histogram_add(context, slo_class, tenant, instance, gap_us, count);
}

static int
write_itl(const struct itl_histogram *itl, const char *path)
{
    struct outfile f;
    int rc = outfile_open(&f, path);
    if (rc) return rc;
    if ((rc = itl_histogram_write(itl, f.file))) {
        outfile_abort(&f);
        return rc;
    }
    return outfile_commit(&f);
}

static void
print_stats(const struct simulation_stats *s)
{
    fprintf(stderr,
            "%s: %" PRId64 " requests, %" PRId64 " steps (%" PRId64 " in %" PRId64
            " leaps), %" PRId64 " preemptions, %" PRId64 " rejected, %" PRId64
            " transfers, clock ended at %" PRId64 " us; head-of-line blocked steps: %" PRId64
            ", KV blocks reloaded from the CPU tier: %" PRId64 "\n",
            program_name(), s->requests, s->steps, s->leapt_steps, s->leaps, s->preemptions,
            s->rejected, s->transfers, s->end_us, s->head_of_line_blocked_steps,
            s->kv_reloaded_blocks);
}

int
simulate_job_run(const struct simulate_job *job)
{
    struct outputs o = {.results = job->out};
    struct request_reader *reader = NULL;
    int rc = request_reader_open(job->in, job->in_name, &reader);
    if (!rc && job->steps_path && !(rc = outfile_open(&o.steps, job->steps_path)))
        steps_csv_write_header(o.steps.file);
    if (!rc && job->decisions_path && !(rc = outfile_open(&o.decisions, job->decisions_path)))
        decisions_csv_write_header(o.decisions.file);
    if (!rc && job->itl_path && !(o.itl = itl_histogram_new())) rc = internal_error("out of memory");
    if (rc) {
        if (o.steps.file) outfile_abort(&o.steps);
        request_reader_free(reader);
        return rc;
    }
    struct request_source source = {reader, read_request};
    struct engine_sink sink = {&o, write_result, job->steps_path ? write_step : NULL};
    struct gap_sink gaps = {o.itl, add_gaps};
    struct simulation_stats stats;
    struct decision_sink decisions = {&o, write_decision};
    if (job->cluster)
        rc = cluster_run(job->cluster, &job->options, &source, &sink, o.itl ? &gaps : NULL,
                         job->decisions_path ? &decisions : NULL, &stats);
    else
        rc = simulation_run(job->params, &job->options, &source, &sink, o.itl ? &gaps : NULL,
                            &stats);
    /* Requests arriving after a horizon never enter the system; read them
     * anyway, so that the producer upstream is not killed by SIGPIPE. */
    if (!rc && job->options.horizon_us > 0) {
        char discard[1 << 16];
        while (fread(discard, 1, sizeof discard, job->in) > 0) continue;
    }
    request_reader_free(reader);
    if (!rc && job->print_stats) print_stats(&stats);
    /* The side files appear only if the results themselves were written. */
    if (!rc) start_results(&o);
    if (!rc && (fflush(job->out) != 0 || ferror(job->out)))
        rc = internal_error("cannot write standard output: %s", strerror(errno));
    if (!rc && o.itl) rc = write_itl(o.itl, job->itl_path);
    itl_histogram_free(o.itl);
    if (o.steps.file) {
        if (rc) outfile_abort(&o.steps);
        else rc = outfile_commit(&o.steps);
    }
    if (o.decisions.file) {
        if (rc) outfile_abort(&o.decisions);
        else rc = outfile_commit(&o.decisions);
    }
    if (rc && o.started) fputs("simulate failed: results incomplete", job->out);
    return rc;
}
