/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_kvcache: the KV block pool's contract, one test per law. Each test
 * names the bug it catches and how it was checked to fail with that bug
 * put back into lib/model/kvcache.c.
 */
#include "check.h"

#include "model/kvcache.h"

#include <stdbool.h>
#include <string.h>

enum { BS = 16 };

#define STREAM_SHARED UINT64_C(0x5348415245440001)
#define STREAM_OTHER UINT64_C(0x4f54484552000002)
#define STREAM_THIRD UINT64_C(0x5448495244000003)

#define CHECK_KV(kv)                                                                               \
    do {                                                                                           \
        char check_why_[256] = "";                                                                 \
        int check_rc_ = kvcache_check((kv), check_why_, sizeof check_why_);                        \
        if (check_rc_) printf("# kvcache_check: %s\n", check_why_);                                \
        CHECK(check_rc_ == 0);                                                                     \
    } while (0)

static struct kv_tokens
tokens_of(const struct prefix_segment *segments, size_t num_segments, int64_t input_tokens,
          uint64_t own_stream)
{
    return (struct kv_tokens){segments, num_segments, input_tokens, own_stream};
}

/* A request whose whole prompt (and so its output) is one shared stream:
 * every block it fills is registered at commit. */
static struct kv_tokens
all_shared(struct prefix_segment *segment, uint64_t stream, int64_t input_tokens)
{
    *segment = (struct prefix_segment){stream, input_tokens};
    return tokens_of(segment, 1, input_tokens, stream ^ 1);
}

/* Admits a request as the engine does: look up, allocate, commit. */
static int
admit(struct kvcache *kv, struct kv_seq *seq, const struct kv_tokens *t, int64_t num_tokens)
{
    int rc = kvcache_allocate(kv, seq, t, kvcache_lookup(kv, t, num_tokens), num_tokens);
    if (rc == 1) kvcache_commit(kv, seq, t, num_tokens);
    return rc;
}

/* Grows a running sequence to num_tokens and hashes what became full. */
static int
extend(struct kvcache *kv, struct kv_seq *seq, const struct kv_tokens *t, int64_t num_tokens)
{
    int rc = kvcache_allocate(kv, seq, t, 0, num_tokens);
    if (rc == 1) kvcache_commit(kv, seq, t, num_tokens);
    return rc;
}

/*
 * Bug: hashing with offsets relative to the prefill chunk, so a prompt
 * computed in chunks caches blocks that no other request can ever match.
 * Checked: making commit hash offsets relative to the chunk start
 * (p - num_hashed_blocks * bs) makes the hashes differ from block 1 on
 * and the second request's lookup find 1 block instead of 9.
 */
TEST(kv_hash_uses_absolute_offsets_in_chunked_prefill)
{
    struct prefix_segment shared = {STREAM_SHARED, 150};
    struct kv_tokens a = tokens_of(&shared, 1, 200, 0xa);
    struct kvcache chunked, whole;
    struct kv_seq in_chunks, at_once;
    CHECK_EQ(kvcache_init(&chunked, 64, BS, true), 0);
    CHECK_EQ(kvcache_init(&whole, 64, BS, true), 0);
    kv_seq_init(&in_chunks);
    kv_seq_init(&at_once);

    const int64_t chunk_ends[] = {24, 74, 200};
    for (size_t i = 0; i < sizeof chunk_ends / sizeof *chunk_ends; i++)
        CHECK_EQ(extend(&chunked, &in_chunks, &a, chunk_ends[i]), 1);
    CHECK_EQ(extend(&whole, &at_once, &a, 200), 1);

    /* blocks 0..8 are shared and registered at commit; 9..11 hold a's own
     * tokens and are registered only if a is preempted */
    CHECK_EQ(in_chunks.num_full_blocks, 200 / BS);
    CHECK_EQ(at_once.num_full_blocks, 200 / BS);
    CHECK_EQ(in_chunks.num_hashed_blocks, 150 / BS);
    CHECK_EQ(at_once.num_hashed_blocks, 150 / BS);
    CHECK(in_chunks.last_hash == at_once.last_hash);
    int32_t chunked_ids[200 / BS], whole_ids[200 / BS];
    memcpy(chunked_ids, in_chunks.blocks, sizeof chunked_ids);
    memcpy(whole_ids, at_once.blocks, sizeof whole_ids);

    struct kv_tokens b = tokens_of(&shared, 1, 170, 0xb);
    CHECK_EQ(kvcache_lookup(&chunked, &b, 170), 150 / BS);
    kvcache_preempt(&chunked, &in_chunks, &a);
    kvcache_preempt(&whole, &at_once, &a);
    for (int64_t k = 0; k < 200 / BS; k++) {
        int32_t x = chunked_ids[k], y = whole_ids[k];
        CHECK(chunked.blocks[x].has_hash && whole.blocks[y].has_hash);
        CHECK(chunked.blocks[x].hash == whole.blocks[y].hash);
    }
    CHECK_EQ(kvcache_lookup(&chunked, &a, 200), 200 / BS);
    CHECK_EQ(kvcache_lookup(&chunked, &b, 170), 150 / BS);
    CHECK_KV(&chunked);
    kv_seq_free(&in_chunks);
    kv_seq_free(&at_once);
    kvcache_free(&chunked);
    kvcache_free(&whole);
}

/*
 * Bug: filling a partial block allocates or hashes a block too many.
 * Checked: blocks_for as num_tokens / bs + 1 gives 3 blocks for 20
 * tokens; commit rounding up (ceil(num_tokens / bs)) hashes 2 blocks at
 * commit(30).
 */
TEST(kv_partial_block_fill_advances_exactly)
{
    struct prefix_segment whole;
    struct kv_tokens t = all_shared(&whole, STREAM_OTHER, 64);
    struct kvcache kv;
    struct kv_seq seq;
    CHECK_EQ(kvcache_init(&kv, 16, BS, true), 0);
    kv_seq_init(&seq);

    CHECK_EQ(kvcache_allocate(&kv, &seq, &t, 0, 20), 1);
    CHECK_EQ(seq.num_blocks, 2);
    CHECK_EQ(kvcache_allocate(&kv, &seq, &t, 0, 30), 1);
    CHECK_EQ(seq.num_blocks, 2);
    kvcache_commit(&kv, &seq, &t, 30);
    CHECK_EQ(seq.num_hashed_blocks, 1);
    CHECK_EQ(kv.table_count, 1);
    CHECK_EQ(kvcache_allocate(&kv, &seq, &t, 0, 32), 1);
    CHECK_EQ(seq.num_blocks, 2);
    kvcache_commit(&kv, &seq, &t, 32);
    CHECK_EQ(seq.num_hashed_blocks, 2);
    CHECK_EQ(kv.table_count, 2);
    CHECK_EQ(kvcache_allocate(&kv, &seq, &t, 0, 33), 1);
    CHECK_EQ(seq.num_blocks, 3);
    CHECK_EQ(kvcache_used_blocks(&kv), 3);
    CHECK_KV(&kv);

    kvcache_release(&kv, &seq);
    kv_seq_free(&seq);
    kvcache_free(&kv);
}

/*
 * Bug: a decode step asking for more than its one token (a look-ahead
 * block, or the whole output). Checked: allocate computing its need as
 * blocks_for(num_tokens + 1) takes each new block one token early (at
 * token 48, not 49): both the block count and the num_free drop fail.
 */
TEST(kv_decode_asks_one_token)
{
    struct prefix_segment whole;
    struct kv_tokens t = all_shared(&whole, STREAM_OTHER, 40);
    struct kvcache kv;
    struct kv_seq seq;
    CHECK_EQ(kvcache_init(&kv, 32, BS, true), 0);
    kv_seq_init(&seq);
    CHECK_EQ(extend(&kv, &seq, &t, 40), 1);
    for (int64_t tokens = 41; tokens <= 200; tokens++) {
        int64_t free_before = kv.num_free;
        CHECK_EQ(extend(&kv, &seq, &t, tokens), 1);
        CHECK_EQ(seq.num_blocks, (tokens + BS - 1) / BS);
        CHECK_EQ(free_before - kv.num_free, (tokens - 1) % BS == 0 ? 1 : 0);
        CHECK_EQ(seq.num_hashed_blocks, tokens / BS);
    }
    CHECK_KV(&kv);
    kvcache_release(&kv, &seq);
    kv_seq_free(&seq);
    kvcache_free(&kv);
}

/* Everything an allocation could touch, copied. */
struct kv_snapshot {
    struct kvcache kv;
    struct kv_seq seq;
    struct kv_block *pool;
    int32_t *blocks;
    struct kv_slot *table;
    int32_t *ring; /* the free list */
};

static void *
copy_of(const void *p, size_t size)
{
    void *q = malloc(size ? size : 1);
    if (size) memcpy(q, p, size);
    return q;
}

static void
snapshot_take(struct kv_snapshot *s, const struct kvcache *kv, const struct kv_seq *seq)
{
    size_t n = (size_t)kv->num_blocks;
    s->kv = *kv;
    s->seq = *seq;
    s->pool = copy_of(kv->blocks, n * sizeof *kv->blocks);
    s->table = copy_of(kv->table, (kv->table_mask + 1) * sizeof *kv->table);
    s->ring = copy_of(kv->ring, ((size_t)kv->ring_mask + 1) * sizeof *kv->ring);
    s->blocks = copy_of(seq->blocks, (size_t)seq->num_blocks * sizeof *seq->blocks);
}

static bool
snapshot_matches(const struct kv_snapshot *s, const struct kvcache *kv, const struct kv_seq *seq)
{
    size_t n = (size_t)kv->num_blocks;
    bool same = kv->num_free == s->kv.num_free && kv->ring_head == s->kv.ring_head &&
                kv->ring_tail == s->kv.ring_tail && kv->table_count == s->kv.table_count &&
                !memcmp(&kv->stats, &s->kv.stats, sizeof kv->stats) &&
                !memcmp(kv->blocks, s->pool, n * sizeof *kv->blocks);
    for (uint64_t i = 0; i <= kv->table_mask; i++)
        same = same && kv->table[i].block == s->table[i].block &&
               (kv->table[i].block < 0 || kv->table[i].hash == s->table[i].hash);
    for (uint32_t p = kv->ring_head; same && p != kv->ring_tail; p++)
        same = kv->ring[p & kv->ring_mask] == s->ring[p & kv->ring_mask];
    return same && seq->blocks == s->seq.blocks && seq->num_blocks == s->seq.num_blocks &&
           seq->capacity == s->seq.capacity && seq->num_hashed_blocks == s->seq.num_hashed_blocks &&
           seq->last_hash == s->seq.last_hash &&
           (seq->num_blocks == 0 ||
            !memcmp(seq->blocks, s->blocks, (size_t)seq->num_blocks * sizeof *seq->blocks));
}

static void
snapshot_free(struct kv_snapshot *s)
{
    free(s->pool);
    free(s->table);
    free(s->ring);
    free(s->blocks);
}

/*
 * Bug: an allocation that does not fit but has already taken its cached
 * blocks (refcount + 1, off the free list) or fresh ones, leaking them.
 * Checked: taking the cached blocks before the capacity check (and
 * returning 0 after it) makes the snapshot differ; so does bumping
 * stats before the check.
 */
TEST(kv_failed_allocation_changes_nothing)
{
    struct prefix_segment shared = {STREAM_SHARED, 64};
    struct kv_tokens a = tokens_of(&shared, 1, 64, 0xa);
    struct kv_tokens b = tokens_of(&shared, 1, 112, 0xb);
    struct kv_tokens c = tokens_of(NULL, 0, 48, 0xc);
    struct kvcache kv;
    struct kv_seq seq_a, seq_b, seq_c;
    CHECK_EQ(kvcache_init(&kv, 8, BS, true), 0);
    kv_seq_init(&seq_a);
    kv_seq_init(&seq_b);
    kv_seq_init(&seq_c);

    /* a's 4 hashed blocks wait on the free list; c holds 3 of the rest: 5 free */
    CHECK_EQ(admit(&kv, &seq_a, &a, 64), 1);
    kvcache_release(&kv, &seq_a);
    CHECK_EQ(admit(&kv, &seq_c, &c, 48), 1);
    CHECK_EQ(kv.num_free, 5);

    /* b needs 4 cached blocks (all at refcount 0) + 3 fresh = 7 > 5 */
    int64_t cached = kvcache_lookup(&kv, &b, 112);
    CHECK_EQ(cached, 4);
    struct kv_snapshot before;
    snapshot_take(&before, &kv, &seq_b);
    CHECK_EQ(kvcache_allocate(&kv, &seq_b, &b, cached, 112), 0);
    CHECK(snapshot_matches(&before, &kv, &seq_b));
    snapshot_free(&before);

    /* a running sequence that cannot grow keeps its blocks as they were */
    snapshot_take(&before, &kv, &seq_c);
    CHECK_EQ(kvcache_allocate(&kv, &seq_c, &c, 0, 48 + 6 * BS), 0);
    CHECK(snapshot_matches(&before, &kv, &seq_c));
    snapshot_free(&before);
    CHECK_KV(&kv);

    kvcache_release(&kv, &seq_c);
    kv_seq_free(&seq_a);
    kv_seq_free(&seq_b);
    kv_seq_free(&seq_c);
    kvcache_free(&kv);
}

/*
 * Bug: counting cached blocks that are already in use against the free
 * blocks, so a request sharing a running request's prefix is refused.
 * Checked: replacing the exact count of free cached blocks by all of
 * them makes the allocation return 0.
 */
TEST(kv_cached_blocks_in_use_need_no_free_block)
{
    struct prefix_segment shared = {STREAM_SHARED, 64};
    struct kv_tokens a = tokens_of(&shared, 1, 64, 0xa);
    struct kv_tokens b = tokens_of(&shared, 1, 80, 0xb);
    struct kv_tokens c = tokens_of(NULL, 0, 48, 0xc);
    struct kvcache kv;
    struct kv_seq seq_a, seq_b, seq_c;
    CHECK_EQ(kvcache_init(&kv, 8, BS, true), 0);
    kv_seq_init(&seq_a);
    kv_seq_init(&seq_b);
    kv_seq_init(&seq_c);
    CHECK_EQ(admit(&kv, &seq_a, &a, 64), 1);
    CHECK_EQ(admit(&kv, &seq_c, &c, 48), 1);
    CHECK_EQ(kv.num_free, 1);

    CHECK_EQ(admit(&kv, &seq_b, &b, 80), 1);
    CHECK_EQ(kv.num_free, 0);
    for (int64_t i = 0; i < 4 && i < seq_b.num_blocks; i++) {
        CHECK_EQ(seq_b.blocks[i], seq_a.blocks[i]);
        CHECK_EQ(kv.blocks[seq_b.blocks[i]].refcount, 2);
    }
    CHECK_KV(&kv);

    kvcache_release(&kv, &seq_a);
    kvcache_release(&kv, &seq_b);
    kvcache_release(&kv, &seq_c);
    CHECK_EQ(kv.num_free, 8);
    CHECK_KV(&kv);
    kv_seq_free(&seq_a);
    kv_seq_free(&seq_b);
    kv_seq_free(&seq_c);
    kvcache_free(&kv);
}

/* splitmix64: the script's own deterministic generator. */
static uint64_t
next_random(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static int64_t
random_below(uint64_t *state, int64_t n)
{
    return (int64_t)(next_random(state) % (uint64_t)n);
}

enum { SCRIPT_REQUESTS = 12, SCRIPT_BLOCKS = 48 };

struct script_request {
    struct prefix_segment segments[2];
    struct kv_tokens t;
    int64_t total_tokens, done_tokens;
    bool running;
    struct kv_seq seq;
};

static void
script_new_request(struct script_request *r, uint64_t *state, uint64_t own_stream)
{
    size_t n = 1 + (size_t)random_below(state, 2);
    int64_t prompt = 0;
    for (size_t k = 0; k < n; k++) {
        r->segments[k].stream = (uint64_t)(k * 10 + 1 + (size_t)random_below(state, 3));
        r->segments[k].length = 1 + random_below(state, 80);
        prompt += r->segments[k].length;
    }
    prompt += random_below(state, 3) ? random_below(state, 50) : 0;
    r->t = tokens_of(r->segments, n, prompt, own_stream);
    r->total_tokens = prompt + 1 + random_below(state, 60);
    r->done_tokens = 0;
    r->running = false;
}

/* The block references the sequences hold, recounted against refcount. */
static bool
refcounts_match(const struct kvcache *kv, const struct script_request *r)
{
    int32_t held[SCRIPT_BLOCKS] = {0};
    for (int i = 0; i < SCRIPT_REQUESTS; i++)
        for (int64_t b = 0; b < r[i].seq.num_blocks; b++)
            held[r[i].seq.blocks[b]]++;
    for (int b = 0; b < SCRIPT_BLOCKS; b++)
        if (held[b] != kv->blocks[b].refcount) return false;
    return true;
}

/* One step of the engine for request r: admit, advance, finish or preempt. */
static void
script_step(struct kvcache *kv, struct script_request *r, uint64_t *state, int64_t *expect_hit,
            int64_t *expect_miss, uint64_t *own_streams)
{
    if (!r->running) {
        int64_t input = r->t.input_tokens;
        int64_t cached = kvcache_lookup(kv, &r->t, input);
        if (cached * BS >= input) cached = (input - 1) / BS; /* the last token is computed */
        int64_t tokens = cached * BS + 1 + random_below(state, 64);
        if (tokens > input) tokens = input;
        if (kvcache_allocate(kv, &r->seq, &r->t, cached, tokens) != 1) return;
        kvcache_commit(kv, &r->seq, &r->t, tokens);
        r->running = true;
        r->done_tokens = tokens;
        *expect_hit += cached;
        *expect_miss += input / BS > cached ? input / BS - cached : 0;
    } else if (r->done_tokens == r->total_tokens || random_below(state, 16) == 0) {
        kvcache_release(kv, &r->seq);
        if (r->done_tokens == r->total_tokens) script_new_request(r, state, ++*own_streams);
        r->running = false;
    } else {
        int64_t left = r->t.input_tokens - r->done_tokens;
        int64_t step = left > 0 ? 1 + random_below(state, left < 64 ? left : 64) : 1;
        if (extend(kv, &r->seq, &r->t, r->done_tokens + step) == 1) {
            r->done_tokens += step;
        } else {
            kvcache_preempt(kv, &r->seq, &r->t); /* recomputed later */
            r->running = false;
        }
    }
}

/*
 * Bug: a block handed out twice or lost, so the pool over-commits; also
 * the hash table losing entries when others are deleted. Checked: taking
 * a cached block off the free list even when it is in use (refcount > 0)
 * stops the script after operation 2 ("free block 5 has refcount 1");
 * letting the capacity check pass one block too many aborts it under
 * ASan (popping an empty free list); deleting table entries without the
 * backward shift stops it after operation 66 ("block 23 has a hash the
 * table does not map to it").
 */
TEST(kv_capacity_never_exceeded)
{
    struct kvcache kv;
    struct script_request requests[SCRIPT_REQUESTS];
    uint64_t state = 20240611, own_streams = 1000;
    int64_t expect_hit = 0, expect_miss = 0;
    CHECK_EQ(kvcache_init(&kv, SCRIPT_BLOCKS, BS, true), 0);
    for (int i = 0; i < SCRIPT_REQUESTS; i++) {
        kv_seq_init(&requests[i].seq);
        script_new_request(&requests[i], &state, ++own_streams);
    }
    char why[256] = "";
    int op = 0;
    for (; op < 20000; op++) {
        struct script_request *r = &requests[random_below(&state, SCRIPT_REQUESTS)];
        script_step(&kv, r, &state, &expect_hit, &expect_miss, &own_streams);
        int64_t used = kvcache_used_blocks(&kv);
        if (used > kv.num_blocks || used + kv.num_free != kv.num_blocks)
            snprintf(why, sizeof why, "used %" PRId64 ", free %" PRId64, used, kv.num_free);
        else if (kvcache_check(&kv, why, sizeof why) == 0 && !refcounts_match(&kv, requests))
            snprintf(why, sizeof why, "refcounts differ from the block tables");
        if (why[0]) break;
    }
    if (why[0]) printf("# after operation %d: %s\n", op, why);
    CHECK(why[0] == '\0');
    CHECK_EQ(kv.stats.hit_blocks, expect_hit);
    CHECK_EQ(kv.stats.miss_blocks, expect_miss);
    /* the script must have exercised sharing, eviction and refusal */
    CHECK(kv.stats.hit_blocks > 0);
    CHECK(kv.stats.evictions > 0);
    for (int i = 0; i < SCRIPT_REQUESTS; i++) {
        kvcache_release(&kv, &requests[i].seq);
        kv_seq_free(&requests[i].seq);
    }
    CHECK_EQ(kv.num_free, kv.num_blocks);
    CHECK_KV(&kv);
    kvcache_free(&kv);
}

/*
 * Bug: reusing a cached block without dropping its hash, so lookups hand
 * out a block that now holds other tokens, or eviction not counted.
 * Checked: removing the table_remove() call from the fresh-block path
 * makes lookup still find 4 blocks of a and kvcache_check report a
 * table entry whose block lost its hash; dropping the evictions++ fails
 * the counter checks.
 */
TEST(kv_eviction_returns_block_and_counters_match_recount)
{
    struct prefix_segment whole_a, whole_b;
    struct kv_tokens a = all_shared(&whole_a, STREAM_SHARED, 64);
    struct kv_tokens b = all_shared(&whole_b, STREAM_OTHER, 128);
    struct kvcache kv;
    struct kv_seq seq_a, seq_b;
    CHECK_EQ(kvcache_init(&kv, 8, BS, true), 0);
    kv_seq_init(&seq_a);
    kv_seq_init(&seq_b);
    CHECK_EQ(admit(&kv, &seq_a, &a, 64), 1);
    kvcache_release(&kv, &seq_a);
    CHECK_EQ(kvcache_lookup(&kv, &a, 64), 4);
    CHECK_EQ(kv.table_count, 4);

    /* 4 clean blocks first, then a's blocks from its last one */
    CHECK_EQ(kvcache_allocate(&kv, &seq_b, &b, 0, 4 * BS), 1);
    CHECK_EQ(kv.stats.evictions, 0);
    CHECK_EQ(kvcache_allocate(&kv, &seq_b, &b, 0, 5 * BS), 1);
    CHECK_EQ(kv.stats.evictions, 1);
    CHECK_EQ(kvcache_lookup(&kv, &a, 64), 3);
    CHECK_EQ(kvcache_allocate(&kv, &seq_b, &b, 0, 8 * BS), 1);
    CHECK_EQ(kv.stats.evictions, 4);
    CHECK_EQ(kvcache_lookup(&kv, &a, 64), 0);
    CHECK_EQ(kv.table_count, 0);
    CHECK_EQ(kv.num_free, 0);
    CHECK_KV(&kv);

    kvcache_release(&kv, &seq_b);
    CHECK_EQ(kv.num_free, 8);
    CHECK_EQ(kvcache_used_blocks(&kv), 0);
    CHECK_KV(&kv);
    kv_seq_free(&seq_a);
    kv_seq_free(&seq_b);
    kvcache_free(&kv);
}

/*
 * Known answer: a 100-token shared segment holds 6 full blocks of 16.
 * Bug: shared tokens hashed with the request's own identity (no sharing),
 * or hits/misses counted in tokens. Checked: giving every position the
 * own_stream identity makes the lookup return 0; counting hit_blocks in
 * tokens (cached * bs) fails the stats checks.
 */
TEST(kv_prefix_hit_known_answer)
{
    struct prefix_segment shared = {STREAM_SHARED, 100};
    struct kv_tokens a = tokens_of(&shared, 1, 150, 0xa);
    struct kv_tokens b = tokens_of(&shared, 1, 130, 0xb);
    struct kvcache kv;
    struct kv_seq seq_a, seq_b;
    CHECK_EQ(kvcache_init(&kv, 32, BS, true), 0);
    kv_seq_init(&seq_a);
    kv_seq_init(&seq_b);
    CHECK_EQ(admit(&kv, &seq_a, &a, 150), 1);
    CHECK_EQ(kv.stats.miss_blocks, 150 / BS);

    CHECK_EQ(kvcache_lookup(&kv, &b, 130), 6);
    CHECK_EQ(admit(&kv, &seq_b, &b, 130), 1);
    CHECK_EQ(kv.stats.hit_blocks, 6);
    CHECK_EQ(kv.stats.miss_blocks, 150 / BS + 130 / BS - 6);
    CHECK_EQ(seq_b.num_full_blocks, 130 / BS);
    CHECK_EQ(seq_b.num_hashed_blocks, 6); /* blocks 6, 7 hold b's own tokens */
    for (int64_t i = 0; i < 6; i++)
        CHECK_EQ(seq_b.blocks[i], seq_a.blocks[i]);
    CHECK(seq_b.blocks[6] != seq_a.blocks[6]);
    CHECK_KV(&kv);
    kvcache_release(&kv, &seq_a);
    kvcache_release(&kv, &seq_b);
    kvcache_free(&kv);

    CHECK_EQ(kvcache_init(&kv, 32, BS, false), 0);
    CHECK_EQ(admit(&kv, &seq_a, &a, 150), 1);
    CHECK_EQ(kvcache_lookup(&kv, &b, 130), 0);
    CHECK_EQ(seq_a.num_hashed_blocks, 0);
    CHECK_EQ(kv.table_count, 0);
    kvcache_release(&kv, &seq_a);
    kv_seq_free(&seq_a);
    kv_seq_free(&seq_b);
    kvcache_free(&kv);
}

/*
 * Bug: preemption dropping the hashes of the request's own blocks, so a
 * preempted request recomputes its whole prompt. Checked: making
 * kvcache_preempt a plain kvcache_release (private blocks unregistered)
 * makes the lookup return 0.
 */
TEST(kv_preempted_request_rehits_own_blocks)
{
    struct kv_tokens a = tokens_of(NULL, 0, 100, 0xa);
    struct kvcache kv;
    struct kv_seq seq;
    CHECK_EQ(kvcache_init(&kv, 16, BS, true), 0);
    kv_seq_init(&seq);
    CHECK_EQ(admit(&kv, &seq, &a, 100), 1);
    for (int64_t tokens = 101; tokens <= 110; tokens++)
        CHECK_EQ(extend(&kv, &seq, &a, tokens), 1);
    int32_t first_blocks[6];
    memcpy(first_blocks, seq.blocks, sizeof first_blocks);
    kvcache_preempt(&kv, &seq, &a);
    CHECK_EQ(seq.num_blocks, 0);
    CHECK_EQ(kv.num_free, 16);

    CHECK_EQ(kvcache_lookup(&kv, &a, 100), 100 / BS);
    CHECK_EQ(admit(&kv, &seq, &a, 100), 1);
    for (int64_t i = 0; i < 6; i++)
        CHECK_EQ(seq.blocks[i], first_blocks[i]);
    CHECK_EQ(kv.stats.hit_blocks, 6);
    CHECK_KV(&kv);
    kvcache_release(&kv, &seq);
    kv_seq_free(&seq);
    kvcache_free(&kv);
}

/*
 * A finished request's own blocks can never be asked for again, so they
 * are freed without entering the hash table, while its shared blocks
 * stay cached. Bug: registering private blocks at commit (every decode
 * block an insert and later an eviction). Checked: making commit
 * register every full block leaves table_count at 7, not 2.
 */
TEST(kv_finished_private_blocks_are_not_registered)
{
    struct prefix_segment shared = {STREAM_SHARED, 40};
    struct kv_tokens a = tokens_of(&shared, 1, 100, 0xa);
    struct kvcache kv;
    struct kv_seq seq;
    CHECK_EQ(kvcache_init(&kv, 16, BS, true), 0);
    kv_seq_init(&seq);
    CHECK_EQ(admit(&kv, &seq, &a, 100), 1);
    CHECK_EQ(extend(&kv, &seq, &a, 120), 1);
    CHECK_EQ(seq.num_full_blocks, 7);
    CHECK_EQ(seq.num_hashed_blocks, 2);
    CHECK_EQ(kv.table_count, 2);
    kvcache_release(&kv, &seq);
    CHECK_EQ(kv.table_count, 2);
    CHECK_EQ(kvcache_lookup(&kv, &a, 99), 2);
    CHECK_KV(&kv);
    kv_seq_free(&seq);
    kvcache_free(&kv);
}

/*
 * Bug: output tokens of a request whose prompt is entirely a shared
 * stream hashed as its own, so the next round of the conversation
 * (the same stream, longer) misses them. Checked: treating the last
 * segment as closed (output on own_stream) makes the lookup return 2
 * instead of 5.
 */
TEST(kv_output_continues_last_segment_stream)
{
    struct prefix_segment round1 = {STREAM_SHARED, 40}, round2 = {STREAM_SHARED, 80};
    struct kv_tokens a = tokens_of(&round1, 1, 40, 0xa);
    struct kv_tokens b = tokens_of(&round2, 1, 100, 0xb);
    struct kvcache kv;
    struct kv_seq seq;
    CHECK_EQ(kvcache_init(&kv, 16, BS, true), 0);
    kv_seq_init(&seq);
    CHECK_EQ(admit(&kv, &seq, &a, 40), 1);
    for (int64_t tokens = 41; tokens <= 80; tokens++)
        CHECK_EQ(extend(&kv, &seq, &a, tokens), 1);
    CHECK_EQ(kvcache_lookup(&kv, &b, 100), 80 / BS);
    kvcache_release(&kv, &seq);
    kvcache_free(&kv);

    /* a prompt with tokens of its own after the segment: its output is its own too */
    struct prefix_segment partial = {STREAM_SHARED, 30};
    struct kv_tokens c = tokens_of(&partial, 1, 40, 0xc);
    CHECK_EQ(kvcache_init(&kv, 16, BS, true), 0);
    CHECK_EQ(admit(&kv, &seq, &c, 40), 1);
    for (int64_t tokens = 41; tokens <= 80; tokens++)
        CHECK_EQ(extend(&kv, &seq, &c, tokens), 1);
    CHECK_EQ(kvcache_lookup(&kv, &b, 100), 1);
    kvcache_release(&kv, &seq);
    kv_seq_free(&seq);
    kvcache_free(&kv);
}

/*
 * Bug: the wrong end of the free list, evicting recently freed blocks or
 * a sequence's first blocks before its last. Checked: releasing in
 * block-table order fails the free-list order and makes lookup(a) 0
 * after the first fresh block; allocating from the tail takes b's first
 * block instead of a's last.
 */
TEST(kv_lru_evicts_oldest_and_sequence_tail_first)
{
    struct prefix_segment whole_a, whole_b, whole_c;
    struct kv_tokens a = all_shared(&whole_a, STREAM_SHARED, 48);
    struct kv_tokens b = all_shared(&whole_b, STREAM_OTHER, 48);
    struct kv_tokens c = all_shared(&whole_c, STREAM_THIRD, 96);
    struct kvcache kv;
    struct kv_seq seq_a, seq_b, seq_c;
    CHECK_EQ(kvcache_init(&kv, 6, BS, true), 0);
    kv_seq_init(&seq_a);
    kv_seq_init(&seq_b);
    kv_seq_init(&seq_c);
    CHECK_EQ(admit(&kv, &seq_a, &a, 48), 1); /* blocks 0 1 2 */
    CHECK_EQ(admit(&kv, &seq_b, &b, 48), 1); /* blocks 3 4 5 */
    kvcache_release(&kv, &seq_a);
    kvcache_release(&kv, &seq_b);

    const int32_t expected_order[] = {2, 1, 0, 5, 4, 3};
    size_t listed = 0;
    for (uint32_t p = kv.ring_head; p != kv.ring_tail; p++) {
        int32_t id = kv.ring[p & kv.ring_mask];
        if (id < 0) continue; /* a hole left by a cache hit */
        CHECK(listed < 6);
        if (listed < 6) CHECK_EQ(id, expected_order[listed]);
        listed++;
    }
    CHECK_EQ(listed, 6);

    CHECK_EQ(kvcache_allocate(&kv, &seq_c, &c, 0, 1 * BS), 1);
    CHECK_EQ(seq_c.blocks[0], 2);
    CHECK_EQ(kvcache_lookup(&kv, &a, 48), 2);
    CHECK_EQ(kvcache_lookup(&kv, &b, 48), 3);
    CHECK_EQ(kvcache_allocate(&kv, &seq_c, &c, 0, 3 * BS), 1);
    CHECK_EQ(kvcache_lookup(&kv, &a, 48), 0);
    CHECK_EQ(kvcache_lookup(&kv, &b, 48), 3);
    CHECK_EQ(kvcache_allocate(&kv, &seq_c, &c, 0, 4 * BS), 1);
    CHECK_EQ(kvcache_lookup(&kv, &b, 48), 2);
    CHECK_KV(&kv);

    kvcache_release(&kv, &seq_c);
    kv_seq_free(&seq_a);
    kv_seq_free(&seq_b);
    kv_seq_free(&seq_c);
    kvcache_free(&kv);
}

/*
 * Two requests computing the same blocks at once: the second copy stays
 * unregistered, but its chain must still advance so its later blocks
 * hash as the content they hold. Checked: skipping the last_hash update
 * for a duplicate block chains b's blocks 1..3 on a stale value, so they
 * register as new content (table_count 7, not 4) and last_hash differs.
 */
TEST(kv_duplicate_content_registers_once_and_chain_advances)
{
    struct prefix_segment shared = {STREAM_SHARED, 64}, longer = {STREAM_SHARED, 200};
    struct kv_tokens a = tokens_of(&shared, 1, 64, 0xa);
    struct kv_tokens b = tokens_of(&shared, 1, 64, 0xb);
    struct kv_tokens c = tokens_of(&longer, 1, 200, 0xc);
    struct kvcache kv;
    struct kv_seq seq_a, seq_b;
    CHECK_EQ(kvcache_init(&kv, 16, BS, true), 0);
    kv_seq_init(&seq_a);
    kv_seq_init(&seq_b);
    CHECK_EQ(kvcache_allocate(&kv, &seq_a, &a, 0, 64), 1);
    CHECK_EQ(kvcache_allocate(&kv, &seq_b, &b, 0, 64), 1);
    kvcache_commit(&kv, &seq_a, &a, 64);
    kvcache_commit(&kv, &seq_b, &b, 64);
    CHECK_EQ(kv.table_count, 4);
    CHECK(seq_a.last_hash == seq_b.last_hash);
    for (int64_t i = 0; i < 4; i++)
        CHECK(!kv.blocks[seq_b.blocks[i]].has_hash);
    CHECK_KV(&kv);

    /* b's output continues the stream in a block only b holds */
    for (int64_t tokens = 65; tokens <= 80; tokens++)
        CHECK_EQ(extend(&kv, &seq_b, &b, tokens), 1);
    CHECK(kv.blocks[seq_b.blocks[4]].has_hash);
    CHECK_EQ(kvcache_lookup(&kv, &c, 200), 5);
    CHECK_KV(&kv);

    kvcache_release(&kv, &seq_a);
    kvcache_release(&kv, &seq_b);
    kv_seq_free(&seq_a);
    kv_seq_free(&seq_b);
    kvcache_free(&kv);
}

/*
 * The CPU tier keeps at most its capacity of hashes and drops the least
 * recently offloaded first; offloading a hash again refreshes it. With
 * capacity 2: put 1, 2, then 1 again (refreshed), then 3 drops 2, not 1.
 * Checked: without the refresh (a second put only returning), 1 is
 * dropped instead and the test fails.
 */
TEST(kv_offload_keeps_the_most_recent_blocks)
{
    struct kv_offload o;
    CHECK_EQ(kv_offload_init(&o, 2), 0);
    kv_offload_put(&o, 1);
    kv_offload_put(&o, 2);
    kv_offload_put(&o, 1);
    kv_offload_put(&o, 3);
    CHECK(kv_offload_has(&o, 1));
    CHECK(!kv_offload_has(&o, 2));
    CHECK(kv_offload_has(&o, 3));
    CHECK_EQ(o.count, 2);
    CHECK_EQ(o.dropped, 1);
    /* many more than fit: only the last two remain, and chains stay consistent */
    for (uint64_t h = 100; h < 10100; h++) kv_offload_put(&o, h);
    CHECK(kv_offload_has(&o, 10098) && kv_offload_has(&o, 10099));
    CHECK(!kv_offload_has(&o, 10097) && !kv_offload_has(&o, 3));
    kv_offload_free(&o);
}

/*
 * Bug: precomputed hashes that differ from the ones the pool registered
 * (say, a chain not seeded from the previous block), so a router probing
 * many pools with one hash computation sees no hits. Checked: seeding
 * every block with 0 in kvcache_hash_blocks makes the 2-block probe 1.
 */
TEST(kv_lookup_from_hashes_matches_lookup)
{
    struct prefix_segment segments[2] = {{STREAM_SHARED, 40}, {STREAM_OTHER, 40}};
    struct kv_tokens a = tokens_of(segments, 2, 100, 0xa);
    struct kv_tokens b = tokens_of(segments, 1, 100, 0xb); /* shares the first 40 only */
    struct kvcache warm, cold, off;
    struct kv_seq seq;
    CHECK_EQ(kvcache_init(&warm, 16, BS, true), 0);
    CHECK_EQ(kvcache_init(&cold, 16, BS, true), 0);
    CHECK_EQ(kvcache_init(&off, 16, BS, false), 0);
    kv_seq_init(&seq);
    CHECK_EQ(admit(&warm, &seq, &a, 100), 1); /* registers blocks 0..4 of a */
    kvcache_release(&warm, &seq);

    uint64_t hashes[8];
    /* 80 tokens: 5 full blocks; b's third block mixes streams, so b hits 2 */
    CHECK_EQ(kvcache_hash_blocks(BS, &a, 80, hashes, 8), 5);
    CHECK_EQ(kvcache_lookup_hashes(&warm, hashes, 5), 5);
    CHECK_EQ(kvcache_lookup_hashes(&warm, hashes, 5), kvcache_lookup(&warm, &a, 80));
    CHECK_EQ(kvcache_lookup_hashes(&cold, hashes, 5), 0);
    CHECK_EQ(kvcache_lookup_hashes(&off, hashes, 5), 0);
    CHECK_EQ(kvcache_hash_blocks(BS, &b, 80, hashes, 8), 5);
    CHECK_EQ(kvcache_lookup_hashes(&warm, hashes, 5), 2);
    CHECK_EQ(kvcache_lookup(&warm, &b, 80), 2);
    /* capacity bounds what is written; a partial block gets no hash */
    CHECK_EQ(kvcache_hash_blocks(BS, &a, 80, hashes, 3), 3);
    CHECK_EQ(kvcache_hash_blocks(BS, &a, 47, hashes, 8), 2);
    CHECK_EQ(kvcache_lookup_hashes(&warm, hashes, 2), 2);

    kv_seq_free(&seq);
    kvcache_free(&warm);
    kvcache_free(&cold);
    kvcache_free(&off);
}

int
main(void)
{
    RUN(kv_hash_uses_absolute_offsets_in_chunked_prefill);
    RUN(kv_partial_block_fill_advances_exactly);
    RUN(kv_decode_asks_one_token);
    RUN(kv_failed_allocation_changes_nothing);
    RUN(kv_cached_blocks_in_use_need_no_free_block);
    RUN(kv_capacity_never_exceeded);
    RUN(kv_eviction_returns_block_and_counters_match_recount);
    RUN(kv_prefix_hit_known_answer);
    RUN(kv_preempted_request_rehits_own_blocks);
    RUN(kv_finished_private_blocks_are_not_registered);
    RUN(kv_output_continues_last_segment_stream);
    RUN(kv_lru_evicts_oldest_and_sequence_tail_first);
    RUN(kv_duplicate_content_registers_once_and_chain_advances);
    RUN(kv_offload_keeps_the_most_recent_blocks);
    RUN(kv_lookup_from_hashes_matches_lookup);
    return check_done();
}
