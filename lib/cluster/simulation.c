/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "cluster/simulation.h"

#include "cluster/admission.h"
#include "cluster/sessions.h"
#include "core/error.h"
#include "core/heap.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum stage { STAGE_FIRST, STAGE_DECODE, STAGE_COUNT };

/* A request on its way to an instance's queue. */
struct pending {
    struct request request;
    size_t target; /* instance index */
    struct enqueue_info info;
    int64_t ticket; /* P/D prefill leg: its flow; else -1 */
    struct pending *next_spare; /* in run.spare_pending */
};

/* A P/D request between arrival and the end of its transfer: the request
 * as it arrived (the prefill leg runs a copy under the ticket as id). */
struct flow {
    struct request request;
    int64_t next_free; /* free list of tickets; -1 ends */
};

struct node {
    struct instance *instance;
    enum stage stage;
    size_t slot; /* in its stage's candidates */
    enum pool_role role;
    bool touched;
    /* expert parallelism: the nodes group_first .. + group_size - 1 step in
     * lockstep (group_size 0: this node steps alone) */
    size_t group_first, group_size;
    const struct latency_model *latency;
};

struct stage_state {
    struct candidate *candidates;
    size_t count;
    struct router router;
    const char *name;
};

struct run {
    const struct cluster *cluster;
    const struct simulation_options *options;
    struct heap steps;   /* step ends; payload: the node */
    struct heap entries; /* queue entries; payload: a pending */
    const struct request_source *source;
    struct request next; /* read ahead */
    bool have_next;
    struct sessions sessions; /* closed-loop rounds held back */
    struct heap released;     /* closed-loop rounds released; payload: a request */
    struct node *nodes;
    size_t num_nodes;
    struct stage_state stages[STAGE_COUNT];
    size_t *touched;
    size_t num_touched;
    struct admission admission;
    bool pd, need_priority;
    int64_t next_snapshot_us;
    struct flow *flows;
    int64_t num_flows, free_flow;
    int64_t active_transfers;
    const struct engine_sink *sink; /* the caller's, behind settle_sink */
    struct engine_sink settle_sink; /* every final result passes here */
    struct engine_sink engine_sink; /* what the engines write to */
    const struct decision_sink *decisions;
    struct simulation_stats stats;
    struct pending *spare_pending; /* entered ones, for the next arrivals */
    struct step_shape *group_shapes; /* scratch of a lockstep group's step, one per node */
    int64_t *group_own_us;
};

int
request_array_next(void *context, struct request *out)
{
    struct request_array *a = context;
    if (a->next == a->count) return 0;
    return request_copy(out, &a->requests[a->next++]) == 0 ? 1 : ERR_INTERNAL;
}

static int
push_released(struct run *r, struct request *q)
{
    struct request *copy = malloc(sizeof *copy);
    if (!copy || heap_push(&r->released, (struct event){.time_us = q->arrival_us, .payload = copy})) {
        free(copy);
        request_clear(q);
        return internal_error("out of memory");
    }
    *copy = *q;
    return 0;
}

/* Reads the next request sent at its arrival; closed-loop rounds on the way
 * are held (or released, when the round before them has settled). */
static int
read_next(struct run *r)
{
    for (;;) {
        memset(&r->next, 0, sizeof r->next);
        int rc = r->source->next(r->source->context, &r->next);
        if (rc < 0) return rc;
        r->have_next = rc == 1;
        if (!r->have_next) return 0;
        if (!r->next.closed_loop) {
            sessions_saw(&r->sessions, &r->next);
            return 0;
        }
        r->have_next = false;
        struct request release;
        rc = sessions_hold(&r->sessions, &r->next, &release);
        if (rc < 0) return rc;
        if (rc == 1 && (rc = push_released(r, &release))) return rc;
    }
}

/* Every final result: a closed-loop round waiting on it is released. */
static int
settle_result(void *context, const struct request_result *res)
{
    struct run *r = context;
    int rc = r->sink->result(r->sink->context, res);
    if (rc) return rc;
    /* an ok round settles when its last token is delivered, any other when
     * it is reported: now on the clock */
    int64_t settled_us = res->status == STATUS_OK ? res->finish_us : r->stats.end_us;
    if (settled_us < r->stats.end_us) settled_us = r->stats.end_us;
    struct request release;
    rc = sessions_settled(&r->sessions, res->id, settled_us, &release);
    return rc == 1 ? push_released(r, &release) : rc;
}

static int64_t
heap_time(const struct heap *h)
{
    const struct event *top = heap_top(h);
    return top ? top->time_us : INT64_MAX;
}

static int64_t
next_time(const struct run *r)
{
    int64_t t = heap_time(&r->steps), e = heap_time(&r->entries), c = heap_time(&r->released);
    if (e < t) t = e;
    if (c < t) t = c;
    if (r->have_next && r->next.arrival_us < t) t = r->next.arrival_us;
    return t;
}

static void
free_pending(struct pending *p)
{
    request_clear(&p->request);
    free(p);
}

/* Uninitialized; NULL when out of memory. */
static struct pending *
new_pending(struct run *r)
{
    struct pending *p = r->spare_pending;
    if (!p) return malloc(sizeof *p);
    r->spare_pending = p->next_spare;
    return p;
}

/* Puts away a pending whose request has been handed over (is empty). */
static void
retire_pending(struct run *r, struct pending *p)
{
    p->next_spare = r->spare_pending;
    r->spare_pending = p;
}

static int
push_entry(struct run *r, int64_t time_us, struct pending *p)
{
    r->stages[r->nodes[p->target].stage].candidates[r->nodes[p->target].slot].in_flight++;
    if (heap_push(&r->entries, (struct event){.time_us = time_us, .payload = p})) {
        free_pending(p);
        return ERR_INTERNAL;
    }
    return 0;
}

static void
touch(struct run *r, size_t index)
{
    if (r->nodes[index].touched) return;
    r->nodes[index].touched = true;
    r->touched[r->num_touched++] = index;
}

/* ---- signals ------------------------------------------------------------ */

static void
refresh_stage(struct run *r, enum stage s)
{
    struct stage_state *st = &r->stages[s];
    for (size_t i = 0; i < st->count; i++)
        st->candidates[i].seen = instance_load(st->candidates[i].instance);
}

/* Snapshots at multiples of the interval, before the events of that time:
 * nothing changed since the last event, so the state now is the state then. */
static void
maybe_snapshot(struct run *r, int64_t now_us)
{
    int64_t interval = r->cluster->policy.snapshot_interval_us;
    if (interval <= 0 || now_us < r->next_snapshot_us) return;
    for (int s = 0; s < STAGE_COUNT; s++) refresh_stage(r, (enum stage)s);
    r->next_snapshot_us = (now_us / interval + 1) * interval;
}

/* With live signals, the stage is read just before it is used. */
static void
live_signals(struct run *r, enum stage s)
{
    if (r->cluster->policy.snapshot_interval_us == 0) refresh_stage(r, s);
}

static bool
reads_signals(enum routing_policy p)
{
    return p != ROUTING_ROUND_ROBIN;
}

static double
mean_queue(const struct stage_state *st)
{
    int64_t sum = 0;
    for (size_t i = 0; i < st->count; i++)
        sum += st->candidates[i].seen.waiting + st->candidates[i].in_flight;
    return (double)sum / (double)st->count;
}

/* The instance index chosen in stage s for q, traced when asked. */
static int
route(struct run *r, enum stage s, const struct request *q, int64_t now_us, size_t *out)
{
    struct stage_state *st = &r->stages[s];
    if (reads_signals(st->router.policy)) live_signals(r, s);
    struct routing_decision d;
    size_t slot = router_choose(&st->router, q, st->candidates, st->count,
                                r->decisions ? &d : NULL);
    *out = (size_t)st->candidates[slot].id;
    if (!r->decisions) return 0;
    d.time_us = now_us;
    d.pool = st->name;
    return r->decisions->decision(r->decisions->context, &d);
}

/* ---- arrivals and P/D flows ----------------------------------------------- */

static int
report_unqueued(struct run *r, const struct request *q, enum request_status status)
{
    struct request_result u = {
        .id = q->id, .instance = -1, .status = status, .arrival_us = q->arrival_us,
        .queued_us = TIME_NONE, .scheduled_us = TIME_NONE, .first_token_us = TIME_NONE,
        .finish_us = TIME_NONE, .input_tokens = q->input_tokens,
        .output_tokens = q->output_tokens, .slo_class = q->slo_class, .tenant = q->tenant,
    };
    return settle_result(r, &u);
}

static int64_t
new_flow(struct run *r)
{
    if (r->free_flow < 0) {
        int64_t count = r->num_flows ? 2 * r->num_flows : 64;
        struct flow *grown = realloc(r->flows, (size_t)count * sizeof *grown);
        if (!grown) return internal_error("out of memory");
        r->flows = grown;
        for (int64_t i = r->num_flows; i < count; i++)
            grown[i] = (struct flow){.next_free = i + 1 < count ? i + 1 : -1};
        r->free_flow = r->num_flows;
        r->num_flows = count;
    }
    int64_t ticket = r->free_flow;
    r->free_flow = r->flows[ticket].next_free;
    return ticket;
}

static void
end_flow(struct run *r, int64_t ticket, bool clear)
{
    if (clear) request_clear(&r->flows[ticket].request);
    memset(&r->flows[ticket].request, 0, sizeof r->flows[ticket].request);
    r->flows[ticket].next_free = r->free_flow;
    r->free_flow = ticket;
}

/* The prefill leg runs under a ticket as id, with one output token. */
static int
start_flow(struct run *r, struct pending *p)
{
    int64_t ticket = new_flow(r);
    if (ticket < 0) return (int)ticket;
    if (request_copy(&r->flows[ticket].request, &p->request)) {
        end_flow(r, ticket, false);
        return internal_error("out of memory");
    }
    p->ticket = ticket;
    p->request.id = ticket;
    p->request.output_tokens = 1;
    return 0;
}

/* Admits and routes a request arriving now (taking it). */
static int
arrive_request(struct run *r, struct request *arriving)
{
    const struct cluster_policy *policy = &r->cluster->policy;
    int64_t now = arriving->arrival_us;
    r->stats.requests++;
    struct pending *p = new_pending(r);
    if (!p) {
        request_clear(arriving);
        return internal_error("out of memory");
    }
    *p = (struct pending){.request = *arriving, .ticket = -1};
    struct request *q = &p->request;
    int rc = 0;
    if (r->need_priority) p->info.priority = cluster_priority_of(policy, q->slo_class);
    double queue = 0;
    if (policy->admission == ADMISSION_SLO_SHED) {
        live_signals(r, STAGE_FIRST);
        queue = mean_queue(&r->stages[STAGE_FIRST]);
    }
    if (!admission_admit(&r->admission, q, p->info.priority, queue, now)) {
        r->stats.rejected++;
        rc = report_unqueued(r, q, STATUS_REJECTED);
        free_pending(p);
        return rc;
    }
    if ((rc = route(r, STAGE_FIRST, q, now, &p->target)) || (r->pd && (rc = start_flow(r, p)))) {
        free_pending(p);
        return rc;
    }
    int64_t entry_us = now + policy->admission_latency_us + policy->routing_latency_us +
                       instance_queue_delay_us(r->nodes[p->target].instance, q);
    return push_entry(r, entry_us, p);
}

/* The stream's next request arrives; the one after it is read ahead. */
static int
arrive(struct run *r)
{
    struct request q = r->next;
    r->have_next = false;
    int rc = arrive_request(r, &q);
    return rc ? rc : read_next(r);
}

static int
arrive_released(struct run *r)
{
    struct event e = heap_pop(&r->released);
    struct request *q = e.payload;
    int rc = arrive_request(r, q);
    free(q);
    return rc;
}

static int64_t
transfer_us(struct run *r, const struct request *q, const struct engine_params *prefill)
{
    const struct pd_link *l = &r->cluster->link;
    if (!(l->bandwidth_bytes_per_s > 0)) return l->base_latency_us;
    int64_t blocks = (q->input_tokens + prefill->block_size - 1) / prefill->block_size;
    double bytes = (double)(blocks * prefill->block_size) * l->kv_bytes_per_token;
    double bandwidth = l->bandwidth_bytes_per_s;
    /* shared: the link is split evenly among the transfers in progress at the start */
    if (l->shared) bandwidth /= (double)(r->active_transfers + 1);
    return l->base_latency_us + (int64_t)ceil(bytes / bandwidth * 1e6);
}

/* A prefill leg ended: its KV crosses the link to a decode instance chosen now. */
static int
start_transfer(struct run *r, const struct request_result *res)
{
    int64_t ticket = res->id;
    struct pending *p = new_pending(r);
    if (!p) return internal_error("out of memory");
    *p = (struct pending){
        .request = r->flows[ticket].request,
        .ticket = -1,
        .info = {.prefilled = true, .queued_us = res->queued_us,
                 .scheduled_us = res->scheduled_us, .cached_tokens = res->cached_tokens,
                 .preemptions = res->preemptions},
    };
    end_flow(r, ticket, false);
    if (r->need_priority)
        p->info.priority = cluster_priority_of(&r->cluster->policy, p->request.slo_class);
    const struct engine_params *params = &r->cluster->pools[0].params;
    for (size_t i = 0; i < r->cluster->num_pools; i++)
        if (r->cluster->pools[i].role == POOL_PREFILL) params = &r->cluster->pools[i].params;
    int64_t arrive_us = res->finish_us + transfer_us(r, &p->request, params);
    int rc = route(r, STAGE_DECODE, &p->request, res->finish_us, &p->target);
    if (rc) {
        free_pending(p);
        return rc;
    }
    r->active_transfers++;
    r->stats.transfers++;
    return push_entry(r, arrive_us, p);
}

/* What the engines report: P/D prefill legs are taken back here. */
static int
engine_result(void *context, const struct request_result *res)
{
    struct run *r = context;
    if (r->nodes[res->instance].role != POOL_PREFILL) return settle_result(r, res);
    if (res->status == STATUS_OK) return start_transfer(r, res);
    struct flow *f = &r->flows[res->id];
    struct request_result out = *res;
    out.id = f->request.id;
    out.output_tokens = f->request.output_tokens;
    out.first_token_us = TIME_NONE;
    int rc = settle_result(r, &out);
    end_flow(r, res->id, true);
    return rc;
}

static int
engine_step(void *context, const struct step_record *step)
{
    const struct run *r = context;
    return r->sink->step(r->sink->context, step);
}

/* ---- events ------------------------------------------------------------- */

static int
enter(struct run *r, struct pending *p, int64_t now_us)
{
    struct node *n = &r->nodes[p->target];
    r->stages[n->stage].candidates[n->slot].in_flight--;
    if (p->info.prefilled) r->active_transfers--;
    touch(r, p->target);
    const struct enqueue_info *info = r->need_priority || p->info.prefilled ? &p->info : NULL;
    int rc = instance_enqueue_with(n->instance, &p->request, now_us, info, &r->engine_sink);
    if (rc) request_clear(&p->request); /* still the pending's when enqueuing failed */
    retire_pending(r, p);
    return rc;
}

static int
step_end(struct run *r, struct node *n)
{
    touch(r, (size_t)(n - r->nodes));
    /* an idle member may have been given work while the group stepped */
    for (size_t i = 0; i < n->group_size; i++) touch(r, n->group_first + i);
    int rc = instance_step_end(n->instance, &r->engine_sink);
    return rc || !r->options->check_invariants ? rc : instance_check(n->instance);
}

/* How far an engine may leap: to the next event that could change it or
 * read it (an arrival, a queue entry, a snapshot; under P/D, or while
 * closed-loop rounds wait for a completion that releases them, any event). */
static int64_t
leap_horizon(const struct run *r)
{
    int64_t t = r->pd || r->sessions.held ? next_time(r) : heap_time(&r->entries);
    int64_t c = heap_time(&r->released);
    if (c < t) t = c;
    if (r->have_next && r->next.arrival_us < t) t = r->next.arrival_us;
    if (r->cluster->policy.snapshot_interval_us > 0 && r->next_snapshot_us < t)
        t = r->next_snapshot_us;
    if (r->options->horizon_us > 0 && r->options->horizon_us < t) t = r->options->horizon_us;
    return t;
}

/*
 * A lockstep group steps when none of its engines is busy and one has
 * work: every engine with work forms its batch, and the step lasts as long
 * as the slowest engine's share, each computing its own tokens and its
 * share of the routed experts for the tokens of all (an engine without
 * work runs its share too, as vLLM's idle data-parallel ranks run dummy
 * batches).
 */
static int
start_group(struct run *r, const struct node *n, int64_t now_us)
{
    struct node *members = &r->nodes[n->group_first];
    struct step_shape *shapes = &r->group_shapes[n->group_first];
    int64_t *own_us = &r->group_own_us[n->group_first];
    for (size_t i = 0; i < n->group_size; i++)
        if (instance_busy(members[i].instance)) return 0;
    int64_t prefill = 0, decode = 0;
    for (size_t i = 0; i < n->group_size; i++) {
        int rc = instance_step_form(members[i].instance, now_us, &shapes[i], &own_us[i]);
        if (rc) return rc;
        prefill += shapes[i].prefill_tokens;
        decode += shapes[i].decode_tokens;
    }
    if (prefill + decode == 0) return 0;
    int64_t step_us = 0;
    for (size_t i = 0; i < n->group_size; i++) {
        shapes[i].group_prefill_tokens = prefill;
        shapes[i].group_decode_tokens = decode;
        int64_t us = latency_step_us(members[i].latency, &shapes[i]) + own_us[i];
        if (us > step_us) step_us = us;
    }
    for (size_t i = 0; i < n->group_size; i++) {
        if (shapes[i].requests == 0) continue;
        int64_t end_us;
        int rc = instance_step_commit(members[i].instance, now_us, step_us, &r->engine_sink,
                                      &end_us);
        if (!rc) rc = heap_push(&r->steps, (struct event){.time_us = end_us, .payload = &members[i]});
        if (rc) return rc;
    }
    return 0;
}

static int
start_steps(struct run *r, int64_t now_us)
{
    int rc = 0;
    for (size_t k = 0; k < r->num_touched; k++) {
        struct node *n = &r->nodes[r->touched[k]];
        n->touched = false;
        if (!rc && n->group_size > 0) {
            rc = start_group(r, n, now_us);
            continue;
        }
        if (rc || instance_busy(n->instance) || !instance_has_work(n->instance)) continue;
        int64_t end_us;
        rc = instance_step_begin(n->instance, now_us, leap_horizon(r), !r->options->single_steps,
                                 &r->engine_sink, &end_us);
        if (!rc && end_us >= 0)
            rc = heap_push(&r->steps, (struct event){.time_us = end_us, .payload = n});
    }
    r->num_touched = 0;
    return rc;
}

static int
drain(struct run *r)
{
    const struct simulation_options *o = r->options;
    for (;;) {
        int64_t now = next_time(r);
        if (now == INT64_MAX) return 0;
        if (o->horizon_us > 0 && now > o->horizon_us) return 0;
        maybe_snapshot(r, now);
        r->stats.end_us = now;
        for (;;) {
            int rc;
            if (heap_time(&r->released) == now) {
                rc = arrive_released(r);
            } else if (r->have_next && r->next.arrival_us == now) {
                rc = arrive(r);
            } else if (heap_time(&r->steps) == now) {
                struct event e = heap_pop(&r->steps);
                rc = step_end(r, e.payload);
            } else if (heap_time(&r->entries) == now) {
                struct event e = heap_pop(&r->entries);
                rc = enter(r, e.payload, now);
            } else {
                break; /* every event at now is done */
            }
            if (rc) return rc;
        }
        int rc = start_steps(r, now);
        if (rc) return rc;
    }
}

/* What is still on its way to an engine ends as unfinished, then what is inside. */
static int
abandon(struct run *r)
{
    int rc = 0;
    while (heap_top(&r->entries)) {
        struct event e = heap_pop(&r->entries);
        struct pending *p = e.payload;
        const struct request *q = p->ticket >= 0 ? &r->flows[p->ticket].request : &p->request;
        if (!rc) rc = report_unqueued(r, q, STATUS_UNFINISHED);
        if (p->ticket >= 0) end_flow(r, p->ticket, true);
        free_pending(p);
    }
    for (size_t i = 0; i < r->num_nodes && !rc; i++)
        rc = instance_abandon(r->nodes[i].instance, &r->engine_sink);
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

/* ---- set up and tear down ----------------------------------------------- */

static int
setup(struct run *r, const struct cluster *c)
{
    for (size_t i = 0; i < c->num_pools; i++) r->num_nodes += (size_t)c->pools[i].instances;
    r->nodes = calloc(r->num_nodes, sizeof *r->nodes);
    r->touched = malloc(r->num_nodes * sizeof *r->touched);
    r->group_shapes = malloc(r->num_nodes * sizeof *r->group_shapes);
    r->group_own_us = malloc(r->num_nodes * sizeof *r->group_own_us);
    for (int s = 0; s < STAGE_COUNT; s++)
        r->stages[s].candidates = calloc(r->num_nodes, sizeof *r->stages[s].candidates);
    if (!r->nodes || !r->touched || !r->group_shapes || !r->group_own_us ||
        !r->stages[0].candidates || !r->stages[1].candidates)
        return internal_error("out of memory");
    const char *first_name = c->num_pools == 1 ? c->pools[0].name : "all";
    enum routing_policy routing[STAGE_COUNT] = {c->policy.routing, c->policy.routing};
    size_t k = 0;
    for (size_t i = 0; i < c->num_pools; i++) {
        const struct cluster_pool *pool = &c->pools[i];
        enum stage s = pool->role == POOL_DECODE ? STAGE_DECODE : STAGE_FIRST;
        if (pool->role != POOL_MIXED) {
            routing[s] = pool->routing;
            r->pd = true;
        }
        if (pool->role == POOL_PREFILL) first_name = pool->name;
        if (pool->role == POOL_DECODE) r->stages[s].name = pool->name;
        for (int64_t j = 0; j < pool->instances; j++, k++) {
            struct node *n = &r->nodes[k];
            int rc = instance_new(&pool->params, (int)k, &n->instance);
            if (rc) return rc;
            instance_set_policy(n->instance, &pool->policy);
            if (pool->policy.scheduler == SCHEDULER_PRIORITY ||
                pool->policy.victim == VICTIM_LOWEST_PRIORITY)
                r->need_priority = true;
            n->stage = s;
            n->role = pool->role;
            n->latency = &pool->params.latency;
            if (pool->params.lockstep) {
                n->group_first = k - (size_t)j;
                n->group_size = (size_t)pool->instances;
            }
            struct stage_state *st = &r->stages[s];
            n->slot = st->count;
            st->candidates[st->count++] = (struct candidate){.instance = n->instance, .id = (int)k};
        }
    }
    r->stages[STAGE_FIRST].name = first_name;
    for (int s = 0; s < STAGE_COUNT; s++) {
        if (!r->stages[s].count) continue;
        int rc = router_init(&r->stages[s].router, routing[s], c->policy.weights,
                             r->stages[s].count, c->policy.seed, r->stages[s].name);
        if (rc) return rc;
    }
    if (c->policy.admission == ADMISSION_SLO_SHED) r->need_priority = true;
    admission_init(&r->admission, &c->policy);
    r->free_flow = -1;
    return 0;
}

static void
teardown(struct run *r)
{
    if (r->have_next) request_clear(&r->next);
    while (heap_top(&r->released)) {
        struct event e = heap_pop(&r->released);
        request_clear(e.payload);
        free(e.payload);
    }
    heap_free(&r->released);
    sessions_free(&r->sessions);
    while (heap_top(&r->entries)) {
        struct event e = heap_pop(&r->entries);
        free_pending(e.payload);
    }
    heap_free(&r->entries);
    heap_free(&r->steps);
    while (r->spare_pending) {
        struct pending *p = r->spare_pending;
        r->spare_pending = p->next_spare;
        free(p);
    }
    for (size_t i = 0; i < r->num_nodes; i++) instance_free(r->nodes[i].instance);
    for (int64_t i = 0; i < r->num_flows; i++) request_clear(&r->flows[i].request);
    free(r->flows);
    for (int s = 0; s < STAGE_COUNT; s++) {
        if (r->stages[s].router.scores) router_free(&r->stages[s].router);
        free(r->stages[s].candidates);
    }
    free(r->nodes);
    free(r->touched);
    free(r->group_shapes);
    free(r->group_own_us);
}

int
cluster_run(const struct cluster *cluster, const struct simulation_options *options,
            const struct request_source *source, const struct engine_sink *sink,
            const struct gap_sink *gaps, const struct decision_sink *decisions,
            struct simulation_stats *stats)
{
    struct run r = {.cluster = cluster, .options = options, .source = source, .sink = sink,
                    .decisions = decisions};
    heap_init(&r.steps);
    heap_init(&r.entries);
    heap_init(&r.released);
    sessions_init(&r.sessions);
    int rc = setup(&r, cluster);
    /* the engines write to the settling sink unless P/D legs must be caught */
    r.settle_sink = (struct engine_sink){&r, settle_result, sink->step ? engine_step : NULL};
    r.engine_sink = r.pd ? (struct engine_sink){&r, engine_result, sink->step ? engine_step : NULL}
                         : r.settle_sink;
    if (!rc) rc = read_next(&r);
    if (!rc) rc = drain(&r);
    if (!rc && !options->horizon_us && r.sessions.held)
        rc = internal_error("%" PRId64 " closed-loop rounds were never released",
                            r.sessions.held);
    /* requests that arrive after the horizon never entered the system */
    if (!rc && options->horizon_us > 0) rc = abandon(&r);
    for (size_t i = 0; !rc && gaps && i < r.num_nodes; i++)
        rc = report_gaps(r.nodes[i].instance, (int)i, gaps);
    for (size_t i = 0; i < r.num_nodes; i++) {
        if (!r.nodes[i].instance) continue;
        struct instance_stats s = instance_stats(r.nodes[i].instance);
        r.stats.steps += s.steps;
        r.stats.leaps += s.leaps;
        r.stats.leapt_steps += s.leapt_steps;
        r.stats.quiet_steps += s.quiet_steps;
        r.stats.preemptions += s.preemptions;
        r.stats.head_of_line_blocked_steps += s.head_of_line_blocked_steps;
        r.stats.kv_reloaded_blocks += s.kv_reloaded_blocks;
    }
    if (stats) *stats = r.stats;
    teardown(&r);
    return rc;
}

int
simulation_run(const struct engine_params *params, const struct simulation_options *options,
               const struct request_source *source, const struct engine_sink *sink,
               const struct gap_sink *gaps, struct simulation_stats *stats)
{
    struct cluster c;
    int rc = cluster_init_uniform(&c, params, 1, NULL);
    if (!rc) rc = cluster_run(&c, options, source, sink, gaps, NULL, stats);
    cluster_free(&c);
    return rc;
}
