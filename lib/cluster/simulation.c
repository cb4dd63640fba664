/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "cluster/simulation.h"

#include "core/error.h"
#include "core/heap.h"

#include <stdlib.h>
#include <string.h>

enum event_kind { EVENT_STEP_END, EVENT_QUEUE_ENTRY };

/* Equal times: finish steps before queueing arrivals, so a step's results
 * are out before the next batch is formed. */
static const int priority_of[] = {[EVENT_STEP_END] = 0, [EVENT_QUEUE_ENTRY] = 1};

struct run {
    struct heap events;
    const struct request_source *source;
    struct request next; /* read ahead */
    bool have_next;
    struct instance *instance;
    const struct engine_sink *sink;
    struct simulation_stats stats;
};

int
request_array_next(void *context, struct request *out)
{
    struct request_array *a = context;
    if (a->next == a->count) return 0;
    return request_copy(out, &a->requests[a->next++]) == 0 ? 1 : ERR_INTERNAL;
}

static int
read_next(struct run *r)
{
    memset(&r->next, 0, sizeof r->next);
    int rc = r->source->next(r->source->context, &r->next);
    if (rc < 0) return rc;
    r->have_next = rc == 1;
    return 0;
}

static int
push(struct run *r, int64_t time_us, enum event_kind kind, void *payload)
{
    return heap_push(&r->events, (struct event){.time_us = time_us,
                                                .priority = priority_of[kind],
                                                .kind = kind,
                                                .payload = payload});
}

/* The arrival goes to the engine after its queueing delay. */
static int
arrive(struct run *r)
{
    struct request *q = malloc(sizeof *q);
    if (!q) return internal_error("out of memory");
    *q = r->next;
    r->stats.requests++;
    int64_t entry_us = q->arrival_us + instance_queue_delay_us(r->instance, q);
    if (push(r, entry_us, EVENT_QUEUE_ENTRY, q)) {
        request_clear(q);
        free(q);
        return ERR_INTERNAL;
    }
    return read_next(r);
}

static int
handle(struct run *r, struct event *e, const struct simulation_options *o)
{
    if (e->kind == EVENT_STEP_END) {
        int rc = instance_step_end(r->instance, r->sink);
        return rc || !o->check_invariants ? rc : instance_check(r->instance);
    }
    struct request *q = e->payload;
    int rc = instance_enqueue(r->instance, q, e->time_us, r->sink);
    request_clear(q);
    free(q);
    return rc;
}

static int64_t
next_time(const struct run *r)
{
    const struct event *top = heap_top(&r->events);
    int64_t t = top ? top->time_us : INT64_MAX;
    if (r->have_next && r->next.arrival_us < t) t = r->next.arrival_us;
    return t;
}

static int
start_step(struct run *r, int64_t now_us, const struct simulation_options *o)
{
    if (instance_busy(r->instance) || !instance_has_work(r->instance)) return 0;
    int64_t horizon = next_time(r);
    if (o->horizon_us > 0 && o->horizon_us < horizon) horizon = o->horizon_us;
    int64_t end_us;
    int rc = instance_step_begin(r->instance, now_us, horizon, !o->single_steps, r->sink, &end_us);
    if (rc || end_us < 0) return rc;
    return push(r, end_us, EVENT_STEP_END, NULL);
}

static int
drain(struct run *r, const struct simulation_options *o)
{
    for (;;) {
        int64_t now = next_time(r);
        if (now == INT64_MAX) return 0;
        if (o->horizon_us > 0 && now > o->horizon_us) return 0;
        r->stats.end_us = now;
        while (next_time(r) == now) {
            int rc;
            if (r->have_next && r->next.arrival_us == now) {
                rc = arrive(r);
            } else {
                struct event e = heap_pop(&r->events);
                rc = handle(r, &e, o);
            }
            if (rc) return rc;
        }
        int rc = start_step(r, now, o);
        if (rc) return rc;
    }
}

/* What is still queued for an engine or in flight ends as unfinished. */
static int
abandon(struct run *r)
{
    int rc = 0;
    while (heap_top(&r->events)) {
        struct event e = heap_pop(&r->events);
        if (e.kind != EVENT_QUEUE_ENTRY) continue;
        struct request *q = e.payload;
        if (!rc) {
            struct request_result u = {
                .id = q->id, .instance = -1, .status = STATUS_UNFINISHED,
                .arrival_us = q->arrival_us,
                .queued_us = TIME_NONE, .scheduled_us = TIME_NONE, .first_token_us = TIME_NONE,
                .finish_us = TIME_NONE, .input_tokens = q->input_tokens,
                .output_tokens = q->output_tokens, .slo_class = q->slo_class, .tenant = q->tenant,
            };
            rc = r->sink->result(r->sink->context, &u);
        }
        request_clear(q);
        free(q);
    }
    if (!rc) rc = instance_abandon(r->instance, r->sink);
    return rc;
}

static int
report_gaps(const struct instance *in, int id, const struct gap_sink *gaps)
{
    const struct gap_histogram *h = instance_gaps(in);
    for (size_t i = 0; i < h->capacity; i++) {
        const struct gap_entry *e = &h->slots[i];
        if (!e->occupied || e->count == 0) continue;
        const struct request_class *c = &h->classes[e->class_id];
        int rc = gaps->gap(gaps->context, c->slo_class, c->tenant, id, e->gap_us, e->count);
        if (rc) return rc;
    }
    return 0;
}

int
simulation_run(const struct engine_params *params, const struct simulation_options *options,
               const struct request_source *source, const struct engine_sink *sink,
               const struct gap_sink *gaps, struct simulation_stats *stats)
{
    struct run r = {.source = source, .sink = sink};
    heap_init(&r.events);
    int rc = instance_new(params, 0, &r.instance);
    if (!rc) rc = read_next(&r);
    if (!rc) rc = drain(&r, options);
    /* requests that arrive after the horizon never entered the system */
    if (!rc && options->horizon_us > 0) rc = abandon(&r);
    if (!rc && gaps) rc = report_gaps(r.instance, 0, gaps);
    if (r.instance) {
        struct instance_stats s = instance_stats(r.instance);
        r.stats.steps = s.steps;
        r.stats.leaps = s.leaps;
        r.stats.leapt_steps = s.leapt_steps;
        r.stats.preemptions = s.preemptions;
    }
    if (stats) *stats = r.stats;
    if (r.have_next) request_clear(&r.next);
    while (heap_top(&r.events)) {
        struct event e = heap_pop(&r.events);
        if (e.kind == EVENT_QUEUE_ENTRY) {
            request_clear(e.payload);
            free(e.payload);
        }
    }
    heap_free(&r.events);
    instance_free(r.instance);
    return rc;
}
