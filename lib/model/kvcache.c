/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "model/kvcache.h"

#include "core/error.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <xxhash.h>

/* ---- token identity and block hashes ---- */

/*
 * Walks the identity regions of a request's tokens: region k < num_segments
 * is segment k, region num_segments is the request's own tokens. It only
 * moves forward, so hashing blocks in order costs O(segments + blocks).
 */
struct kv_cursor {
    const struct kv_tokens *tokens;
    size_t region;
    int64_t start;     /* first position of the region */
    bool last_is_open; /* segments cover the prompt: the last one never ends */
};

static void
cursor_init(struct kv_cursor *c, const struct kv_tokens *t)
{
    int64_t covered = 0;
    for (size_t k = 0; k < t->num_segments; k++)
        covered += t->segments[k].length;
    *c = (struct kv_cursor){t, 0, 0, t->num_segments > 0 && covered == t->input_tokens};
}

static int64_t
region_end(const struct kv_cursor *c)
{
    size_t n = c->tokens->num_segments;
    if (c->region == n || (c->last_is_open && c->region + 1 == n)) return INT64_MAX;
    return c->start + c->tokens->segments[c->region].length;
}

static uint64_t
block_hash(struct kv_cursor *c, int block_size, int64_t block, uint64_t prev_hash)
{
    const struct kv_tokens *t = c->tokens;
    int64_t p = block * block_size, block_end = p + block_size;
    uint64_t h = prev_hash;
    while (p < block_end) {
        int64_t end;
        while ((end = region_end(c)) <= p) {
            c->start = end;
            c->region++;
        }
        if (end > block_end) end = block_end;
        bool own = c->region == t->num_segments;
        uint64_t run[3] = {own ? t->own_stream : t->segments[c->region].stream,
                           (uint64_t)(own ? p : p - c->start), (uint64_t)(end - p)};
        h = XXH3_64bits_withSeed(run, sizeof run, h);
        p = end;
    }
    return h;
}

/* ---- hash table: hash -> block id ---- */

/* The slot holding hash, or the empty slot where it would go. */
static uint64_t
table_slot(const struct kvcache *kv, uint64_t hash)
{
    uint64_t i = hash & kv->table_mask;
    while (kv->table[i].block >= 0 && kv->table[i].hash != hash)
        i = (i + 1) & kv->table_mask;
    return i;
}

static int32_t
table_find(const struct kvcache *kv, uint64_t hash)
{
    return kv->table[table_slot(kv, hash)].block;
}

/* Backward-shift deletion: linear probing needs no tombstones. */
static void
table_remove(struct kvcache *kv, uint64_t slot)
{
    uint64_t mask = kv->table_mask, hole = slot;
    for (uint64_t j = (slot + 1) & mask; kv->table[j].block >= 0; j = (j + 1) & mask) {
        uint64_t home = kv->table[j].hash & mask;
        if (((j - home) & mask) >= ((j - hole) & mask)) {
            kv->table[hole] = kv->table[j];
            hole = j;
        }
    }
    kv->table[hole].block = -1;
    kv->table_count--;
}

/* ---- free list ---- */

/* Takes a block off the list from the middle: its slot becomes a hole. */
static void
free_list_remove(struct kvcache *kv, int32_t id)
{
    kv->ring[kv->blocks[id].ring_pos & kv->ring_mask] = -1;
    kv->num_free--;
}

/* Moves the live entries of a full ring together, in order, from its head. */
static void
free_list_compact(struct kvcache *kv)
{
    uint32_t mask = kv->ring_mask, to = kv->ring_head;
    for (uint32_t p = kv->ring_head; p != kv->ring_tail; p++) {
        int32_t id = kv->ring[p & mask];
        if (id < 0) continue;
        kv->ring[to & mask] = id;
        kv->blocks[id].ring_pos = to++;
    }
    kv->ring_tail = to;
}

static inline void
free_list_append(struct kvcache *kv, int32_t id)
{
    /* the ring holds twice the pool: a full one is at least half holes */
    if (kv->ring_tail - kv->ring_head == kv->ring_mask + 1) free_list_compact(kv);
    kv->ring[kv->ring_tail & kv->ring_mask] = id;
    kv->blocks[id].ring_pos = kv->ring_tail++;
    kv->num_free++;
}

/* How far ahead of the head blocks are fetched into the cache. */
#define FETCH_AHEAD 16

/* ---- lifecycle ---- */

int
kvcache_init(struct kvcache *kv, int64_t num_blocks, int block_size, bool prefix_caching)
{
    if (num_blocks < 1 || num_blocks > INT32_MAX || block_size < 1)
        return internal_error("kvcache: bad pool size %" PRId64 " x %d", num_blocks, block_size);
    uint64_t slots = 2;
    while (slots < 2 * (uint64_t)num_blocks)
        slots *= 2;
    size_t n = (size_t)num_blocks;
    if (slots > (uint64_t)1 << 31)
        return internal_error("kvcache: pool of %" PRId64 " blocks too large", num_blocks);
    *kv = (struct kvcache){.num_blocks = num_blocks,
                           .block_size = block_size,
                           .prefix_caching = prefix_caching,
                           .blocks = calloc(n, sizeof *kv->blocks),
                           .ring = malloc(slots * sizeof *kv->ring),
                           .ring_mask = (uint32_t)(slots - 1),
                           .table = malloc(slots * sizeof *kv->table),
                           .table_mask = slots - 1};
    if (!kv->blocks || !kv->ring || !kv->table) {
        kvcache_free(kv);
        return internal_error("out of memory");
    }
    for (uint64_t i = 0; i < slots; i++)
        kv->table[i].block = -1;
    for (int32_t id = 0; id < num_blocks; id++)
        free_list_append(kv, id);
    return 0;
}

void
kvcache_free(struct kvcache *kv)
{
    free(kv->blocks);
    free(kv->ring);
    free(kv->table);
    kv_offload_free(&kv->offload);
    *kv = (struct kvcache){0};
}

void
kv_seq_init(struct kv_seq *seq)
{
    *seq = (struct kv_seq){0};
}

void
kv_seq_free(struct kv_seq *seq)
{
    free(seq->blocks);
    kv_seq_init(seq);
}

int
kv_seq_reserve(struct kv_seq *seq, int64_t num_blocks)
{
    if (num_blocks <= seq->capacity) return 0;
    int64_t capacity = seq->capacity < 8 ? 8 : 2 * seq->capacity;
    if (capacity < num_blocks) capacity = num_blocks;
    int32_t *grown = realloc(seq->blocks, (size_t)capacity * sizeof *grown);
    if (!grown) return internal_error("out of memory");
    seq->blocks = grown;
    seq->capacity = capacity;
    return 0;
}

/* ---- operations ---- */

int64_t
kvcache_blocks_for(const struct kvcache *kv, int64_t num_tokens)
{
    return (num_tokens + kv->block_size - 1) / kv->block_size;
}

int64_t
kvcache_used_blocks(const struct kvcache *kv)
{
    return kv->num_blocks - kv->num_free;
}

int64_t
kvcache_lookup(const struct kvcache *kv, const struct kv_tokens *t, int64_t num_tokens)
{
    return kvcache_lookup_tiers(kv, t, num_tokens, NULL);
}

int64_t
kvcache_lookup_tiers(const struct kvcache *kv, const struct kv_tokens *t, int64_t num_tokens,
                     int64_t *offloaded)
{
    if (offloaded) *offloaded = 0;
    if (!kv->prefix_caching) return 0;
    /* nothing cached on either tier: every block misses (without hashing
     * and probing an empty table, which costs a cache miss) */
    if (kv->table_count == 0 && (!offloaded || kv->offload.count == 0)) return 0;
    struct kv_cursor c;
    cursor_init(&c, t);
    int64_t full = num_tokens / kv->block_size, b = 0;
    uint64_t h = 0;
    for (; b < full; b++) {
        h = block_hash(&c, kv->block_size, b, h);
        if (table_find(kv, h) < 0) break;
    }
    /* the chain goes on through the CPU tier from the first GPU miss */
    if (!offloaded || kv->offload.capacity == 0 || b == full) return b;
    int64_t gpu = b;
    while (kv_offload_has(&kv->offload, h) && ++b < full) h = block_hash(&c, kv->block_size, b, h);
    *offloaded = b - gpu;
    return gpu;
}

int
kvcache_enable_offload(struct kvcache *kv, int64_t blocks)
{
    return kv_offload_init(&kv->offload, blocks);
}

int64_t
kvcache_hash_blocks(int block_size, const struct kv_tokens *t, int64_t num_tokens,
                    uint64_t *hashes, int64_t capacity)
{
    struct kv_cursor c;
    cursor_init(&c, t);
    int64_t full = num_tokens / block_size;
    if (full > capacity) full = capacity;
    uint64_t h = 0;
    for (int64_t b = 0; b < full; b++) hashes[b] = h = block_hash(&c, block_size, b, h);
    return full < 0 ? 0 : full;
}

int64_t
kvcache_lookup_hashes(const struct kvcache *kv, const uint64_t *hashes, int64_t count)
{
    if (!kv->prefix_caching) return 0;
    int64_t b = 0;
    while (b < count && table_find(kv, hashes[b]) >= 0) b++;
    return b;
}

/* How many of the first n cached blocks of t sit on the free list. */
static int64_t
cached_blocks_free(const struct kvcache *kv, const struct kv_tokens *t, int64_t n)
{
    struct kv_cursor c;
    cursor_init(&c, t);
    int64_t count = 0;
    uint64_t h = 0;
    for (int64_t b = 0; b < n; b++) {
        h = block_hash(&c, kv->block_size, b, h);
        count += kv->blocks[table_find(kv, h)].refcount == 0;
    }
    return count;
}

static void
take_cached_blocks(struct kvcache *kv, struct kv_seq *seq, const struct kv_tokens *t, int64_t n)
{
    struct kv_cursor c;
    cursor_init(&c, t);
    for (int64_t b = 0; b < n; b++) {
        seq->last_hash = block_hash(&c, kv->block_size, b, seq->last_hash);
        int32_t id = table_find(kv, seq->last_hash);
        if (kv->blocks[id].refcount++ == 0) free_list_remove(kv, id);
        seq->blocks[b] = id;
    }
    seq->num_blocks = seq->num_hashed_blocks = seq->num_full_blocks = n;
}

/* A free block taken for new content forgets the hash it kept. */
static void
evict(struct kvcache *kv, int32_t id)
{
    table_remove(kv, table_slot(kv, kv->blocks[id].hash));
    kv->blocks[id].has_hash = false;
    kv->stats.evictions++;
    if (kv->offload.capacity > 0) kv_offload_put(&kv->offload, kv->blocks[id].hash);
}

/* Takes count blocks from the head of the free list (count <= num_free)
 * into out, each at refcount 1, fetching the ones after them ahead. */
static void
take_fresh_blocks(struct kvcache *kv, int32_t *out, int64_t count)
{
    struct kv_block *blocks = kv->blocks;
    const int32_t *ring = kv->ring;
    uint32_t mask = kv->ring_mask, head = kv->ring_head, tail = kv->ring_tail;
    for (int64_t k = 0; k < count; k++) {
        int32_t id;
        while ((id = ring[head++ & mask]) < 0) continue;
        if (tail - head > FETCH_AHEAD) {
            int32_t ahead = ring[(head + FETCH_AHEAD) & mask];
            if (ahead >= 0) __builtin_prefetch(&blocks[ahead], 1);
        }
        if (blocks[id].has_hash) evict(kv, id);
        blocks[id].refcount = 1;
        out[k] = id;
    }
    kv->ring_head = head;
    kv->num_free -= count;
}

int
kvcache_allocate(struct kvcache *kv, struct kv_seq *seq, const struct kv_tokens *t,
                 int64_t num_cached_blocks, int64_t num_tokens)
{
    int64_t need = kvcache_blocks_for(kv, num_tokens);
    if (need <= seq->num_blocks) return 1;
    /* the common call: a decoding request crossing a block boundary */
    if (need == seq->num_blocks + 1 && seq->num_blocks > 0 && need <= seq->capacity) {
        if (kv->num_free == 0) return 0;
        const int32_t *ring = kv->ring;
        uint32_t mask = kv->ring_mask, head = kv->ring_head;
        int32_t id;
        while ((id = ring[head++ & mask]) < 0) continue;
        if (kv->ring_tail - head > FETCH_AHEAD) {
            int32_t ahead = ring[(head + FETCH_AHEAD) & mask];
            if (ahead >= 0) __builtin_prefetch(&kv->blocks[ahead], 1);
        }
        kv->ring_head = head;
        kv->num_free--;
        if (kv->blocks[id].has_hash) evict(kv, id);
        kv->blocks[id].refcount = 1;
        seq->blocks[seq->num_blocks++] = id;
        return 1;
    }
    bool admission = seq->num_blocks == 0;
    int64_t cached = admission ? num_cached_blocks : 0;
    int64_t fresh = need - seq->num_blocks - cached;
    /* Cached blocks already in use cost nothing; count them only when it matters. */
    if (fresh + cached > kv->num_free && fresh + cached_blocks_free(kv, t, cached) > kv->num_free)
        return 0;
    if (kv_seq_reserve(seq, need) < 0) return ERR_INTERNAL;
    /* Cached blocks first, so that taking fresh ones cannot evict them. */
    if (cached > 0) take_cached_blocks(kv, seq, t, cached);
    take_fresh_blocks(kv, seq->blocks + seq->num_blocks, need - seq->num_blocks);
    seq->num_blocks = need;
    if (admission) {
        int64_t prompt_blocks = t->input_tokens / kv->block_size;
        kv->stats.hit_blocks += cached;
        if (prompt_blocks > cached) kv->stats.miss_blocks += prompt_blocks - cached;
    }
    return 1;
}

/* Blocks before this one hold shared content only (see "Private blocks"). */
static int64_t
shared_blocks(const struct kvcache *kv, const struct kv_tokens *t)
{
    int64_t covered = 0;
    for (size_t k = 0; k < t->num_segments; k++)
        covered += t->segments[k].length;
    if (t->num_segments > 0 && covered == t->input_tokens) return INT64_MAX;
    return covered / kv->block_size;
}

/* Registers blocks [seq->num_hashed_blocks, end) of seq, continuing the chain. */
static void
register_blocks(struct kvcache *kv, struct kv_seq *seq, const struct kv_tokens *t, int64_t end)
{
    struct kv_cursor c;
    cursor_init(&c, t);
    for (int64_t b = seq->num_hashed_blocks; b < end; b++) {
        uint64_t h = block_hash(&c, kv->block_size, b, seq->last_hash);
        uint64_t slot = table_slot(kv, h);
        seq->last_hash = h;
        if (kv->table[slot].block >= 0) continue; /* the same content is cached elsewhere */
        int32_t id = seq->blocks[b];
        kv->table[slot] = (struct kv_slot){h, id};
        kv->table_count++;
        kv->blocks[id].hash = h;
        kv->blocks[id].has_hash = true;
    }
    if (end > seq->num_hashed_blocks) seq->num_hashed_blocks = end;
}

void
kvcache_commit(struct kvcache *kv, struct kv_seq *seq, const struct kv_tokens *t,
               int64_t num_tokens)
{
    int64_t full = num_tokens / kv->block_size;
    if (!kv->prefix_caching || full <= seq->num_full_blocks) return;
    seq->num_full_blocks = full;
    int64_t shared = shared_blocks(kv, t);
    register_blocks(kv, seq, t, full < shared ? full : shared);
}

void
kvcache_release(struct kvcache *kv, struct kv_seq *seq)
{
    struct kv_block *blocks = kv->blocks;
    const int32_t *table = seq->blocks;
    /* room for every block at once: one compaction check, not one per block */
    if (kv->ring_tail - kv->ring_head + (uint64_t)seq->num_blocks > (uint64_t)kv->ring_mask + 1)
        free_list_compact(kv);
    int32_t *ring = kv->ring;
    uint32_t mask = kv->ring_mask, tail = kv->ring_tail;
    for (int64_t i = seq->num_blocks; i-- > 0;) {
        if (i >= FETCH_AHEAD) __builtin_prefetch(&blocks[table[i - FETCH_AHEAD]], 1);
        int32_t id = table[i];
        if (--blocks[id].refcount > 0) continue;
        ring[tail & mask] = id;
        blocks[id].ring_pos = tail++;
    }
    kv->num_free += tail - kv->ring_tail;
    kv->ring_tail = tail;
    seq->num_blocks = seq->num_hashed_blocks = seq->num_full_blocks = 0;
    seq->last_hash = 0;
}

void
kvcache_preempt(struct kvcache *kv, struct kv_seq *seq, const struct kv_tokens *t)
{
    if (kv->prefix_caching) register_blocks(kv, seq, t, seq->num_full_blocks);
    kvcache_release(kv, seq);
}

/* ---- recount ---- */

static int fail(char *why, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
fail(char *why, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, size, fmt, ap);
    va_end(ap);
    return -1;
}

static int
check_free_list(const struct kvcache *kv, char *why, size_t size)
{
    if (kv->ring_tail - kv->ring_head > kv->ring_mask + 1)
        return fail(why, size, "free ring spans %" PRIu32 " positions, it has %" PRIu32,
                    kv->ring_tail - kv->ring_head, kv->ring_mask + 1);
    int64_t listed = 0;
    for (uint32_t p = kv->ring_head; p != kv->ring_tail; p++) {
        int32_t id = kv->ring[p & kv->ring_mask];
        if (id < 0) continue;
        if (id >= kv->num_blocks)
            return fail(why, size, "free ring holds block %" PRId32 ", beyond the pool", id);
        /* a block listed twice would fail this at one of its positions */
        if (kv->blocks[id].ring_pos != p)
            return fail(why, size, "free block %" PRId32 " is listed at %" PRIu32
                        ", its position says %" PRIu32, id, p, kv->blocks[id].ring_pos);
        if (kv->blocks[id].refcount != 0)
            return fail(why, size, "free block %" PRId32 " has refcount %" PRId32, id,
                        kv->blocks[id].refcount);
        listed++;
    }
    if (listed != kv->num_free)
        return fail(why, size, "free list holds %" PRId64 " blocks, num_free is %" PRId64, listed,
                    kv->num_free);
    int64_t unreferenced = 0;
    for (int32_t id = 0; id < kv->num_blocks; id++) {
        if (kv->blocks[id].refcount < 0)
            return fail(why, size, "block %" PRId32 " has refcount %" PRId32, id, kv->blocks[id].refcount);
        unreferenced += kv->blocks[id].refcount == 0;
    }
    if (unreferenced != kv->num_free)
        return fail(why, size, "%" PRId64 " blocks at refcount 0, num_free is %" PRId64,
                    unreferenced, kv->num_free);
    return 0;
}

static int
check_table(const struct kvcache *kv, char *why, size_t size)
{
    int64_t entries = 0, registered = 0;
    for (uint64_t i = 0; i <= kv->table_mask; i++) {
        int32_t id = kv->table[i].block;
        if (id < 0) continue;
        entries++;
        if (id >= kv->num_blocks || !kv->blocks[id].has_hash || kv->blocks[id].hash != kv->table[i].hash)
            return fail(why, size,
                        "table slot %" PRIu64 " names block %" PRId32
                        ", which does not hold that hash",
                        i, id);
    }
    /* more entries than blocks could leave no empty slot to end a probe */
    if (entries != kv->table_count || entries > kv->num_blocks)
        return fail(why, size, "table holds %" PRId64 " entries, table_count is %" PRId64, entries,
                    kv->table_count);
    for (int32_t id = 0; id < kv->num_blocks; id++) {
        if (!kv->blocks[id].has_hash) continue;
        registered++;
        if (table_find(kv, kv->blocks[id].hash) != id)
            return fail(why, size, "block %" PRId32 " has a hash the table does not map to it", id);
    }
    if (registered != entries)
        return fail(why, size, "%" PRId64 " blocks hashed, %" PRId64 " table entries", registered,
                    entries);
    return 0;
}

int
kvcache_check(const struct kvcache *kv, char *why, size_t size)
{
    if (kv->num_free < 0 || kv->num_free > kv->num_blocks)
        return fail(why, size, "num_free %" PRId64 " is out of range", kv->num_free);
    if (check_free_list(kv, why, size) < 0) return -1;
    return check_table(kv, why, size);
}
