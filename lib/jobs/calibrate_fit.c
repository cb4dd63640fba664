/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "jobs/calibrate_fit.h"

#include "analysis/results_csv.h"
#include "analysis/summary.h"
#include "cluster/simulation.h"
#include "config/config.h"
#include "core/error.h"
#include "core/parse.h"
#include "workload/request_csv.h"

#include <errno.h>
#include <pthread.h>
#include <unistd.h>
#include <gsl/gsl_blas.h>
#include <gsl/gsl_multifit_nlinear.h>
#include <gsl/gsl_multimin.h>
#include <gsl/gsl_sort.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { TTFT, E2E, TPOT, NMETRICS };
/* Searched parameters (logarithms): blackbox b0, b1, b2, a0; physics the
 * prefill, decode and memory scales, the per-step and per-request CPU
 * times, a0, the multi-GPU engines' extra arrival-to-queue time and the
 * time per all-reduce. */
enum { B0, B1, B2, A0, NBLACKBOX };
enum { K_PREFILL, K_DECODE, K_MEMORY, K_STEP, K_REQUEST, K_A0, K_MULTI_GPU, K_ALLREDUCE, NPHYSICS };
#define NPARAMS NPHYSICS

/* A measured request's latencies (ms), NaN where not compared. */
struct target {
    int64_t id;
    double value[NMETRICS];
};


/* TTFT, E2E and TPOT (NaN with one output token) in ms. */
static void
latencies_of(int64_t arrival_us, int64_t first_us, int64_t finish_us, int64_t output_tokens,
             double out[NMETRICS])
{
    out[TTFT] = (double)(first_us - arrival_us) / 1000.0;
    out[E2E] = (double)(finish_us - arrival_us) / 1000.0;
    out[TPOT] = output_tokens > 1
                         ? (double)(finish_us - first_us) / 1000.0 / (double)(output_tokens - 1)
                         : NAN;
}

static int
by_id(const void *a, const void *b)
{
    const struct target *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

#define NQUANTILES 5
static const double quantiles[NQUANTILES] = {0.1, 0.25, 0.5, 0.75, 0.9};
#define NRESIDUALS (NMETRICS * (NQUANTILES + 1) + 1)

/* Growing arrays of one run's values per metric (ms). */
struct samples {
    double *value[NMETRICS];
    size_t count[NMETRICS], capacity[NMETRICS];
};

static int
samples_add(struct samples *s, const double v[NMETRICS])
{
    for (int k = 0; k < NMETRICS; k++) {
        if (!isfinite(v[k])) continue;
        if (s->count[k] == s->capacity[k]) {
            size_t capacity = s->capacity[k] ? 2 * s->capacity[k] : 1024;
            double *grown = realloc(s->value[k], capacity * sizeof *grown);
            if (!grown) return internal_error("out of memory");
            s->value[k] = grown;
            s->capacity[k] = capacity;
        }
        s->value[k][s->count[k]++] = v[k];
    }
    return 0;
}

static void
samples_free(struct samples *s)
{
    for (int k = 0; k < NMETRICS; k++) free(s->value[k]);
}

/* The mean and the quantiles of each metric: what the fit matches. */
struct profile {
    double stat[NMETRICS][NQUANTILES + 1];
};

static void
profile_of(struct samples *s, struct profile *p)
{
    for (int k = 0; k < NMETRICS; k++) {
        size_t n = s->count[k];
        if (n == 0) {
            for (int q = 0; q <= NQUANTILES; q++) p->stat[k][q] = NAN;
            continue;
        }
        gsl_sort(s->value[k], 1, n);
        double sum = 0;
        for (size_t i = 0; i < n; i++) sum += s->value[k][i];
        p->stat[k][0] = sum / (double)n;
        for (int q = 0; q < NQUANTILES; q++)
            p->stat[k][q + 1] = percentile_sorted(s->value[k], n, quantiles[q]);
    }
}

struct run {
    const char *dir;
    struct profile measured_profile;
    struct config config;
    struct engine_params params;
    struct request *requests;
    size_t num_requests;
    struct target *targets; /* the measured requests compared, sorted by id */
    size_t num_targets;
    /* the last evaluation's terms: relative errors of each metric's mean and
     * quantiles (0 where not compared), then the root of the missing count,
     * each over the root of (terms * runs) so that their squares sum to the
     * run's share of the loss */
    double residual[NRESIDUALS];
};

#define MAX_THREADS 64

struct fit {
    enum latency_kind kind;
    size_t num_threads;
    double *losses; /* per run, of the evaluation in progress */
    int nparams;
    struct run *runs;
    size_t num_runs;
    int64_t warmup_us;
    int evaluations;
};

static int
open_in(const char *dir, const char *name, FILE **out, char *path, size_t size)
{
    if ((size_t)snprintf(path, size, "%s/%s", dir, name) >= size)
        return config_error("path too long: '%s'", dir);
    *out = fopen(path, "r");
    if (!*out) return config_error("cannot open '%s': %s", path, strerror(errno));
    return 0;
}

static int
load_requests(struct run *r)
{
    char path[4096];
    FILE *f;
    int rc = open_in(r->dir, "requests.csv", &f, path, sizeof path);
    if (rc) return rc;
    struct request_reader *reader;
    if (!(rc = request_reader_open(f, path, &reader))) {
        size_t capacity = 0;
        struct request q;
        while ((rc = request_reader_next(reader, &q)) > 0) {
            if (r->num_requests == capacity) {
                capacity = capacity ? 2 * capacity : 1024;
                struct request *grown = realloc(r->requests, capacity * sizeof *grown);
                if (!grown) {
                    request_clear(&q);
                    rc = internal_error("out of memory");
                    break;
                }
                r->requests = grown;
            }
            r->requests[r->num_requests++] = q;
        }
        request_reader_free(reader);
    }
    fclose(f);
    return rc;
}

static int
load_measured(struct run *r, int64_t warmup_us)
{
    char path[4096];
    FILE *f;
    int rc = open_in(r->dir, "measured.csv", &f, path, sizeof path);
    if (rc) return rc;
    struct results_reader *reader;
    size_t capacity = 0;
    if (!(rc = results_reader_open(f, path, &reader))) {
        struct result_row row;
        while ((rc = results_reader_next(reader, &row)) > 0) {
            const struct request_result *q = &row.result;
            if (q->status != STATUS_OK || q->arrival_us < warmup_us) continue;
            if (r->num_targets == capacity) {
                capacity = capacity ? 2 * capacity : 1024;
                struct target *grown = realloc(r->targets, capacity * sizeof *grown);
                if (!grown) {
                    rc = internal_error("out of memory");
                    break;
                }
                r->targets = grown;
            }
            struct target *t = &r->targets[r->num_targets++];
            latencies_of(q->arrival_us, q->first_token_us, q->finish_us, q->output_tokens,
                         t->value);
            t->id = q->id;
        }
        results_reader_free(reader);
    }
    fclose(f);
    if (!rc && r->num_targets == 0)
        rc = error("%s: no ok request after the warm-up to fit against", path);
    if (!rc) qsort(r->targets, r->num_targets, sizeof *r->targets, by_id);
    struct samples all = {{0}, {0}, {0}};
    for (size_t i = 0; i < r->num_targets && !rc; i++) rc = samples_add(&all, r->targets[i].value);
    if (!rc) profile_of(&all, &r->measured_profile);
    samples_free(&all);
    for (size_t i = 1; i < r->num_targets && !rc; i++)
        if (r->targets[i].id == r->targets[i - 1].id)
            rc = error("%s: id %lld appears twice", path, (long long)r->targets[i].id);
    return rc;
}

static int
load_engine(struct run *r, enum latency_kind kind)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/engine.yaml", r->dir) >= sizeof path)
        return config_error("path too long: '%s'", r->dir);
    const char *files[] = {path};
    int rc = config_load(&r->config, files, 1);
    if (rc) return rc;
    /* the coefficients are what is being fitted: any will do to resolve the
     * rest; physics needs the run's roofline, resolved as such */
    struct engine_config *e = &r->config.engine;
    e->have_alpha = true;
    e->have_beta = kind == LATENCY_BLACKBOX;
    strcpy(e->latency_model, kind == LATENCY_BLACKBOX ? "blackbox" : "roofline");
    return config_resolve_engine(&r->config, 1, &r->params);
}

/* ---- one evaluation: simulate every run with the given coefficients ---- */

struct sink_state {
    int64_t warmup_us;
    const struct run *run;
    int64_t missing; /* measured ok, not finished in the simulation */
    struct samples samples;
};

static int
collect(void *context, const struct request_result *r)
{
    struct sink_state *s = context;
    if (r->arrival_us < s->warmup_us) return 0;
    struct target key = {.id = r->id};
    const struct target *t =
        bsearch(&key, s->run->targets, s->run->num_targets, sizeof key, by_id);
    if (!t) return 0; /* not measured ok: nothing to compare with */
    if (r->status != STATUS_OK) {
        s->missing++;
        return 0;
    }
    double simulated[NMETRICS];
    latencies_of(r->arrival_us, r->first_token_us, r->finish_us, r->output_tokens, simulated);
    return samples_add(&s->samples, simulated);
}

static void
latency_of(enum latency_kind kind, const double theta[NPARAMS], struct latency_model *m)
{
    if (kind == LATENCY_BLACKBOX) {
        *m = (struct latency_model){.alpha = {exp(theta[A0]), 0, 0},
                                    .beta = {exp(theta[B0]), exp(theta[B1]), exp(theta[B2])}};
        return;
    }
    m->kind = LATENCY_PHYSICS;
    m->alpha[0] = exp(theta[K_A0]);
    m->alpha[1] = m->alpha[2] = 0;
    double *k = m->physics;
    k[PHYSICS_PREFILL_COMPUTE] = exp(theta[K_PREFILL]);
    k[PHYSICS_DECODE_COMPUTE] = exp(theta[K_DECODE]);
    k[PHYSICS_MEMORY] = exp(theta[K_MEMORY]);
    k[PHYSICS_COMMUNICATION] = 1; /* the link is taken at its data-sheet speed */
    k[PHYSICS_PER_LAYER] = 0;     /* folded into the per-step time */
    k[PHYSICS_PER_STEP] = exp(theta[K_STEP]);
    k[PHYSICS_PER_REQUEST] = exp(theta[K_REQUEST]);
    k[PHYSICS_MULTI_GPU_US] = exp(theta[K_MULTI_GPU]);
    k[PHYSICS_PER_ALLREDUCE] = exp(theta[K_ALLREDUCE]);
}

/* Simulates run r with the coefficients: the run's loss. */
static int
simulate_run(struct fit *fit, struct run *r, const double theta[NPARAMS], double *loss_out)
{
    latency_of(fit->kind, theta, &r->params.latency);
    struct request_array list = {r->requests, r->num_requests, 0};
    struct request_source source = {&list, request_array_next};
    struct sink_state state = {.warmup_us = fit->warmup_us, .run = r};
    struct engine_sink sink = {&state, collect, NULL};
    struct simulation_options options = {0};
    int rc = simulation_run(&r->params, &options, &source, &sink, NULL, NULL);
    /* squared relative errors of each metric's mean and quantiles */
    struct profile p;
    profile_of(&state.samples, &p);
    samples_free(&state.samples);
    double total = 0;
    int terms = 0;
    for (int k = 0; k < NMETRICS; k++)
        for (int q = 0; q <= NQUANTILES; q++) {
            double m = r->measured_profile.stat[k][q];
            double e = 0;
            if (m > 0) {
                e = isfinite(p.stat[k][q]) ? (p.stat[k][q] - m) / m : 1.0;
                total += e * e;
                terms++;
            }
            r->residual[k * (NQUANTILES + 1) + q] = e;
        }
    /* requests measured ok that the simulation did not finish weigh like wrong terms */
    r->residual[NRESIDUALS - 1] = sqrt((double)state.missing);
    double scale = 1.0 / sqrt((double)(terms ? terms : 1) * (double)fit->num_runs);
    for (int i = 0; i < NRESIDUALS; i++) r->residual[i] *= scale;
    *loss_out = (total + (double)state.missing) / (double)(terms ? terms : 1);
    return rc;
}

/* One thread's share of an evaluation: runs first, first + stride, ... */
struct worker {
    struct fit *fit;
    const double *theta;
    size_t first, stride;
    double *losses;
    int rc;
};

static void *
work(void *context)
{
    struct worker *w = context;
    for (size_t i = w->first; i < w->fit->num_runs && !w->rc; i += w->stride)
        w->rc = simulate_run(w->fit, &w->fit->runs[i], w->theta, &w->losses[i]);
    return NULL;
}

/*
 * The mean loss over runs at theta (+inf if a simulation fails); each run's
 * residuals are left in it. Runs are independent simulations, so they are
 * spread over the processors; each run's loss lands in its own slot and the
 * sum is taken in run order, so the result does not depend on the number of
 * threads.
 */
static double
evaluate(struct fit *fit, const double theta[NPARAMS])
{
    fit->evaluations++;
    size_t n = fit->num_threads < fit->num_runs ? fit->num_threads : fit->num_runs;
    struct worker workers[MAX_THREADS];
    pthread_t threads[MAX_THREADS];
    bool started[MAX_THREADS] = {false};
    for (size_t t = 0; t < n; t++) {
        workers[t] = (struct worker){fit, theta, t, n, fit->losses, 0};
        if (t == 0) continue; /* this thread's share */
        started[t] = pthread_create(&threads[t], NULL, work, &workers[t]) == 0;
        if (!started[t]) workers[t].rc = internal_error("cannot start a thread");
    }
    work(&workers[0]);
    for (size_t t = 1; t < n; t++)
        if (started[t]) pthread_join(threads[t], NULL);
    double total = 0;
    for (size_t t = 0; t < n; t++)
        if (workers[t].rc) return GSL_POSINF;
    for (size_t i = 0; i < fit->num_runs; i++) {
        if (!isfinite(fit->losses[i])) return GSL_POSINF;
        total += fit->losses[i];
    }
    return total / (double)fit->num_runs;
}

/* The searched parameters of a GSL vector. */
static void
theta_of(const struct fit *fit, const gsl_vector *v, double theta[NPARAMS])
{
    for (int i = 0; i < fit->nparams; i++) theta[i] = gsl_vector_get(v, (size_t)i);
}

static double
loss(const gsl_vector *v, void *context)
{
    struct fit *fit = context;
    double theta[NPARAMS];
    theta_of(fit, v, theta);
    return evaluate(fit, theta);
}

/* ---- the search ---- */

static int
same_engine(const struct run *a, const struct run *b)
{
    const struct engine_config *x = &a->config.engine, *y = &b->config.engine;
    if (strcasecmp(x->model, y->model) || strcmp(x->gpu, y->gpu) || x->tp != y->tp)
        return config_error("runs '%s' (%s on %s, tp %lld) and '%s' (%s on %s, tp %lld) are "
                            "not the same engine: fit them apart",
                            a->dir, x->model, x->gpu, (long long)x->tp, b->dir, y->model, y->gpu,
                            (long long)y->tp);
    return 0;
}

/* Nelder-Mead from theta, steps of `step` in log space; theta is updated. */
static int
minimize(struct fit *fit, double theta[NPARAMS], double step, int max_iterations,
         bool progress, double *best)
{
    size_t n = (size_t)fit->nparams;
    gsl_multimin_function f = {loss, n, fit};
    gsl_vector *x = gsl_vector_alloc(n), *steps = gsl_vector_alloc(n);
    gsl_multimin_fminimizer *m =
        gsl_multimin_fminimizer_alloc(gsl_multimin_fminimizer_nmsimplex2, n);
    if (!x || !steps || !m) {
        gsl_vector_free(x);
        gsl_vector_free(steps);
        if (m) gsl_multimin_fminimizer_free(m);
        return internal_error("out of memory");
    }
    for (size_t i = 0; i < n; i++) gsl_vector_set(x, i, theta[i]);
    gsl_vector_set_all(steps, step);
    gsl_multimin_fminimizer_set(m, &f, x, steps);
    for (int it = 0; it < max_iterations; it++) {
        if (gsl_multimin_fminimizer_iterate(m)) break;
        if (progress)
            fprintf(stderr, "%s: iteration %d, loss %.6g, %d simulations\n", program_name(),
                    it + 1, m->fval, fit->evaluations);
        if (gsl_multimin_test_size(gsl_multimin_fminimizer_size(m), 1e-4) == GSL_SUCCESS) break;
    }
    for (size_t i = 0; i < n; i++) theta[i] = gsl_vector_get(m->x, i);
    *best = m->fval;
    gsl_multimin_fminimizer_free(m);
    gsl_vector_free(x);
    gsl_vector_free(steps);
    return 0;
}

/*
 * Levenberg-Marquardt (GSL's trust-region solver) on the runs' residuals,
 * whose squares sum to the loss; used for physics, whose eight coefficients
 * the simplex does not bring down a loss this rough. The Jacobian is taken by
 * forward differences over a step of JACOBIAN_STEP in log space: a change of
 * a tenth moves whole-microsecond step times and batch compositions enough to
 * see the slope rather than the plateaus. (At 0.03 the ten H100 runs' fit
 * stopped at a loss of 0.0063 on one roofline and reached 0.0024 on another
 * that differed by the LM head's FLOPs; at 0.1 it reaches 0.0024 on both.)
 */
#define JACOBIAN_STEP 0.1

struct least_squares {
    struct fit *fit;
    size_t n;           /* residuals */
    double *at;         /* the theta of the last evaluation */
    gsl_vector *f_at;   /* and its residuals */
    bool have_at;
};

static int
residuals(const gsl_vector *x, void *context, gsl_vector *f)
{
    struct least_squares *ls = context;
    struct fit *fit = ls->fit;
    double theta[NPARAMS];
    theta_of(fit, x, theta);
    ls->have_at = false;
    if (!isfinite(evaluate(fit, theta))) return GSL_EDOM;
    for (size_t r = 0; r < fit->num_runs; r++)
        for (int i = 0; i < NRESIDUALS; i++)
            gsl_vector_set(f, r * NRESIDUALS + (size_t)i, fit->runs[r].residual[i]);
    memcpy(ls->at, theta, sizeof theta);
    gsl_vector_memcpy(ls->f_at, f);
    ls->have_at = true;
    return GSL_SUCCESS;
}

static int
jacobian(const gsl_vector *x, void *context, gsl_matrix *jac)
{
    struct least_squares *ls = context;
    size_t p = x->size;
    bool cached = ls->have_at;
    for (size_t i = 0; i < p && cached; i++) cached = ls->at[i] == gsl_vector_get(x, i);
    gsl_vector *f0 = gsl_vector_alloc(ls->n), *f1 = gsl_vector_alloc(ls->n);
    gsl_vector *moved = gsl_vector_alloc(p);
    int rc = f0 && f1 && moved ? GSL_SUCCESS : GSL_ENOMEM;
    if (!rc) rc = cached ? gsl_vector_memcpy(f0, ls->f_at) : residuals(x, ls, f0);
    for (size_t j = 0; j < p && !rc; j++) {
        gsl_vector_memcpy(moved, x);
        gsl_vector_set(moved, j, gsl_vector_get(x, j) + JACOBIAN_STEP);
        rc = residuals(moved, ls, f1);
        for (size_t i = 0; i < ls->n && !rc; i++)
            gsl_matrix_set(jac, i, j,
                           (gsl_vector_get(f1, i) - gsl_vector_get(f0, i)) / JACOBIAN_STEP);
    }
    gsl_vector_free(f0);
    gsl_vector_free(f1);
    gsl_vector_free(moved);
    return rc;
}

static void
report_iteration(const size_t iteration, void *context, const gsl_multifit_nlinear_workspace *w)
{
    const struct least_squares *ls = context;
    double sum = 0;
    gsl_blas_ddot(w->f, w->f, &sum);
    fprintf(stderr, "%s: iteration %zu, loss %.6g, %d simulations\n", program_name(),
            iteration, sum, ls->fit->evaluations);
}

/* Least squares from theta, at most max_iterations; theta is updated. */
static int
least_squares(struct fit *fit, double theta[NPARAMS], int max_iterations, bool progress,
              double *best)
{
    size_t p = (size_t)fit->nparams, n = fit->num_runs * NRESIDUALS;
    double at[NPARAMS];
    struct least_squares ls = {fit, n, at, gsl_vector_alloc(n), false};
    gsl_multifit_nlinear_fdf fdf = {.f = residuals, .df = jacobian, .n = n, .p = p, .params = &ls};
    gsl_multifit_nlinear_parameters params = gsl_multifit_nlinear_default_parameters();
    gsl_multifit_nlinear_workspace *w =
        ls.f_at ? gsl_multifit_nlinear_alloc(gsl_multifit_nlinear_trust, &params, n, p) : NULL;
    gsl_vector *x = gsl_vector_alloc(p);
    int rc = 0;
    if (!w || !x) rc = internal_error("out of memory");
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    if (!rc) {
        for (size_t i = 0; i < p; i++) gsl_vector_set(x, i, theta[i]);
        if (gsl_multifit_nlinear_init(x, &fdf, w))
            rc = internal_error("the fit's first simulations failed");
    }
    if (!rc) {
        int info;
        /* stops at max_iterations, on small steps or when it cannot improve:
         * every accepted step lowered the loss, so its point is the best seen */
        gsl_multifit_nlinear_driver((size_t)max_iterations, 1e-4, 1e-8, 1e-8,
                                    progress ? report_iteration : NULL, &ls, &info, w);
        for (size_t i = 0; i < p; i++) theta[i] = gsl_vector_get(w->x, i);
        gsl_blas_ddot(w->f, w->f, best);
    }
    gsl_set_error_handler(old);
    if (w) gsl_multifit_nlinear_free(w);
    gsl_vector_free(x);
    gsl_vector_free(ls.f_at);
    return rc;
}

static void
put_number(FILE *out, double x)
{
    char buf[40];
    format_double(buf, sizeof buf, x);
    fputs(buf, out);
}

static void
put_list(FILE *out, const double *x, size_t n)
{
    fputc('[', out);
    for (size_t i = 0; i < n; i++) {
        if (i) fputs(", ", out);
        put_number(out, x[i]);
    }
    fputc(']', out);
}

static void
write_coefficients(const struct fit *fit, const double theta[NPARAMS], double best, FILE *out)
{
    struct latency_model m = {0};
    latency_of(fit->kind, theta, &m);
    const struct engine_config *e = &fit->runs[0].config.engine;
    fprintf(out, "# SPDX-License-Identifier: GPL-3.0-or-later\n"
                 "# fitted by calibrate fit (%s; warm-up %lld us; loss %.6g after %d "
                 "simulations) on:\n",
            latency_kind_name(fit->kind), (long long)fit->warmup_us, best, fit->evaluations);
    for (size_t i = 0; i < fit->num_runs; i++) fprintf(out, "#   %s\n", fit->runs[i].dir);
    const char *plural = fit->num_runs == 1 ? "" : "s";
    if (fit->kind == LATENCY_PHYSICS) {
        fputs("engine:\n  latency_model: physics\nphysics:\n  alpha: ", out);
        put_list(out, m.alpha, 3);
        fputc('\n', out);
        for (int t = 0; t < PHYSICS_TERMS; t++) {
            fprintf(out, "  %s: ", physics_term_names[t]);
            put_number(out, m.physics[t]);
            fputc('\n', out);
        }
        fprintf(out, "  source: \"calibrate fit on %zu measured run%s\"\n", fit->num_runs,
                plural);
        return;
    }
    fprintf(out, "engine:\n  vllm_version: measured\ncoefficients:\n  - {model: %s, gpu: %s, "
                 "tp: %lld, vllm: \"measured\", alpha: ",
            e->model, e->gpu, (long long)e->tp);
    put_list(out, m.alpha, 3);
    fputs(", beta: ", out);
    put_list(out, m.beta, 3);
    fprintf(out, ", source: \"calibrate fit on %zu measured run%s\"}\n", fit->num_runs, plural);
}

static void
free_runs(struct run *runs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < runs[i].num_requests; j++) request_clear(&runs[i].requests[j]);
        free(runs[i].requests);
        free(runs[i].targets);
        config_free(&runs[i].config);
    }
    free(runs);
}

int
calibrate_fit(const struct fit_job *job)
{
    struct fit fit = {.kind = job->kind, .num_runs = job->num_runs, .warmup_us = job->warmup_us,
                      .nparams = job->kind == LATENCY_BLACKBOX ? NBLACKBOX : NPHYSICS};
    if (job->kind == LATENCY_ROOFLINE)
        return config_error("the roofline model has no coefficients to fit");
    fit.runs = calloc(job->num_runs, sizeof *fit.runs);
    fit.losses = calloc(job->num_runs, sizeof *fit.losses);
    if (!fit.runs || !fit.losses) {
        free(fit.runs);
        free(fit.losses);
        return internal_error("out of memory");
    }
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    fit.num_threads = cpus < 1 ? 1 : cpus > MAX_THREADS ? MAX_THREADS : (size_t)cpus;
    int rc = 0;
    for (size_t i = 0; i < job->num_runs && !rc; i++) {
        struct run *r = &fit.runs[i];
        r->dir = job->runs[i];
        rc = load_engine(r, job->kind);
        if (!rc) rc = load_requests(r);
        if (!rc) rc = load_measured(r, job->warmup_us);
        /* one blackbox set per engine; physics is shared by all */
        if (!rc && i > 0 && job->kind == LATENCY_BLACKBOX) rc = same_engine(&fit.runs[0], r);
    }
    if (!rc) {
        /* a generic start: 5 ms per step, 20 us per prefill and 100 us per decode
         * token, 5 ms of queueing; then a restart from the best point found */
        double theta[NPARAMS] = {log(5000), log(20), log(100), log(5000)}, best = 0;
        /* physics starts at the roofline's efficiencies (1/0.45, 1/0.30,
         * 1/0.8), 3 ms of CPU per step, 20 us per request, 5 ms queueing and 5 ms
         * more on several GPUs, 5 us per all-reduce */
        if (job->kind == LATENCY_PHYSICS) {
            double start[NPHYSICS] = {[K_PREFILL] = log(2.2), [K_DECODE] = log(3.3),
                                      [K_MEMORY] = log(1.25), [K_STEP] = log(3000),
                                      [K_REQUEST] = log(20), [K_A0] = log(5000),
                                      [K_MULTI_GPU] = log(5000), [K_ALLREDUCE] = log(5)};
            memcpy(theta, start, sizeof theta);
        }
        /* restarts with smaller simplexes: the loss has plateaus (step times are
         * whole microseconds) on which a simplex can stall */
        static const double steps[] = {1.0, 0.3, 0.1, 0.03};
        for (size_t i = 0; i < sizeof steps / sizeof *steps && !rc; i++)
            rc = minimize(&fit, theta, steps[i], job->max_iterations, job->progress, &best);
        if (!rc && job->kind == LATENCY_PHYSICS)
            rc = least_squares(&fit, theta, job->max_iterations, job->progress, &best);
        if (!rc && !isfinite(best)) rc = internal_error("the fit found no finite loss");
        if (!rc) write_coefficients(&fit, theta, best, job->out);
    }
    free_runs(fit.runs, job->num_runs);
    free(fit.losses);
    return rc;
}
