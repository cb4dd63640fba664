/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "engine/instance.h"

#include "core/error.h"
#include "model/kvcache.h"
#include "model/latency.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/*
 * A stretch of a request's tokens produced by consecutive steps, closed by
 * a gap that was not one step long (the request sat out a step). Regular
 * gaps are the durations of steps from_step+1 .. to_step, kept in the
 * engine's step log; only the irregular gap is stored.
 */
struct gap_note {
    int64_t from_step, to_step;
    int64_t gap_us;
};

/* One request inside the engine. */
struct seq {
    struct request request;
    struct kv_tokens tokens;
    struct kv_seq kv;
    uint32_t class_id;
    int64_t queued_us, scheduled_us, first_token_us;
    int64_t num_computed; /* tokens whose KV is computed */
    int64_t num_output;   /* output tokens emitted in this attempt */
    int64_t prompt_end;   /* tokens computed before the next output (past the prompt: resumed) */
    int64_t resumed_last_us; /* a resumed request's last token before its preemption */
    int64_t cached_tokens, preemptions;
    int64_t chunk;     /* tokens the step end applies (docs/engine.md); 0 = none */
    int64_t priority;  /* smaller first */
    int64_t queue_key; /* the waiting queue's order under priority and sjf */
    uint64_t order;    /* enqueue sequence: ties in arrival order */
    bool prefilled;    /* the prompt's KV came from another instance */
    /* This attempt's token gaps, to take back out of the histogram if a
     * preemption restarts the request: the current stretch of consecutive
     * steps, and the stretches closed before it. Its last token came at
     * the end of step last_token_step (the step log has that time). */
    int64_t run_from_step, last_token_step;
    struct gap_note *notes;
    size_t num_notes, note_capacity;
    struct seq *next_spare; /* in the instance's spares */
    uint64_t admitted; /* admission sequence: running is in this order */
    /* A quiet request's counters lag: see "quiet decoders" below. */
    bool quiet;
    uint32_t quiet_key; /* its block boundaries come at the quiet steps of this residue */
    int64_t quiet_from; /* quiet_steps when its counters were last brought up to date */
    int64_t quiet_last; /* the quiet step of its last token */
};

struct seq_list {
    struct seq **items;
    size_t count, capacity;
};

/* What one step computes. */
struct batch {
    int64_t prefill_tokens, decode_tokens, size, preempted;
    bool context; /* the latency model reads the pairs and KV tokens: count them */
    int64_t prefill_pairs, decode_pairs, kv_tokens; /* for context-aware latency */
    int64_t reloaded_tokens; /* from the CPU KV tier */
    const struct request *blocked_head; /* NULL: admission was not head-of-line blocked */
};

struct instance {
    int id;
    struct engine_params params;
    bool block_pow2; /* block_size is a power of two: % is a mask */
    struct instance_policy policy;
    uint64_t next_order;
    struct kvcache kv;
    struct gap_histogram gap_histogram;
    struct seq **running; /* admission order */
    size_t num_running;
    struct seq **waiting; /* ring buffer */
    size_t waiting_head, num_waiting, waiting_capacity;
    /* the step in progress */
    bool busy;
    int64_t step_start_us, step_end_us;
    int64_t current_step, next_step; /* step indices, leapt steps included */
    /* Steps [log_first, next_step), at index % log_capacity: back to the
     * oldest stretch of any running request. */
    struct logged_step *log;
    int64_t log_first, log_capacity;
    /* per-class counts of equal gaps in one step */
    int64_t *class_counts;
    uint32_t *touched;
    size_t class_capacity, num_touched;
    uint32_t num_classes; /* class ids in use are below it */
    /* leap scratch: per block phase, the KV events of the leap */
    struct leap_event *leap_events;
    size_t leap_capacity;
    size_t *phase_starts; /* block_size + 1 entries */
    /* running indices, in order, of the requests the step in progress
     * left for its end to apply (their chunk > 0); max_num_seqs entries */
    size_t *at_end;
    size_t num_at_end;
    /* requests gone, kept with their block table and notes arrays for the
     * next ones: a run allocates as many as are ever inside at once */
    struct seq *spare;
    uint64_t next_admitted;
    /* quiet decoders (see below) */
    int64_t quiet_steps;     /* quiet steps so far */
    int64_t last_quiet_step; /* the step index of the last one */
    size_t num_quiet;
    int64_t quiet_offsets;   /* sum of num_computed - quiet_from over quiet requests */
    int64_t *quiet_per_class; /* class_capacity entries */
    /* block_size lists each: quiet requests by the residue (quiet step mod
     * block_size) of their block boundaries, in admission order, and of
     * their last token */
    struct seq_list *boundaries, *finishing;
    bool quiet_allowed; /* off on the reference path (no leaps) */
    bool full_step; /* the step in progress visited every running request */
    struct batch formed; /* formed by instance_step_form, not yet committed */
    struct instance_stats stats;
};

struct logged_step {
    int64_t duration_us, end_us;
};

struct leap_event {
    uint32_t seq_index;
    uint32_t phase;
    bool allocate; /* else commit */
};

static int class_counts_reserve(struct instance *in, uint32_t class_id);

/* tokens % block_size (tokens >= 0), without a division for the usual sizes. */
static inline int64_t
block_offset(const struct instance *in, int64_t tokens)
{
    const int64_t bs = in->params.block_size;
    return in->block_pow2 ? tokens & (bs - 1) : tokens % bs;
}

static int64_t
min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

int
instance_new(const struct engine_params *params, int id, struct instance **out)
{
    struct instance *in = calloc(1, sizeof *in);
    if (!in) return internal_error("out of memory");
    in->id = id;
    in->params = *params;
    in->block_pow2 = (params->block_size & (params->block_size - 1)) == 0;
    gap_histogram_init(&in->gap_histogram);
    in->running = malloc((size_t)params->max_num_seqs * sizeof *in->running);
    in->at_end = malloc((size_t)params->max_num_seqs * sizeof *in->at_end);
    in->phase_starts = malloc(((size_t)params->block_size + 1) * sizeof *in->phase_starts);
    in->boundaries = calloc(2 * (size_t)params->block_size, sizeof *in->boundaries);
    in->finishing = in->boundaries ? in->boundaries + params->block_size : NULL;
    if (!in->running || !in->at_end || !in->phase_starts || !in->boundaries ||
        kvcache_init(&in->kv, params->num_gpu_blocks, (int)params->block_size,
                     params->enable_prefix_caching) != 0) {
        free(in->running);
        free(in->at_end);
        free(in->phase_starts);
        free(in->boundaries);
        free(in);
        return internal_error("out of memory for an engine of %lld KV blocks",
                              (long long)params->num_gpu_blocks);
    }
    if (params->kv_cpu_blocks > 0 && kvcache_enable_offload(&in->kv, params->kv_cpu_blocks)) {
        instance_free(in);
        return ERR_INTERNAL;
    }
    *out = in;
    return 0;
}

static void
seq_free(struct seq *s)
{
    kv_seq_free(&s->kv);
    request_clear(&s->request);
    free(s->notes);
    free(s);
}

/* A cleared request state, recycled when one is spare. */
static struct seq *
seq_new(struct instance *in)
{
    struct seq *s = in->spare;
    if (!s) return calloc(1, sizeof *s);
    in->spare = s->next_spare;
    struct kv_seq kv = s->kv; /* released: only its array is kept */
    struct gap_note *notes = s->notes;
    size_t note_capacity = s->note_capacity;
    memset(s, 0, sizeof *s);
    s->kv.blocks = kv.blocks;
    s->kv.capacity = kv.capacity;
    s->notes = notes;
    s->note_capacity = note_capacity;
    return s;
}

/* Puts away a request state whose blocks are released. */
static void
seq_retire(struct instance *in, struct seq *s)
{
    request_clear(&s->request);
    s->next_spare = in->spare;
    in->spare = s;
}

void
instance_free(struct instance *in)
{
    if (!in) return;
    while (in->spare) {
        struct seq *s = in->spare;
        in->spare = s->next_spare;
        seq_free(s);
    }
    for (size_t i = 0; i < in->num_running; i++) seq_free(in->running[i]);
    for (size_t i = 0; i < in->num_waiting; i++)
        seq_free(in->waiting[(in->waiting_head + i) % in->waiting_capacity]);
    free(in->running);
    free(in->at_end);
    for (int64_t k = 0; in->boundaries && k < 2 * in->params.block_size; k++)
        free(in->boundaries[k].items);
    free(in->boundaries);
    free(in->quiet_per_class);
    free(in->waiting);
    free(in->class_counts);
    free(in->touched);
    free(in->leap_events);
    free(in->phase_starts);
    free(in->log);
    kvcache_free(&in->kv);
    gap_histogram_free(&in->gap_histogram);
    free(in);
}

void
instance_set_policy(struct instance *in, const struct instance_policy *policy)
{
    in->policy = *policy;
}

struct instance_load
instance_load(const struct instance *in)
{
    return (struct instance_load){
        .waiting = (int64_t)in->num_waiting,
        .running = (int64_t)in->num_running,
        .kv_used_blocks = kvcache_used_blocks(&in->kv),
        .kv_total_blocks = in->kv.num_blocks,
    };
}

/* The tokens the prefix-cache signal looks up: the shared prefix, short of the last prompt token. */
static struct kv_tokens
shared_prefix(const struct request *q, int64_t *num_tokens)
{
    *num_tokens = min64(q->prefix_tokens, q->input_tokens - 1);
    return (struct kv_tokens){
        .segments = q->segments,
        .num_segments = q->num_segments,
        .input_tokens = q->input_tokens,
    };
}

int64_t
instance_cached_tokens(const struct instance *in, const struct request *q)
{
    if (q->prefix_tokens == 0 || !in->params.enable_prefix_caching) return 0;
    int64_t shared;
    const struct kv_tokens tokens = shared_prefix(q, &shared);
    return kvcache_lookup(&in->kv, &tokens, shared) * in->params.block_size;
}

int
instance_block_size(const struct instance *in)
{
    return in->params.block_size;
}

int64_t
instance_prefix_hashes(int block_size, const struct request *q, uint64_t *hashes,
                       int64_t capacity)
{
    if (q->prefix_tokens == 0) return 0;
    int64_t shared;
    const struct kv_tokens tokens = shared_prefix(q, &shared);
    return kvcache_hash_blocks(block_size, &tokens, shared, hashes, capacity);
}

int64_t
instance_cached_tokens_hashed(const struct instance *in, const uint64_t *hashes, int64_t count)
{
    if (!in->params.enable_prefix_caching) return 0;
    return kvcache_lookup_hashes(&in->kv, hashes, count) * in->params.block_size;
}

int64_t
instance_queue_delay_us(const struct instance *in, const struct request *request)
{
    return latency_queue_delay_us(&in->params.latency, request->input_tokens);
}

bool
instance_has_work(const struct instance *in)
{
    return in->num_running > 0 || in->num_waiting > 0;
}

bool
instance_busy(const struct instance *in)
{
    return in->busy;
}

const struct gap_histogram *
instance_gaps(const struct instance *in)
{
    return &in->gap_histogram;
}

struct instance_stats
instance_stats(const struct instance *in)
{
    return in->stats;
}

/* ---- waiting queue ---------------------------------------------------- */

static int
waiting_reserve(struct instance *in)
{
    if (in->num_waiting < in->waiting_capacity) return 0;
    size_t capacity = in->waiting_capacity ? 2 * in->waiting_capacity : 64;
    struct seq **ring = malloc(capacity * sizeof *ring);
    if (!ring) return internal_error("out of memory");
    for (size_t i = 0; i < in->num_waiting; i++)
        ring[i] = in->waiting[(in->waiting_head + i) % in->waiting_capacity];
    free(in->waiting);
    in->waiting = ring;
    in->waiting_head = 0;
    in->waiting_capacity = capacity;
    return 0;
}

static struct seq *
waiting_front(const struct instance *in)
{
    return in->waiting[in->waiting_head];
}

static void
waiting_pop_front(struct instance *in)
{
    in->waiting_head = (in->waiting_head + 1) % in->waiting_capacity;
    in->num_waiting--;
}

static struct seq **
waiting_at(const struct instance *in, size_t i)
{
    return &in->waiting[(in->waiting_head + i) % in->waiting_capacity];
}

static bool
queue_before(const struct seq *a, const struct seq *b)
{
    return a->queue_key < b->queue_key || (a->queue_key == b->queue_key && a->order < b->order);
}

/* Under priority and sjf: inserts s in (queue_key, order) order, from the
 * back (arrivals usually go near the end). Room must be reserved. */
static void
waiting_insert_sorted(struct instance *in, struct seq *s)
{
    size_t i = in->num_waiting++;
    while (i > 0 && queue_before(s, *waiting_at(in, i - 1))) {
        *waiting_at(in, i) = *waiting_at(in, i - 1);
        i--;
    }
    *waiting_at(in, i) = s;
}

/* ---- results ---------------------------------------------------------- */

static int
report(const struct instance *in, const struct seq *s, enum request_status status,
       int64_t finish_us, const struct engine_sink *sink)
{
    const struct request *q = &s->request;
    struct request_result r = {
        .id = q->id,
        .instance = in->id,
        .status = status,
        .arrival_us = q->arrival_us,
        .queued_us = s->queued_us,
        .scheduled_us = s->scheduled_us,
        .first_token_us = s->num_output > 0 ? s->first_token_us : TIME_NONE,
        .finish_us = finish_us,
        .input_tokens = q->input_tokens,
        .output_tokens = q->output_tokens,
        .cached_tokens = s->cached_tokens,
        .preemptions = s->preemptions,
        .slo_class = q->slo_class,
        .tenant = q->tenant,
    };
    return sink->result(sink->context, &r);
}

int
instance_enqueue(struct instance *in, struct request *request, int64_t now_us,
                 const struct engine_sink *sink)
{
    return instance_enqueue_with(in, request, now_us, NULL, sink);
}

int
instance_enqueue_with(struct instance *in, struct request *request, int64_t now_us,
                      const struct enqueue_info *info, const struct engine_sink *sink)
{
    struct seq *s = seq_new(in);
    if (!s) return internal_error("out of memory");
    s->request = *request;
    memset(request, 0, sizeof *request);
    s->queued_us = now_us;
    s->scheduled_us = TIME_NONE;
    s->first_token_us = TIME_NONE;
    s->prompt_end = s->request.input_tokens;
    s->order = in->next_order++;
    if (info) {
        s->priority = info->priority;
        if ((s->prefilled = info->prefilled)) {
            s->queued_us = info->queued_us;
            s->scheduled_us = info->scheduled_us;
            s->cached_tokens = info->cached_tokens;
            s->preemptions = info->preemptions;
        }
    }
    const struct request *q = &s->request;
    s->tokens = (struct kv_tokens){
        .segments = q->segments,
        .num_segments = q->num_segments,
        .input_tokens = q->input_tokens,
        .own_stream = XXH3_64bits_withSeed(&q->id, sizeof q->id, 0x5e55u),
    };
    /* The last step computes the KV of every token but the final output
     * (a prefilled request's first decode step computes one more). */
    int64_t peak_tokens = q->input_tokens + q->output_tokens - (s->prefilled ? 0 : 1);
    s->queue_key = in->policy.scheduler == SCHEDULER_SJF ? q->input_tokens + q->output_tokens
                                                         : s->priority;
    if (q->input_tokens + q->output_tokens > in->params.max_model_len ||
        kvcache_blocks_for(&in->kv, peak_tokens) > in->params.num_gpu_blocks) {
        s->queued_us = TIME_NONE;
        int rc = report(in, s, STATUS_DROPPED, TIME_NONE, sink);
        seq_retire(in, s);
        return rc;
    }
    int64_t class_id = gap_histogram_class(&in->gap_histogram, q->slo_class, q->tenant);
    /* room for the peak block table, allocated once */
    if (class_id < 0 || class_counts_reserve(in, (uint32_t)class_id) || waiting_reserve(in) ||
        kv_seq_reserve(&s->kv, kvcache_blocks_for(&in->kv, peak_tokens))) {
        seq_free(s);
        return internal_error("out of memory");
    }
    s->class_id = (uint32_t)class_id;
    if (in->policy.scheduler == SCHEDULER_FCFS)
        in->waiting[(in->waiting_head + in->num_waiting++) % in->waiting_capacity] = s;
    else
        waiting_insert_sorted(in, s);
    return 0;
}

/* ---- token gaps ------------------------------------------------------- */

/* Whether s computes prompt tokens (or, resumed, its outputs' KV) before its next token. */
static bool
in_prefill(const struct seq *s)
{
    return s->num_output == 0 || s->num_computed < s->prompt_end;
}

/* The oldest step whose duration a running request may still need. */
static int64_t
oldest_needed_step(const struct instance *in)
{
    int64_t oldest = in->next_step;
    for (size_t i = 0; i < in->num_running; i++) {
        const struct seq *s = in->running[i];
        if (in_prefill(s)) continue;
        int64_t from = s->num_notes ? s->notes[0].from_step : s->run_from_step;
        if (from < oldest) oldest = from;
    }
    return oldest;
}

/* Appends a step starting at start_us; its index is next_step before the call. */
static int
log_step(struct instance *in, int64_t start_us, int64_t duration_us)
{
    if (in->next_step - in->log_first == in->log_capacity) {
        in->log_first = oldest_needed_step(in);
        if (in->next_step - in->log_first == in->log_capacity) {
            int64_t capacity = in->log_capacity ? 2 * in->log_capacity : 1024;
            struct logged_step *log = malloc((size_t)capacity * sizeof *log);
            if (!log) return internal_error("out of memory");
            for (int64_t j = in->log_first; j < in->next_step; j++)
                log[j % capacity] = in->log[j % in->log_capacity];
            free(in->log);
            in->log = log;
            in->log_capacity = capacity;
        }
    }
    in->log[in->next_step % in->log_capacity] =
        (struct logged_step){duration_us, start_us + duration_us};
    in->next_step++;
    return 0;
}

/* Makes room for class_id in the per-step class counts (done at enqueue,
 * so that counting a token's gap, once per token, cannot fail). */
static int
class_counts_reserve(struct instance *in, uint32_t class_id)
{
    if (class_id >= in->num_classes) in->num_classes = class_id + 1;
    if (class_id < in->class_capacity) return 0;
    size_t capacity = in->class_capacity ? in->class_capacity : 8;
    while (capacity <= class_id) capacity *= 2;
    int64_t *counts = realloc(in->class_counts, capacity * sizeof *counts);
    if (!counts) return internal_error("out of memory");
    in->class_counts = counts;
    uint32_t *touched = realloc(in->touched, capacity * sizeof *touched);
    if (!touched) return internal_error("out of memory");
    in->touched = touched;
    int64_t *quiet = realloc(in->quiet_per_class, capacity * sizeof *quiet);
    if (!quiet) return internal_error("out of memory");
    in->quiet_per_class = quiet;
    memset(counts + in->class_capacity, 0, (capacity - in->class_capacity) * sizeof *counts);
    memset(quiet + in->class_capacity, 0, (capacity - in->class_capacity) * sizeof *quiet);
    in->class_capacity = capacity;
    return 0;
}

/* Counts a gap equal to the step's duration, to be added per class at the
 * step end; class_id was reserved at enqueue. */
static inline void
count_step_gap(struct instance *in, uint32_t class_id, int64_t count)
{
    if (in->class_counts[class_id] == 0) in->touched[in->num_touched++] = class_id;
    in->class_counts[class_id] += count;
}

/* A run of consecutive applied tokens of one class, counted in one call
 * when the class changes (or the step's loop ends). */
struct gap_run {
    uint32_t class_id;
    int64_t count;
};

static inline void
gap_run_add(struct instance *in, struct gap_run *run, uint32_t class_id)
{
    if (class_id != run->class_id && run->count > 0) {
        count_step_gap(in, run->class_id, run->count);
        run->count = 0;
    }
    run->class_id = class_id;
    run->count++;
}

/* Adds the counted gaps, each gap_us long, keeping the counts. */
static int
add_step_gaps(struct instance *in, int64_t gap_us)
{
    for (size_t i = 0; i < in->num_touched; i++) {
        uint32_t c = in->touched[i];
        if (gap_histogram_add(&in->gap_histogram, c, gap_us, in->class_counts[c]))
            return ERR_INTERNAL;
    }
    return 0;
}

static void
clear_step_gaps(struct instance *in)
{
    for (size_t i = 0; i < in->num_touched; i++) in->class_counts[in->touched[i]] = 0;
    in->num_touched = 0;
}

static int
flush_step_gaps(struct instance *in, int64_t gap_us)
{
    int rc = add_step_gaps(in, gap_us);
    clear_step_gaps(in);
    return rc;
}

/* The first token of an attempt, produced by step `step`, opens a stretch. */
static void
first_token(struct seq *s, int64_t step)
{
    s->run_from_step = s->last_token_step = step;
}

/* When s's last token came. */
static int64_t
last_token_us(const struct instance *in, const struct seq *s)
{
    return in->log[s->last_token_step % in->log_capacity].end_us;
}

/*
 * A token of s that does not follow one of the step before closes the
 * current stretch: its gap is noted, to be taken back on preemption.
 */
static int
close_stretch(struct instance *in, struct seq *s, int64_t step, int64_t end_us)
{
    int64_t gap_us = end_us - last_token_us(in, s);
    if (s->num_notes == s->note_capacity) {
        size_t capacity = s->note_capacity ? 2 * s->note_capacity : 4;
        struct gap_note *grown = realloc(s->notes, capacity * sizeof *grown);
        if (!grown) return internal_error("out of memory");
        s->notes = grown;
        s->note_capacity = capacity;
    }
    s->notes[s->num_notes++] = (struct gap_note){s->run_from_step, s->last_token_step, gap_us};
    s->run_from_step = s->last_token_step = step;
    return gap_histogram_add(&in->gap_histogram, s->class_id, gap_us, 1);
}

/*
 * The next token of s, produced by step `step` ending at end_us. After a
 * token of the step before, the gap is that step's duration, counted per
 * class for the whole step; otherwise it closes the stretch.
 */
static inline int
next_token(struct instance *in, struct seq *s, int64_t step, int64_t end_us)
{
    if (s->last_token_step != step - 1) return close_stretch(in, s, step, end_us);
    s->last_token_step = step;
    count_step_gap(in, s->class_id, 1);
    return 0;
}

/* Takes the regular gaps of steps from+1 .. to back out of the histogram. */
static int
forget_stretch(struct instance *in, const struct seq *s, int64_t from, int64_t to)
{
    for (int64_t j = from + 1; j <= to; j++)
        if (gap_histogram_add(&in->gap_histogram, s->class_id,
                              in->log[j % in->log_capacity].duration_us, -1))
            return ERR_INTERNAL;
    return 0;
}

/* Takes every gap of s's current attempt back out of the histogram. */
static int
forget_gaps(struct instance *in, struct seq *s)
{
    if (s->num_output == 0) return 0;
    for (size_t i = 0; i < s->num_notes; i++) {
        const struct gap_note *n = &s->notes[i];
        if (forget_stretch(in, s, n->from_step, n->to_step) ||
            gap_histogram_add(&in->gap_histogram, s->class_id, n->gap_us, -1))
            return ERR_INTERNAL;
    }
    s->num_notes = 0;
    return forget_stretch(in, s, s->run_from_step, s->last_token_step);
}

/* ---- scheduling ------------------------------------------------------- */

/* The prefill chunk of s under the budget (DESIGN §3 step 1). */
static int64_t
prefill_chunk(const struct instance *in, const struct seq *s, int64_t computed, int64_t budget)
{
    int64_t chunk = min64(s->prompt_end - computed, budget);
    if (in->params.long_prefill_token_threshold > 0)
        chunk = min64(chunk, in->params.long_prefill_token_threshold);
    return chunk;
}

/*
 * Recompute preemption: back to the queue front with nothing computed.
 * Restarted (DESIGN §3), the request starts over and its TTFT is measured
 * again; resumed (as vLLM does), it keeps the tokens it has output and
 * recomputes their KV with the prompt's before it outputs the next one.
 */
static int
preempt(struct instance *in, struct seq *s)
{
    kvcache_preempt(&in->kv, &s->kv, &s->tokens);
    if (in->params.preemption_resume) {
        s->prompt_end = s->request.input_tokens + s->num_output;
        if (s->num_output > 0) s->resumed_last_us = last_token_us(in, s);
        s->num_notes = 0; /* its gaps stay counted */
    } else {
        if (forget_gaps(in, s)) return ERR_INTERNAL;
        s->num_output = 0;
        s->first_token_us = TIME_NONE;
    }
    s->num_computed = 0;
    s->chunk = 0;
    s->prefilled = false; /* its KV is gone: recomputed here */
    s->preemptions++;
    in->stats.preemptions++;
    if (waiting_reserve(in)) return ERR_INTERNAL;
    if (in->policy.scheduler != SCHEDULER_FCFS) {
        waiting_insert_sorted(in, s);
        return 0;
    }
    in->waiting_head = (in->waiting_head + in->waiting_capacity - 1) % in->waiting_capacity;
    in->waiting[in->waiting_head] = s;
    in->num_waiting++;
    return 0;
}

/* Adds `chunk` tokens computed after `computed` ones of one request. */
static inline void
batch_add(struct batch *b, int64_t computed, int64_t chunk, bool prefill)
{
    b->size++;
    if (prefill) b->prefill_tokens += chunk;
    else b->decode_tokens += chunk;
    if (!b->context) return;
    int64_t pairs = chunk * computed + chunk * (chunk + 1) / 2;
    b->kv_tokens += computed + chunk;
    if (prefill) b->prefill_pairs += pairs;
    else b->decode_pairs += pairs;
}

static struct batch
batch_new(const struct instance *in)
{
    return (struct batch){.context = !latency_context_free(&in->params.latency)};
}

static struct step_shape
shape_of(const struct batch *b)
{
    return (struct step_shape){
        .prefill_tokens = b->prefill_tokens,
        .decode_tokens = b->decode_tokens,
        .requests = b->size,
        .prefill_pairs = b->prefill_pairs,
        .decode_pairs = b->decode_pairs,
        .kv_tokens = b->kv_tokens,
    };
}

/* The copy of the step's reloaded KV from the CPU tier, charged to the step. */
static int64_t
reload_us(const struct instance *in, const struct batch *b)
{
    if (b->reloaded_tokens == 0) return 0;
    const struct engine_params *p = &in->params;
    return llround(p->kv_cpu_latency_us +
                   (double)b->reloaded_tokens * p->kv_bytes_per_token / p->kv_cpu_bytes_per_us);
}

/* ---- quiet decoders: steps that touch only requests with an event ------- */

/*
 * A decoding request that produced a token in the step before, and is not
 * about to produce its last, is quiet: while every running request is
 * quiet, a step (a quiet step) gives each of them one token and changes
 * nothing else about it, except at three events: a block boundary (it
 * needs a new block), a block filled (its hash is committed), its last
 * token (the step end reports it). So a quiet step visits only the
 * requests with an event in it, in admission order, the order a full
 * step would visit them in. A quiet request meets a block boundary once
 * every block_size quiet steps and fills its block in the quiet step
 * before, so it stays in one of block_size lists, by the residue of its
 * boundaries, which quiet step q merges: list q (boundaries) with list
 * q + 1 (filled blocks), modulo block_size. Last tokens are listed by
 * the residue of their quiet step and picked out when it comes.
 * The others' counters lag: a quiet request has computed num_computed +
 * (quiet_steps - quiet_from) tokens, and output as many more than
 * num_output; per-class counts and the sum of the lags give a quiet
 * step's token gaps and batch shape at once. Any other step (a request
 * in prefill, one that sat out a step, a leap, a possible lack of KV
 * blocks) first brings every counter up to date and makes every request
 * loud again (a full step); its end makes the decoders quiet again.
 */

static inline int
seq_list_push(struct seq_list *l, struct seq *s)
{
    if (l->count == l->capacity) {
        size_t capacity = l->capacity ? 2 * l->capacity : 16;
        struct seq **grown = realloc(l->items, capacity * sizeof *grown);
        if (!grown) return internal_error("out of memory");
        l->items = grown;
        l->capacity = capacity;
    }
    l->items[l->count++] = s;
    return 0;
}

/* Tokens s has computed, and output tokens it has emitted, lag included. */
static int64_t
seq_computed(const struct instance *in, const struct seq *s)
{
    return s->num_computed + (s->quiet ? in->quiet_steps - s->quiet_from : 0);
}

static int64_t
seq_output(const struct instance *in, const struct seq *s)
{
    return s->num_output + (s->quiet ? in->quiet_steps - s->quiet_from : 0);
}

/* Brings a quiet request's counters up to date (it stays quiet). */
static void
catch_up(struct instance *in, struct seq *s)
{
    int64_t lag = in->quiet_steps - s->quiet_from;
    if (lag == 0) return;
    s->num_computed += lag;
    s->num_output += lag;
    s->last_token_step = in->last_quiet_step;
    s->quiet_from = in->quiet_steps;
}

/* Makes s quiet now: it produced a token in the step that just ended. */
static int
make_quiet(struct instance *in, struct seq *s)
{
    s->quiet = true;
    s->quiet_from = in->quiet_steps;
    /* tokens computed at the start of quiet step q: num_computed + q - quiet_from */
    s->quiet_key = (uint32_t)block_offset(
        in, s->quiet_from + in->params.block_size - block_offset(in, s->num_computed));
    s->quiet_last = s->quiet_from + s->request.output_tokens - 1 - s->num_output;
    in->num_quiet++;
    in->quiet_offsets += s->num_computed - s->quiet_from;
    in->quiet_per_class[s->class_id]++;
    if (seq_list_push(&in->boundaries[s->quiet_key], s) ||
        seq_list_push(&in->finishing[block_offset(in, s->quiet_last)], s))
        return ERR_INTERNAL;
    return 0;
}

static bool
may_be_quiet(const struct instance *in, const struct seq *s)
{
    return !s->quiet && !in_prefill(s) && s->last_token_step == in->current_step;
}

/* Takes s out of the quiet ones (its counters up to date; out of its finishing list). */
static void
make_loud(struct instance *in, struct seq *s)
{
    struct seq_list *l = &in->boundaries[s->quiet_key];
    size_t i = 0;
    while (l->items[i] != s) i++;
    memmove(&l->items[i], &l->items[i + 1], (l->count - i - 1) * sizeof *l->items);
    l->count--;
    s->quiet = false;
    in->num_quiet--;
    in->quiet_offsets -= s->num_computed - s->quiet_from;
    in->quiet_per_class[s->class_id]--;
}

/* Before a full step: every counter up to date, nobody quiet. */
static void
make_all_loud(struct instance *in)
{
    if (in->num_quiet == 0) return;
    for (size_t i = 0; i < in->num_running; i++) {
        struct seq *s = in->running[i];
        if (!s->quiet) continue;
        catch_up(in, s);
        s->quiet = false;
    }
    for (int64_t k = 0; k < 2 * in->params.block_size; k++) in->boundaries[k].count = 0;
    memset(in->quiet_per_class, 0, in->num_classes * sizeof *in->quiet_per_class);
    in->num_quiet = 0;
    in->quiet_offsets = 0;
}

/* The index of s in running (which is in admission order). */
static size_t
running_index(const struct instance *in, const struct seq *s)
{
    size_t lo = 0, hi = in->num_running;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (in->running[mid]->admitted <= s->admitted) lo = mid;
        else hi = mid;
    }
    return lo;
}

static void
sort_indices(size_t *items, size_t count)
{
    for (size_t i = 1; i < count; i++) {
        size_t v = items[i], j = i;
        for (; j > 0 && items[j - 1] > v; j--) items[j] = items[j - 1];
        items[j] = v;
    }
}

/*
 * The KV events of quiet step q, in admission order: a new block at a
 * boundary, a hash committed for a filled block (the quiet step before
 * the next boundary; the same step when a block holds one token).
 */
static int
quiet_blocks(struct instance *in, int64_t q)
{
    const bool one_token_blocks = in->params.block_size == 1;
    const struct seq_list *fresh = &in->boundaries[block_offset(in, q)];
    const struct seq_list *filling = &in->boundaries[block_offset(in, q + 1)];
    size_t num_filling = one_token_blocks ? 0 : filling->count;
    for (size_t i = 0, j = 0; i < fresh->count || j < num_filling;) {
        bool boundary = j == num_filling ||
                        (i < fresh->count && fresh->items[i]->admitted < filling->items[j]->admitted);
        struct seq *s = boundary ? fresh->items[i++] : filling->items[j++];
        int64_t tokens = s->num_computed + (q - s->quiet_from) + 1;
        if (boundary && kvcache_allocate(&in->kv, &s->kv, &s->tokens, 0, tokens) != 1)
            return internal_error("KV allocation failed in a quiet step");
        if (!boundary || one_token_blocks) kvcache_commit(&in->kv, &s->kv, &s->tokens, tokens);
    }
    return 0;
}

/*
 * Phase 1 as a quiet step, when every running request is quiet and the
 * budget and the free blocks cover them: returns 1 when it ran, 0 when
 * the step must be a full one (nothing has changed), or ERR_INTERNAL.
 */
static int
quiet_step(struct instance *in, int64_t *budget, struct batch *b)
{
    const int64_t q = in->quiet_steps;
    const int64_t n = (int64_t)in->num_running;
    if (!in->quiet_allowed || n == 0 || in->num_quiet != in->num_running || n > *budget)
        return 0;
    /* each boundary takes one fresh block: none can fail when enough are free */
    const struct seq_list *fresh = &in->boundaries[block_offset(in, q)];
    if ((int64_t)fresh->count > in->kv.num_free) return 0;
    /* the batch as a full step would count it, one decode token each */
    int64_t context = in->quiet_offsets + n * q;
    b->size += n;
    b->decode_tokens += n;
    if (b->context) {
        b->kv_tokens += context + n;
        b->decode_pairs += context + n;
    }
    *budget -= n;
    if (quiet_blocks(in, q)) return ERR_INTERNAL;
    /* last tokens: the step end emits them and reports the requests, in running order */
    struct seq_list *due = &in->finishing[block_offset(in, q)];
    size_t first_at_end = in->num_at_end;
    for (size_t k = 0; k < due->count;) {
        struct seq *s = due->items[k];
        if (s->quiet_last != q) {
            k++;
            continue;
        }
        due->items[k] = due->items[--due->count];
        catch_up(in, s);
        make_loud(in, s);
        s->chunk = 1;
        in->at_end[in->num_at_end++] = running_index(in, s);
    }
    sort_indices(in->at_end + first_at_end, in->num_at_end - first_at_end);
    for (uint32_t c = 0; c < in->num_classes; c++)
        if (in->quiet_per_class[c] > 0) count_step_gap(in, c, in->quiet_per_class[c]);
    in->quiet_steps++;
    in->stats.quiet_steps++;
    in->last_quiet_step = in->next_step;
    return 1;
}

/*
 * Removes the preemption victim from running: the newest, or the
 * lowest-priority among those from index `from` on (not yet scheduled in
 * this step), newest among equals; admission order is kept.
 */
static struct seq *
take_victim(struct instance *in, size_t from)
{
    size_t v = in->num_running - 1;
    if (in->policy.victim == VICTIM_LOWEST_PRIORITY)
        for (size_t j = v; j-- > from;)
            if (in->running[j]->priority > in->running[v]->priority) v = j;
    struct seq *victim = in->running[v];
    memmove(&in->running[v], &in->running[v + 1],
            (in->num_running - v - 1) * sizeof *in->running);
    in->num_running--;
    return victim;
}

/*
 * Makes room in the pool for running[i] to hold `tokens` tokens, preempting
 * victims while the allocation fails: 0 when it holds them, 1 when it was
 * itself preempted, or ERR_INTERNAL.
 */
static int
grow_or_preempt(struct instance *in, size_t i, int64_t tokens, struct batch *b)
{
    struct seq *s = in->running[i];
    while (!kvcache_allocate(&in->kv, &s->kv, &s->tokens, 0, tokens)) {
        struct seq *victim = take_victim(in, i);
        if (preempt(in, victim)) return ERR_INTERNAL;
        b->preempted++;
        if (victim == s) return 1;
    }
    return 0;
}

/*
 * Phase 1: a quiet step when it can be one; else a full step, over the
 * running requests in admission order while the budget lasts. There a
 * decoding request whose token continues its stretch and is not its last
 * has that token applied at once (one touch per step: nothing reads or
 * changes it before the step ends, a preemption victim being one not
 * yet visited); the others are left to the step end.
 */
static int
schedule_running(struct instance *in, int64_t *budget, struct batch *batch)
{
    int quiet = quiet_step(in, budget, batch);
    in->full_step = quiet == 0;
    if (quiet) return quiet < 0 ? quiet : 0;
    make_all_loud(in);
    const int64_t block_size = in->params.block_size, step = in->next_step;
    /* local copies: the stores to requests below cannot alias them */
    struct batch b = *batch;
    int64_t left = *budget;
    /* gaps of applied tokens, counted per run of requests of one class */
    struct gap_run gaps = {0, 0};
    /* the ordinary decode tokens applied: how many, their context */
    int64_t decoded = 0, decoded_context = 0;
    struct seq **running = in->running;
    size_t n = in->num_running; /* read again after a preemption */
    for (size_t i = 0; i < n && left > 0; i++) {
        struct seq *s = running[i];
        /* the common case first: a decode token inside the last block,
         * continuing the stretch, not the last of the request */
        if (s->num_output > 0 && s->num_computed >= s->prompt_end &&
            s->num_computed + 1 < s->kv.num_blocks * block_size &&
            s->last_token_step == step - 1 && s->num_output + 1 < s->request.output_tokens) {
            decoded_context += s->num_computed;
            s->num_computed++;
            s->num_output++;
            s->last_token_step = step;
            left--;
            decoded++;
            gap_run_add(in, &gaps, s->class_id);
            continue;
        }
        bool prefill = in_prefill(s);
        int64_t chunk = prefill ? prefill_chunk(in, s, s->num_computed, left) : 1;
        int64_t tokens = s->num_computed + chunk;
        int64_t held = s->kv.num_blocks * block_size;
        /* most decode steps fit in the last block and fill none: skip the calls */
        if (tokens > held) {
            int rc = grow_or_preempt(in, i, tokens, &b);
            n = in->num_running;
            if (rc < 0) return rc;
            if (rc == 1) {
                /* the newest is the last: nothing after it; a lowest-priority
                 * victim may leave later ones, which now start at index i */
                if (in->policy.victim == VICTIM_NEWEST) break;
                i--;
                continue;
            }
            held = s->kv.num_blocks * block_size;
        }
        /* a running request holds exactly the blocks its tokens need, so
         * the chunk fills its last block when it ends on that block's end */
        if (chunk > 1 || tokens == held) kvcache_commit(&in->kv, &s->kv, &s->tokens, tokens);
        left -= chunk;
        batch_add(&b, s->num_computed, chunk, prefill);
        if (!prefill && s->last_token_step == step - 1 &&
            s->num_output + 1 < s->request.output_tokens) {
            s->num_computed = tokens;
            s->num_output++;
            s->last_token_step = step;
            gap_run_add(in, &gaps, s->class_id);
            continue;
        }
        s->chunk = chunk;
        in->at_end[in->num_at_end++] = i;
    }
    if (gaps.count > 0) count_step_gap(in, gaps.class_id, gaps.count);
    /* as batch_add would count them one by one */
    b.size += decoded;
    b.decode_tokens += decoded;
    if (b.context) {
        b.kv_tokens += decoded_context + decoded;
        b.decode_pairs += decoded_context + decoded;
    }
    *batch = b;
    *budget = left;
    return 0;
}

/* Phase 2: admissions from the queue head (head-of-line when KV is short). */
static void
schedule_waiting(struct instance *in, int64_t now_us, int64_t *budget, struct batch *b)
{
    const int64_t block_size = in->params.block_size;
    while (in->num_waiting > 0 && in->num_running < (size_t)in->params.max_num_seqs &&
           *budget > 0) {
        struct seq *s = waiting_front(in);
        /* vLLM always computes the prompt's last token, so the cache is
         * searched over all but that one. */
        /* blocks past those that the CPU tier holds are reloaded, not recomputed */
        int64_t reloaded = 0;
        int64_t cached_blocks =
            kvcache_lookup_tiers(&in->kv, &s->tokens, s->prompt_end - 1,
                                 in->params.kv_cpu_blocks > 0 && !s->prefilled ? &reloaded : NULL);
        int64_t computed = (cached_blocks + reloaded) * block_size;
        /* a prefilled prompt's KV arrived whole: its first step decodes */
        if (s->prefilled) computed = s->request.input_tokens;
        int64_t chunk = s->prefilled ? 1 : prefill_chunk(in, s, computed, *budget);
        if (!kvcache_allocate(&in->kv, &s->kv, &s->tokens, cached_blocks, computed + chunk)) {
            /* the loop's conditions held: a seat and budget were left, so
             * everything behind the head waits on its KV */
            b->blocked_head = &s->request;
            in->stats.head_of_line_blocked_steps++;
            break;
        }
        kvcache_commit(&in->kv, &s->kv, &s->tokens, computed + chunk);
        waiting_pop_front(in);
        s->num_computed = computed;
        /* a resumed request's hits may reach into its outputs */
        if (!s->prefilled) s->cached_tokens = min64(computed, s->request.input_tokens);
        s->chunk = chunk;
        if (s->scheduled_us == TIME_NONE) s->scheduled_us = now_us;
        s->admitted = in->next_admitted++;
        in->at_end[in->num_at_end++] = in->num_running;
        in->running[in->num_running++] = s;
        *budget -= chunk;
        batch_add(b, computed, chunk, !s->prefilled);
        b->reloaded_tokens += reloaded * block_size;
        in->stats.kv_reloaded_blocks += reloaded;
    }
}

static int
emit_step(const struct instance *in, const struct engine_sink *sink, int64_t start_us,
          int64_t duration_us, const struct batch *b)
{
    if (!sink->step) return 0;
    struct step_record r = {
        .instance = in->id,
        .start_us = start_us,
        .duration_us = duration_us,
        .prefill_tokens = b->prefill_tokens,
        .decode_tokens = b->decode_tokens,
        .batch_size = b->size,
        .waiting = (int64_t)in->num_waiting,
        .kv_used_blocks = kvcache_used_blocks(&in->kv),
        .preempted = b->preempted,
        .blocked_head = b->blocked_head ? b->blocked_head->id : -1,
    };
    return sink->step(sink->context, &r);
}

/* ---- leaps over identical decode steps ---------------------------------- */

/*
 * The first step of a leap: every running request decodes one token. Step
 * j of the leap is the same with every context j tokens longer.
 */
static struct batch
leap_batch(const struct instance *in)
{
    struct batch b = batch_new(in);
    for (size_t i = 0; i < in->num_running; i++)
        batch_add(&b, seq_computed(in, in->running[i]), 1, false);
    return b;
}

/* Step j of a leap: the first with every context j tokens longer. */
static struct batch
leap_step_batch(const struct batch *first, int64_t j)
{
    struct batch b = *first;
    b.decode_pairs += j * b.size;
    b.kv_tokens += j * b.size;
    return b;
}

static int64_t
leap_step_us(const struct instance *in, const struct batch *first, int64_t j)
{
    if (j > 0 && latency_context_free(&in->params.latency)) j = 0;
    struct batch b = leap_step_batch(first, j);
    struct step_shape shape = shape_of(&b);
    return latency_step_us(&in->params.latency, &shape);
}

/*
 * How many pure decode steps can run silently from now: every running
 * request decodes, none finishes, none needs a block that might not be
 * there, nobody can be admitted, and each step ends before horizon.
 */
static int64_t
leap_length(const struct instance *in, int64_t now_us, int64_t horizon_us, struct batch *first)
{
    size_t n = in->num_running;
    if (n == 0 || (int64_t)n > in->params.max_num_batched_tokens) return 0;
    if (in->num_waiting > 0 && n < (size_t)in->params.max_num_seqs) return 0;
    if (horizon_us <= now_us) return 0;
    /* each request needs at most one new block per block_size steps */
    int64_t steps = (int64_t)in->kv.num_free / (int64_t)n * in->params.block_size;
    if (steps < 2) return 0;
    if (latency_context_free(&in->params.latency)) {
        /* every step lasts as long as the first: the horizon may rule a
         * leap out before the requests are looked at */
        struct batch b = batch_new(in);
        b.size = b.decode_tokens = (int64_t)n;
        if ((horizon_us - now_us - 1) / leap_step_us(in, &b, 0) < 2) return 0;
    }
    for (size_t i = 0; i < n; i++) {
        const struct seq *s = in->running[i];
        if (in_prefill(s)) return 0;
        /* the step that emits the last token is an ordinary one */
        steps = min64(steps, s->request.output_tokens - seq_output(in, s) - 1);
    }
    if (steps < 2) return 0;
    *first = leap_batch(in);
    if (latency_context_free(&in->params.latency))
        return min64(steps, (horizon_us - now_us - 1) / leap_step_us(in, first, 0));
    int64_t end_us = now_us;
    for (int64_t j = 0; j < steps; j++) {
        end_us += leap_step_us(in, first, j);
        if (end_us >= horizon_us) return j;
    }
    return steps;
}

static int
leap_events_reserve(struct instance *in, size_t count)
{
    if (count <= in->leap_capacity) return 0;
    struct leap_event *grown = realloc(in->leap_events, count * sizeof *grown);
    if (!grown) return internal_error("out of memory");
    in->leap_events = grown;
    in->leap_capacity = count;
    return 0;
}

/*
 * Runs `steps` decode steps at once; *end_us is where they end. Block
 * allocations and hash registrations happen in exactly the order single
 * steps would make them: by step, then by running order (a request
 * allocates at a block boundary and registers a block when it fills, once
 * every block_size steps). Token gaps are the step durations, counted per
 * class: once for the whole leap when every step lasts the same.
 */
static int
leap(struct instance *in, int64_t now_us, int64_t steps, const struct batch *first,
     const struct engine_sink *sink, int64_t *end_us)
{
    const int64_t bs = in->params.block_size;
    const bool equal_steps = latency_context_free(&in->params.latency);
    size_t n = in->num_running;
    if (leap_events_reserve(in, 4 * n)) return ERR_INTERNAL;
    /* Events of request i in running order, allocation before commit; a
     * stable counting sort by phase keeps that order within a phase. */
    struct leap_event *events = in->leap_events, *sorted = in->leap_events + 2 * n;
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t computed = in->running[i]->num_computed;
        uint32_t allocate_phase = (uint32_t)block_offset(in, bs - block_offset(in, computed));
        uint32_t commit_phase = (uint32_t)block_offset(in, bs - block_offset(in, computed + 1));
        events[count++] = (struct leap_event){(uint32_t)i, allocate_phase, true};
        events[count++] = (struct leap_event){(uint32_t)i, commit_phase, false};
    }
    size_t *starts = in->phase_starts;
    memset(starts, 0, ((size_t)bs + 1) * sizeof *starts);
    for (size_t e = 0; e < count; e++) starts[events[e].phase + 1]++;
    for (int64_t p = 0; p < bs; p++) starts[p + 1] += starts[p];
    for (size_t e = 0; e < count; e++) sorted[starts[events[e].phase]++] = events[e];
    /* starts[p] now ends phase p; shift back to beginnings */
    for (int64_t p = bs; p > 0; p--) starts[p] = starts[p - 1];
    starts[0] = 0;

    int64_t t = now_us, first_us = leap_step_us(in, first, 0);
    for (int64_t j = 0; j < steps; j++) {
        int64_t phase = block_offset(in, j);
        for (size_t e = starts[phase]; e < starts[phase + 1]; e++) {
            const struct leap_event *ev = &sorted[e];
            struct seq *s = in->running[ev->seq_index];
            int64_t tokens = s->num_computed + j + 1;
            if (!ev->allocate) kvcache_commit(&in->kv, &s->kv, &s->tokens, tokens);
            else if (!kvcache_allocate(&in->kv, &s->kv, &s->tokens, 0, tokens))
                return internal_error("KV allocation failed inside a leap");
        }
        struct batch b = leap_step_batch(first, j);
        int64_t step_us = equal_steps ? first_us : leap_step_us(in, first, j);
        if (log_step(in, t, step_us) || emit_step(in, sink, t, step_us, &b)) return ERR_INTERNAL;
        t += step_us;
    }

    int64_t first_step = in->next_step - steps;
    for (size_t i = 0; i < n; i++) {
        struct seq *s = in->running[i];
        if (next_token(in, s, first_step, now_us + first_us)) return ERR_INTERNAL;
        if (equal_steps) count_step_gap(in, s->class_id, steps - 1);
        s->num_computed += steps;
        s->num_output += steps;
        s->last_token_step = in->next_step - 1;
    }
    in->stats.steps += steps;
    in->stats.leaps++;
    in->stats.leapt_steps += steps;
    *end_us = t;
    if (flush_step_gaps(in, first_us)) return ERR_INTERNAL;
    if (equal_steps) return 0;
    /* steps 1.. of the leap: one gap per request, each as long as its step */
    for (size_t i = 0; i < n; i++) count_step_gap(in, in->running[i]->class_id, 1);
    for (int64_t j = 1; j < steps; j++)
        if (add_step_gaps(in, in->log[(first_step + j) % in->log_capacity].duration_us))
            return ERR_INTERNAL;
    clear_step_gaps(in);
    return 0;
}

/*
 * leap() over quiet requests: the steps are quiet steps, each visiting the
 * requests with a block event in it (no last token falls inside a leap),
 * and the counters keep lagging; the token gaps come from the per-class
 * counts of the quiet requests.
 */
static int
quiet_leap(struct instance *in, int64_t now_us, int64_t steps, const struct batch *first,
           const struct engine_sink *sink, int64_t *end_us)
{
    const bool equal_steps = latency_context_free(&in->params.latency);
    int64_t t = now_us, first_us = leap_step_us(in, first, 0), first_step = in->next_step;
    for (int64_t j = 0; j < steps; j++) {
        if (quiet_blocks(in, in->quiet_steps + j)) return ERR_INTERNAL;
        struct batch b = leap_step_batch(first, j);
        int64_t step_us = equal_steps ? first_us : leap_step_us(in, first, j);
        if (log_step(in, t, step_us) || emit_step(in, sink, t, step_us, &b)) return ERR_INTERNAL;
        t += step_us;
    }
    in->quiet_steps += steps;
    in->last_quiet_step = in->next_step - 1;
    in->stats.steps += steps;
    in->stats.leaps++;
    in->stats.leapt_steps += steps;
    *end_us = t;
    for (uint32_t c = 0; c < in->num_classes; c++)
        if (in->quiet_per_class[c] > 0)
            count_step_gap(in, c, in->quiet_per_class[c] * (equal_steps ? steps : 1));
    if (flush_step_gaps(in, first_us)) return ERR_INTERNAL;
    if (equal_steps) return 0;
    /* steps 1.. of the leap: one gap per request, each as long as its step */
    for (uint32_t c = 0; c < in->num_classes; c++)
        if (in->quiet_per_class[c] > 0) count_step_gap(in, c, in->quiet_per_class[c]);
    for (int64_t j = 1; j < steps; j++)
        if (add_step_gaps(in, in->log[(first_step + j) % in->log_capacity].duration_us))
            return ERR_INTERNAL;
    clear_step_gaps(in);
    return 0;
}

/* ---- the step loop ------------------------------------------------------ */

static int form_step(struct instance *in, int64_t now_us, struct step_shape *shape,
                     int64_t *own_us);

int
instance_step_begin(struct instance *in, int64_t now_us, int64_t horizon_us, bool allow_leap,
                    const struct engine_sink *sink, int64_t *end_us)
{
    *end_us = -1;
    if (!instance_has_work(in)) return 0;
    in->quiet_allowed = allow_leap;
    if (allow_leap && in->num_running > 0) {
        struct batch first;
        int64_t steps = leap_length(in, now_us, horizon_us, &first);
        if (steps >= 2 && in->num_quiet == in->num_running) {
            if (quiet_leap(in, now_us, steps, &first, sink, &now_us)) return ERR_INTERNAL;
        } else if (steps >= 2) {
            make_all_loud(in); /* a leap moves every request's counters */
            if (leap(in, now_us, steps, &first, sink, &now_us)) return ERR_INTERNAL;
            /* all decoded in its last step: quiet again */
            for (size_t i = 0; i < in->num_running; i++)
                if (make_quiet(in, in->running[i])) return ERR_INTERNAL;
        }
    }
    struct step_shape shape;
    int64_t own_us;
    int rc = form_step(in, now_us, &shape, &own_us);
    if (rc) return rc;
    return instance_step_commit(in, now_us, latency_step_us(&in->params.latency, &shape) + own_us,
                                sink, end_us);
}

/* Forms the next batch at now into in->formed. */
static int
form_step(struct instance *in, int64_t now_us, struct step_shape *shape, int64_t *own_us)
{
    struct batch b = batch_new(in);
    int64_t budget = in->params.max_num_batched_tokens;
    if (schedule_running(in, &budget, &b)) return ERR_INTERNAL;
    /* vLLM admits nobody in a step that preempted; but when the preemptions
     * emptied the batch, the queue (now headed by them) goes next. */
    if (b.preempted == 0 || b.size == 0) schedule_waiting(in, now_us, &budget, &b);
    if (b.size == 0)
        return internal_error("instance %d: work waiting but nothing could be scheduled",
                              in->id);
    in->formed = b;
    *shape = shape_of(&b);
    *own_us = reload_us(in, &b);
    return 0;
}

int
instance_step_form(struct instance *in, int64_t now_us, struct step_shape *shape,
                   int64_t *own_us)
{
    *shape = (struct step_shape){0};
    *own_us = 0;
    if (!instance_has_work(in)) return 0;
    in->quiet_allowed = false;
    return form_step(in, now_us, shape, own_us);
}

int
instance_step_commit(struct instance *in, int64_t now_us, int64_t step_us,
                     const struct engine_sink *sink, int64_t *end_us)
{
    in->current_step = in->next_step;
    if (log_step(in, now_us, step_us)) return ERR_INTERNAL;
    in->busy = true;
    in->step_start_us = now_us;
    in->step_end_us = now_us + step_us;
    in->stats.steps++;
    if (emit_step(in, sink, now_us, step_us, &in->formed)) return ERR_INTERNAL;
    *end_us = in->step_end_us;
    return 0;
}

/* Emits the tokens of s's scheduled chunk; returns 1 when s is done. */
static inline int
advance(struct instance *in, struct seq *s, int64_t end_us)
{
    bool was_prefill = in_prefill(s);
    s->num_computed += s->chunk;
    s->chunk = 0;
    if (was_prefill) {
        if (s->num_computed < s->prompt_end) return 0;
        if (s->num_output > 0) {
            /* resumed: the gap spans the preemption */
            if (gap_histogram_add(&in->gap_histogram, s->class_id, end_us - s->resumed_last_us, 1))
                return ERR_INTERNAL;
            first_token(s, in->current_step);
            s->num_output++;
            return s->num_output == s->request.output_tokens;
        }
        s->num_output = 1;
        s->first_token_us = end_us + latency_token_delay_us(&in->params.latency);
        first_token(s, in->current_step);
    } else {
        if (next_token(in, s, in->current_step, end_us)) return ERR_INTERNAL;
        s->num_output++;
    }
    return s->num_output == s->request.output_tokens;
}

/* Drops running[done[0..count)] (ascending), keeping the order, a stretch at a time. */
static void
compact_running(struct instance *in, const size_t *done, size_t count)
{
    if (count == 0) return;
    size_t kept = done[0];
    for (size_t d = 0; d < count; d++) {
        size_t from = done[d] + 1, to = d + 1 < count ? done[d + 1] : in->num_running;
        memmove(&in->running[kept], &in->running[from], (to - from) * sizeof *in->running);
        kept += to - from;
    }
    in->num_running = kept;
}

int
instance_step_end(struct instance *in, const struct engine_sink *sink)
{
    int64_t end_us = in->step_end_us, step_us = end_us - in->step_start_us;
    in->busy = false;
    size_t num_done = 0; /* their indices replace the at_end entries already read */
    int rc = 0;
    /* the requests scheduling applied already produced their token, and
     * none of them finishes: only these can */
    for (size_t k = 0; k < in->num_at_end; k++) {
        size_t i = in->at_end[k];
        struct seq *s = in->running[i];
        int done = advance(in, s, end_us);
        if (done < 0) return done;
        if (!done) {
            if (in->quiet_allowed && !in->full_step && may_be_quiet(in, s) && make_quiet(in, s))
                return ERR_INTERNAL;
            continue;
        }
        kvcache_release(&in->kv, &s->kv);
        if (!rc)
            rc = report(in, s, STATUS_OK, end_us + latency_token_delay_us(&in->params.latency),
                        sink);
        seq_retire(in, s);
        in->running[i] = NULL;
        in->at_end[num_done++] = i;
    }
    in->num_at_end = 0;
    sort_indices(in->at_end, num_done);
    compact_running(in, in->at_end, num_done);
    for (size_t i = 0; in->quiet_allowed && in->full_step && i < in->num_running; i++)
        if (may_be_quiet(in, in->running[i]) && make_quiet(in, in->running[i]))
            return ERR_INTERNAL;
    if (!rc) rc = flush_step_gaps(in, step_us);
#ifdef SERVESIM_DEBUG
    if (!rc) rc = instance_check(in);
#endif
    return rc;
}

int
instance_abandon(struct instance *in, const struct engine_sink *sink)
{
    make_all_loud(in);
    int rc = 0;
    for (size_t i = 0; i < in->num_running; i++) {
        struct seq *s = in->running[i];
        kvcache_release(&in->kv, &s->kv);
        if (!rc) rc = report(in, s, STATUS_UNFINISHED, TIME_NONE, sink);
        seq_retire(in, s);
    }
    in->num_running = 0;
    in->num_at_end = 0;
    while (in->num_waiting > 0) {
        struct seq *s = waiting_front(in);
        waiting_pop_front(in);
        if (!rc) rc = report(in, s, STATUS_UNFINISHED, TIME_NONE, sink);
        seq_retire(in, s);
    }
    in->busy = false;
    return rc;
}

int
instance_check(const struct instance *in)
{
    char why[256];
    if (kvcache_check(&in->kv, why, sizeof why) != 0)
        return internal_error("instance %d: KV check failed: %s", in->id, why);
    if (in->num_running > (size_t)in->params.max_num_seqs)
        return internal_error("instance %d: more running than max_num_seqs", in->id);
    /* every block reference is held by a running request, and no more */
    int64_t held = 0, counted = 0;
    for (size_t i = 0; i < in->num_running; i++) {
        const struct seq *s = in->running[i];
        int64_t computed = seq_computed(in, s);
        if (computed >
            s->request.input_tokens + s->request.output_tokens - (s->prefilled ? 0 : 1))
            return internal_error("instance %d: request %lld computed past its end", in->id,
                                  (long long)s->request.id);
        if (s->kv.num_blocks != kvcache_blocks_for(&in->kv, computed))
            return internal_error("instance %d: request %lld holds %lld blocks for %lld tokens",
                                  in->id, (long long)s->request.id, (long long)s->kv.num_blocks,
                                  (long long)computed);
        held += s->kv.num_blocks;
    }
    for (int64_t b = 0; b < in->kv.num_blocks; b++) counted += in->kv.blocks[b].refcount;
    if (oldest_needed_step(in) < in->log_first)
        return internal_error("instance %d: the step log lost steps a request may need",
                              in->id);
    if (held != counted)
        return internal_error("instance %d: requests hold %lld block references, the pool "
                              "counts %lld",
                              in->id, (long long)held, (long long)counted);
    /* every quiet request is listed once, by its boundaries, in admission order */
    size_t listed = 0;
    for (int64_t k = 0; k < in->params.block_size; k++) {
        const struct seq_list *l = &in->boundaries[k];
        for (size_t j = 0; j < l->count; j++)
            if (!l->items[j]->quiet || l->items[j]->quiet_key != (uint32_t)k ||
                (j > 0 && l->items[j - 1]->admitted >= l->items[j]->admitted))
                return internal_error("instance %d: quiet list %lld out of order", in->id,
                                      (long long)k);
        listed += l->count;
    }
    if (listed != in->num_quiet)
        return internal_error("instance %d: %zu quiet requests listed, %zu counted", in->id,
                              listed, in->num_quiet);
    for (size_t i = 0; i < in->num_waiting; i++) {
        const struct seq *s = in->waiting[(in->waiting_head + i) % in->waiting_capacity];
        if (s->kv.num_blocks != 0)
            return internal_error("instance %d: waiting request %lld holds blocks", in->id,
                                  (long long)s->request.id);
    }
    return 0;
}
