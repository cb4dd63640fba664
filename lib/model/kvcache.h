/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * kvcache: the paged KV block pool of one engine, with prefix caching as
 * vLLM v1 does it.
 *
 * Token identity. A request's tokens are its prompt positions
 * 0..input_tokens-1 followed by its output tokens. Segment k covers prompt
 * positions [start_k, start_k + length_k) (start_0 = 0, contiguous), and
 * position p in it is token (segments[k].stream, p - start_k). Positions
 * after the segments are (own_stream, p). When the segments cover the
 * whole prompt (at least one segment, lengths summing to input_tokens),
 * every position p >= start_last, output included, is instead
 * (last stream, p - start_last): the output continues the last segment's
 * stream, so a later prompt extending that stream finds it cached.
 *
 * Block hashes. Block b holds positions [b*bs, (b+1)*bs). Its content is
 * the list of maximal runs (stream, first offset, length) inside it, and
 * h_b folds XXH3_64bits_withSeed over those runs starting from the seed
 * h_{b-1} (h_{-1} = 0); a one-run block hashes to exactly
 * XXH3_64bits_withSeed(run, h_{b-1}). Offsets are absolute, so hashes do
 * not depend on how the prompt was chunked. Only full blocks get hashes.
 *
 * Private blocks. A block holding any (own_stream, p) token, and every
 * block after it, can be found again only by the same request, and only
 * after a preemption restarts it. Such blocks are registered lazily: by
 * kvcache_preempt, not by kvcache_commit. Lookups, hits and evictions of
 * shared content are exactly as if every block were registered at commit;
 * what is saved is a hash-table insert and delete per private block.
 *
 * Ownership. A kvcache owns its arrays (kvcache_free releases them). A
 * kv_seq is the caller's: it holds references on its blocks until
 * kvcache_release; kv_seq_free frees only its array. kv_tokens borrows.
 *
 * Invariants (kvcache_check recounts them all): a block is on the free
 * list exactly when its refcount is 0, so num_free is the list's length
 * and refcounts are never negative; has_hash[b] holds exactly when the
 * table maps hash[b] to b, so every table entry names a block whose
 * stored hash is the key. Freed blocks keep their hash (evictable cache)
 * until allocation takes them from the head of the list (LRU).
 *
 * The free list is a ring of block ids in list order, read from ring_head
 * and written at ring_tail (positions count up and wrap; the slot of
 * position p is p & ring_mask). A block taken off the list from the
 * middle (a cache hit) leaves -1 in its slot, skipped when the head gets
 * there; a full ring is compacted. The ring is read in order, so the
 * blocks allocation will take next are known ahead (and fetched ahead),
 * where a linked list would miss the cache on every block and its
 * neighbour.
 */
#ifndef SERVESIM_MODEL_KVCACHE_H
#define SERVESIM_MODEL_KVCACHE_H

#include "model/kv_offload.h"
#include "model/request.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kv_tokens {
    const struct prefix_segment *segments; /* lengths sum to at most input_tokens */
    size_t num_segments;
    int64_t input_tokens; /* prompt length */
    uint64_t own_stream;  /* identity of the tokens unique to this request */
};

struct kv_seq {
    int32_t *blocks; /* block table: blocks[i] holds positions [i*bs, (i+1)*bs) */
    int64_t num_blocks, capacity;
    int64_t num_hashed_blocks; /* leading full blocks whose hash is known */
    int64_t num_full_blocks;   /* leading full blocks committed (hashed or private) */
    uint64_t last_hash;        /* chain value after block num_hashed_blocks-1; 0 before */
};

struct kvcache_stats {
    int64_t hit_blocks;  /* prompt blocks found cached at admission */
    int64_t miss_blocks; /* full prompt blocks not found at admission */
    int64_t evictions;   /* cached hashes dropped to reuse their block */
};

struct kv_slot {
    uint64_t hash;
    int32_t block; /* < 0: empty slot */
};

/* One block's state, kept together: a step touches all of it at once. */
struct kv_block {
    uint64_t hash;    /* meaningful only when has_hash */
    int32_t refcount;
    int32_t has_hash; /* hash is registered in the table, mapped to this block */
    uint32_t ring_pos; /* free blocks: the ring position holding this block */
};

struct kvcache {
    int64_t num_blocks;
    int block_size; /* tokens per block */
    bool prefix_caching;
    int64_t num_free;
    struct kvcache_stats stats;
    struct kv_block *blocks; /* num_blocks of them */
    /* the free list: ring[p & ring_mask] for p in [ring_head, ring_tail),
     * -1 for a block taken off the list from the middle */
    int32_t *ring;
    uint32_t ring_mask, ring_head, ring_tail;
    /* open addressing, linear probing; at most half full */
    struct kv_slot *table;
    uint64_t table_mask; /* slots - 1, slots a power of two */
    int64_t table_count;
    /* the CPU tier: evicted cached blocks land here (capacity 0 = none) */
    struct kv_offload offload;
};

/* 0 or ERR_INTERNAL (bad sizes, no memory). All blocks free, in id order. */
int kvcache_init(struct kvcache *kv, int64_t num_blocks, int block_size, bool prefix_caching);
void kvcache_free(struct kvcache *kv);

void kv_seq_init(struct kv_seq *seq);
/* Frees the array only: release the blocks first. */
void kv_seq_free(struct kv_seq *seq);
/* Makes room for num_blocks block ids in advance; 0 or ERR_INTERNAL. */
int kv_seq_reserve(struct kv_seq *seq, int64_t num_blocks);

/* ceil(num_tokens / block_size). */
int64_t kvcache_blocks_for(const struct kvcache *kv, int64_t num_tokens);

/*
 * Number of leading full blocks among the first num_tokens tokens whose
 * chained hash is cached, stopping at the first miss; 0 when prefix
 * caching is off. Changes nothing. O(segments + blocks).
 */
int64_t kvcache_lookup(const struct kvcache *kv, const struct kv_tokens *t, int64_t num_tokens);
/*
 * Gives the pool a CPU tier of `blocks` blocks (0 or ERR_INTERNAL): from
 * now on a cached block evicted from the pool is offloaded there.
 */
int kvcache_enable_offload(struct kvcache *kv, int64_t blocks);
/*
 * kvcache_lookup, and in *offloaded how many full blocks after those the
 * CPU tier holds consecutively: the blocks a request can reload instead
 * of recomputing (0 without a tier). One walk of the hash chain.
 */
int64_t kvcache_lookup_tiers(const struct kvcache *kv, const struct kv_tokens *t,
                             int64_t num_tokens, int64_t *offloaded);

/*
 * The chained hashes of the leading full blocks among the first num_tokens
 * tokens of t, in a pool of block_size tokens per block: the first
 * min(num_tokens / block_size, capacity) of them go to hashes, and their
 * count is returned. They depend on t and block_size only, not on a pool,
 * so one computation serves lookups in many pools. O(segments + blocks).
 */
int64_t kvcache_hash_blocks(int block_size, const struct kv_tokens *t, int64_t num_tokens,
                            uint64_t *hashes, int64_t capacity);

/*
 * kvcache_lookup from precomputed hashes (kvcache_hash_blocks with this
 * pool's block size): how many of hashes[0..count) are cached, stopping at
 * the first miss; 0 when prefix caching is off. Changes nothing; O(count).
 */
int64_t kvcache_lookup_hashes(const struct kvcache *kv, const uint64_t *hashes, int64_t count);

/*
 * Makes seq hold kvcache_blocks_for(num_tokens) blocks. Returns 1 on
 * success (at once, O(1), when it already holds enough), 0 when the pool
 * cannot supply them, in which case nothing at all has changed, or
 * ERR_INTERNAL when the block table cannot grow (nothing has changed
 * either).
 *
 * num_cached_blocks is used only when seq is empty (admission): it must
 * not exceed what kvcache_lookup(kv, t, num_tokens) has just returned.
 * Those blocks become the first ones of seq (refcount + 1; one at
 * refcount 0 leaves the free list) and count as hashed. The remaining
 * blocks come from the head of the free list; one still holding a cached
 * hash is evicted (its hash leaves the table, stats.evictions + 1).
 * An admission adds num_cached_blocks to stats.hit_blocks and
 * floor(input_tokens / bs) - num_cached_blocks, if positive, to
 * stats.miss_blocks.
 */
int kvcache_allocate(struct kvcache *kv, struct kv_seq *seq, const struct kv_tokens *t,
                     int64_t num_cached_blocks, int64_t num_tokens);

/*
 * Commits the full blocks among the first num_tokens tokens: registers the
 * hashes of the shared ones not hashed yet (private ones wait for
 * kvcache_preempt); num_tokens <= seq->num_blocks * block_size. A hash
 * already cached in another block (two requests computed the same content
 * at once) leaves this block unregistered, but the chain still advances.
 * A no-op when prefix caching is off (num_hashed_blocks stays 0).
 */
void kvcache_commit(struct kvcache *kv, struct kv_seq *seq, const struct kv_tokens *t,
                    int64_t num_tokens);

/*
 * Drops seq's reference on each of its blocks. Blocks reaching refcount 0
 * go to the tail of the free list in reverse block-table order, so a
 * sequence's last blocks are evicted first; they keep their hashes (a
 * finished request's private blocks have none to keep). seq becomes empty.
 */
void kvcache_release(struct kvcache *kv, struct kv_seq *seq);

/*
 * Like kvcache_release, for a request that will be recomputed: first
 * registers the hashes of its committed private blocks, so that its
 * readmission finds them cached while they last.
 */
void kvcache_preempt(struct kvcache *kv, struct kv_seq *seq, const struct kv_tokens *t);

/* num_blocks - num_free. */
int64_t kvcache_used_blocks(const struct kvcache *kv);

/* Recounts every invariant: 0, or -1 with the first violation in why. */
int kvcache_check(const struct kvcache *kv, char *why, size_t size);

#endif
