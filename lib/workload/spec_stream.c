/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "workload/spec_stream.h"

#include "core/error.h"
#include "core/heap.h"
#include "core/rng.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_math.h>
#include <gsl/gsl_roots.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TIME_US ((int64_t)1 << 60)
#define MAX_TOKENS ((int64_t)1 << 40)

enum pending_kind { PENDING_START, PENDING_ROUND };

/* [a, b) on which the client's rate is (c0 + c1 (t - a)) * diurnal(t). */
struct segment {
    double a, b, c0, c1;
    double cumulative; /* Lambda(a) */
};

struct client_state {
    const struct spec_client *spec;
    struct rng_stream arrival, input, output, think;
    struct segment *segments;
    size_t num_segments, current;
    double operational; /* Lambda of the next session start */
    double next_s;      /* its real time */
    int64_t sessions;
};

struct session {
    struct client_state *client;
    int64_t number, round;
    int64_t context; /* tokens of the conversation stream so far */
    double time_s;
    int64_t start_us; /* round 0's arrival: a closed-loop round's arrival_us */
    int64_t after_us; /* closed loop: the next round's think time */
};

struct spec_stream {
    const struct workload_spec *spec;
    struct client_state *clients;
    size_t num_clients;
    struct heap heap;
    struct session *current; /* a closed-loop session whose rounds come next */
    int64_t emitted;
    double omega; /* diurnal angular frequency, rad/s */
    gsl_root_fsolver *solver;
};

/* ---- the rate profile ---- */

static double
spikes_at(const struct workload_spec *s, double t)
{
    double m = 1;
    for (size_t i = 0; i < s->num_spikes; i++)
        if (t >= s->spikes[i].start_s && t < s->spikes[i].end_s) m *= s->spikes[i].multiplier;
    return m;
}

static const struct spec_client_window *
client_window_at(const struct spec_client *c, double t)
{
    for (size_t i = 0; i < c->num_windows; i++)
        if (t >= c->windows[i].start_s && t < c->windows[i].end_s) return &c->windows[i];
    return NULL;
}

/* The top-level windows' scale at t, as value and slope. */
static void
window_scale_at(const struct workload_spec *s, double t, double *value, double *slope)
{
    *value = s->num_windows ? 0 : 1;
    *slope = 0;
    for (size_t i = 0; i < s->num_windows; i++) {
        const struct spec_window *w = &s->windows[i];
        if (t < w->start_s || t >= w->end_s) continue;
        *slope = isinf(w->end_s) ? 0 : (w->scale_end - w->scale_start) / (w->end_s - w->start_s);
        *value = w->scale_start + *slope * (t - w->start_s);
    }
}

/* integral over [a, a + x] of (c0 + c1 u) (1 + A cos(omega (a + u - peak))) du */
static double
segment_integral(const struct spec_stream *st, const struct segment *g, double x)
{
    double v = g->c0 * x + g->c1 * x * x / 2;
    const struct spec_diurnal *d = &st->spec->diurnal;
    if (!d->enabled || d->amplitude == 0) return v;
    double w = st->omega, phi = w * (g->a - d->peak_s);
    double s1 = sin(w * x + phi), s0 = sin(phi), k1 = cos(w * x + phi), k0 = cos(phi);
    return v + d->amplitude * (g->c0 * (s1 - s0) / w + g->c1 * (x * s1 / w + (k1 - k0) / (w * w)));
}

static int
compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int
build_segments(const struct spec_stream *st, struct client_state *cs)
{
    const struct workload_spec *s = st->spec;
    const struct spec_client *c = cs->spec;
    size_t max = 2 + 2 * (s->num_windows + s->num_spikes + c->num_windows);
    double *points = malloc(max * sizeof *points);
    cs->segments = calloc(max, sizeof *cs->segments);
    if (!points || !cs->segments) {
        free(points);
        return internal_error("out of memory");
    }
    size_t n = 0;
    points[n++] = 0;
    if (isfinite(s->horizon_s)) points[n++] = s->horizon_s;
    for (size_t i = 0; i < s->num_windows; i++)
        points[n++] = s->windows[i].start_s, points[n++] = s->windows[i].end_s;
    for (size_t i = 0; i < s->num_spikes; i++)
        points[n++] = s->spikes[i].start_s, points[n++] = s->spikes[i].end_s;
    for (size_t i = 0; i < c->num_windows; i++)
        points[n++] = c->windows[i].start_s, points[n++] = c->windows[i].end_s;
    qsort(points, n, sizeof *points, compare_double);
    double cumulative = 0;
    for (size_t i = 0; i < n && isfinite(points[i]); i++) {
        if (i + 1 < n && points[i + 1] == points[i]) continue;
        double a = points[i], b = i + 1 < n ? points[i + 1] : INFINITY;
        double mid = isfinite(b) ? (a + b) / 2 : a + 1, scale, slope;
        window_scale_at(s, mid, &scale, &slope);
        double k = c->rate_per_s * spikes_at(s, mid);
        if (c->num_windows && !client_window_at(c, mid)) k = 0;
        struct segment g = {a, b, k * (scale - slope * (mid - a)), k * slope, cumulative};
        if (g.c0 < 0) g.c0 = 0; /* rounding at the end of a ramp down to 0 */
        cs->segments[cs->num_segments++] = g;
        if (isfinite(b)) cumulative += segment_integral(st, &g, b - a);
    }
    free(points);
    return 0;
}

struct inverse_target {
    const struct spec_stream *stream;
    const struct segment *segment;
    double target;
};

static double
inverse_gap(double x, void *p)
{
    const struct inverse_target *t = p;
    return segment_integral(t->stream, t->segment, x) - t->target;
}

/* The x in [0, b - a) with integral(x) = target, for 0 <= target < integral(b - a). */
static double
invert(struct spec_stream *st, const struct segment *g, double target)
{
    const struct spec_diurnal *d = &st->spec->diurnal;
    if (!d->enabled || d->amplitude == 0) {
        if (g->c1 == 0) return target / g->c0;
        double disc = g->c0 * g->c0 + 2 * g->c1 * target;
        return 2 * target / (g->c0 + sqrt(disc > 0 ? disc : 0));
    }
    /* integral(x) >= c0 x - 2 c0 A / omega when c1 = 0 (an open segment) */
    double hi = isfinite(g->b) ? g->b - g->a : target / g->c0 + 2 * d->amplitude / st->omega + 1;
    struct inverse_target t = {st, g, target};
    gsl_function f = {inverse_gap, &t};
    if (inverse_gap(hi, &t) <= 0) return hi;
    if (gsl_root_fsolver_set(st->solver, &f, 0, hi) != GSL_SUCCESS) return hi;
    double x = hi;
    for (int i = 0; i < 100; i++) {
        if (gsl_root_fsolver_iterate(st->solver) != GSL_SUCCESS) break;
        x = gsl_root_fsolver_root(st->solver);
        double lo = gsl_root_fsolver_x_lower(st->solver), up = gsl_root_fsolver_x_upper(st->solver);
        if (gsl_root_test_interval(lo, up, 1e-9, 0) == GSL_SUCCESS) break;
    }
    return x;
}

/* Advances the client to its next session start; false when it has none. */
static bool
next_start(struct spec_stream *st, struct client_state *cs)
{
    const struct spec_client_window *w = client_window_at(cs->spec, cs->next_s);
    const struct gap_process *process = w ? &w->arrival : &cs->spec->arrival;
    cs->operational += gap_process_draw(process, cs->arrival.gsl);
    while (cs->current < cs->num_segments) {
        const struct segment *g = &cs->segments[cs->current];
        double length = isfinite(g->b) ? segment_integral(st, g, g->b - g->a) : INFINITY;
        if (g->c0 > 0 || g->c1 > 0) {
            double into = cs->operational - g->cumulative;
            if (into < length) {
                cs->next_s = g->a + invert(st, g, into);
                if (cs->next_s < g->a) cs->next_s = g->a;
                return cs->next_s <= st->spec->horizon_s;
            }
        }
        cs->current++;
    }
    return false;
}

static int
push(struct spec_stream *st, double time_s, enum pending_kind kind, void *payload)
{
    double us = time_s * 1e6;
    if (!(us <= (double)MAX_TIME_US))
        return config_error("a request would arrive after %g s, beyond the request stream's "
                            "limit; lower num_requests or set horizon_s",
                            time_s);
    struct event e = {.time_us = llround(us), .kind = kind, .payload = payload};
    return heap_push(&st->heap, e);
}

bool
spec_stream_closed_loop(const struct spec_stream *st)
{
    for (size_t i = 0; i < st->spec->num_clients; i++)
        if (st->spec->clients[i].closed_loop && st->spec->clients[i].rounds > 1) return true;
    return false;
}

void
spec_stream_free(struct spec_stream *st)
{
    if (!st) return;
    while (heap_top(&st->heap)) {
        struct event e = heap_pop(&st->heap);
        if (e.kind == PENDING_ROUND) free(e.payload);
    }
    heap_free(&st->heap);
    free(st->current);
    for (size_t i = 0; i < st->num_clients; i++) {
        struct client_state *cs = &st->clients[i];
        rng_stream_free(&cs->arrival);
        rng_stream_free(&cs->input);
        rng_stream_free(&cs->output);
        rng_stream_free(&cs->think);
        free(cs->segments);
    }
    free(st->clients);
    if (st->solver) gsl_root_fsolver_free(st->solver);
    free(st);
}

static int
client_init(struct spec_stream *st, struct client_state *cs, const struct spec_client *c)
{
    char name[300];
    int rc;
    cs->spec = c;
    static const char *const quantity[] = {"arrival", "input", "output", "think"};
    struct rng_stream *streams[] = {&cs->arrival, &cs->input, &cs->output, &cs->think};
    for (size_t i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "client:%.200s:%s", c->id, quantity[i]);
        if ((rc = rng_stream_init(streams[i], st->spec->seed, name))) return rc;
    }
    if ((rc = build_segments(st, cs))) return rc;
    if (next_start(st, cs)) return push(st, cs->next_s, PENDING_START, cs);
    return 0;
}

static bool
bounded(const struct workload_spec *s)
{
    if (s->num_requests >= 0 || isfinite(s->horizon_s)) return true;
    if (s->num_windows && isfinite(s->windows[s->num_windows - 1].end_s)) return true;
    for (size_t i = 0; i < s->num_clients; i++) {
        const struct spec_client *c = &s->clients[i];
        if (!c->num_windows || isinf(c->windows[c->num_windows - 1].end_s)) return false;
    }
    return true;
}

int
spec_stream_new(const struct workload_spec *spec, struct spec_stream **out)
{
    if (!bounded(spec))
        return config_error("the workload never ends: give num_requests (-n) or horizon_s");
    struct spec_stream *st = calloc(1, sizeof *st);
    if (!st) return internal_error("out of memory");
    st->spec = spec;
    heap_init(&st->heap);
    if (spec->diurnal.enabled) st->omega = 2 * M_PI / spec->diurnal.period_s;
    gsl_set_error_handler_off();
    st->solver = gsl_root_fsolver_alloc(gsl_root_fsolver_brent);
    st->clients = calloc(spec->num_clients, sizeof *st->clients);
    if (!st->solver || !st->clients) {
        spec_stream_free(st);
        return internal_error("out of memory");
    }
    int rc = 0;
    for (size_t i = 0; !rc && i < spec->num_clients; i++) {
        rc = client_init(st, &st->clients[i], &spec->clients[i]);
        st->num_clients++;
    }
    if (rc) {
        spec_stream_free(st);
        return rc;
    }
    *out = st;
    return 0;
}

/* ---- requests ---- */

static int
fill_request(struct spec_stream *st, struct client_state *cs, struct session *session,
             int64_t arrival_us, double time_s, struct request *r)
{
    const struct spec_client *c = cs->spec;
    const struct spec_client_window *w = client_window_at(c, time_s);
    const struct length_sampler *in = w && w->has_input ? &w->input : &c->input;
    const struct length_sampler *out = w && w->has_output ? &w->output : &c->output;
    int64_t input = length_sampler_draw(in, cs->input.gsl);
    int64_t output = length_sampler_draw(out, cs->output.gsl);
    char prefix[600] = "", name[300] = "";
    int n = 0;
    if (c->prefix_group)
        n = snprintf(prefix, sizeof prefix, "%s:%" PRId64, c->prefix_group, c->prefix_length);
    int64_t conversation = input;
    if (session) {
        snprintf(name, sizeof name, "%s:%" PRId64, c->id, session->number);
        if (c->accumulate) {
            conversation = session->context + input;
            snprintf(prefix + n, sizeof prefix - (size_t)n, "%ssession:%s:%" PRId64, n ? ";" : "",
                     name, conversation);
            session->context = conversation + output;
        }
    }
    int64_t total = c->prefix_length + conversation;
    if (total > MAX_TOKENS)
        return config_error("client '%s': a prompt of %" PRId64 " tokens is beyond the request "
                            "stream's limit (2^40)",
                            c->id, total);
    struct request q = {.id = st->emitted, .arrival_us = arrival_us, .input_tokens = total,
                        .output_tokens = output, .round = session ? session->round : 0};
    if (session && session->round > 0 && c->closed_loop) {
        q.closed_loop = true;
        q.after_us = session->after_us;
    }
    if (prefix_parse(prefix, &q.segments, &q.num_segments, &q.prefix_tokens))
        return internal_error("cannot parse the generated prefix '%s'", prefix);
    q.prefix = strdup(prefix);
    q.slo_class = strdup(c->slo_class);
    q.tenant = strdup(c->tenant);
    q.session = strdup(name);
    if (!q.prefix || !q.slo_class || !q.tenant || !q.session) {
        request_clear(&q);
        return internal_error("out of memory");
    }
    *r = q;
    return 0;
}

/* Schedules round session->round + 1, or frees the session after its last. */
static int
follow(struct spec_stream *st, struct session *session)
{
    struct client_state *cs = session->client;
    if (++session->round >= cs->spec->rounds) {
        free(session);
        return 0;
    }
    int64_t think = length_sampler_draw(&cs->spec->think_time_us, cs->think.gsl);
    if (cs->spec->closed_loop) {
        /* written right away, released by simulate when the round before completes */
        session->after_us = think;
        st->current = session;
        return 0;
    }
    double think_us = (double)think;
    session->time_s += think_us / 1e6;
    if (session->time_s > st->spec->horizon_s) {
        free(session);
        return 0;
    }
    int rc = push(st, session->time_s, PENDING_ROUND, session);
    if (rc) free(session);
    return rc;
}

int
spec_stream_next(struct spec_stream *st, struct request *out)
{
    if (st->spec->num_requests >= 0 && st->emitted >= st->spec->num_requests) return 0;
    int rc;
    if (st->current) {
        struct session *session = st->current;
        st->current = NULL;
        if ((rc = fill_request(st, session->client, session, session->start_us, session->time_s,
                               out))) {
            free(session);
            return rc;
        }
        st->emitted++;
        return (rc = follow(st, session)) ? rc : 1;
    }
    const struct event *top = heap_top(&st->heap);
    if (!top) return 0;
    struct event e = heap_pop(&st->heap);
    if (e.kind == PENDING_ROUND) {
        struct session *session = e.payload;
        if ((rc = fill_request(st, session->client, session, e.time_us, session->time_s, out)))
            return rc;
        st->emitted++;
        return (rc = follow(st, session)) ? rc : 1;
    }
    struct client_state *cs = e.payload;
    struct session *session = NULL;
    if (cs->spec->rounds > 1) {
        if (!(session = calloc(1, sizeof *session))) return internal_error("out of memory");
        *session = (struct session){cs, cs->sessions++, 0, 0, cs->next_s, e.time_us, 0};
    }
    if ((rc = fill_request(st, cs, session, e.time_us, cs->next_s, out))) {
        free(session);
        return rc;
    }
    st->emitted++;
    if (session && (rc = follow(st, session))) return rc;
    if (next_start(st, cs) && (rc = push(st, cs->next_s, PENDING_START, cs))) return rc;
    return 1;
}
