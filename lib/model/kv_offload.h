/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * kv_offload: the CPU tier of an engine's KV cache, as a set of block
 * hashes with a capacity in blocks. A cached block evicted from GPU memory
 * is copied here (kvcache calls kv_offload_put); a later request whose
 * prefix continues past the GPU-cached blocks into offloaded ones reloads
 * them instead of recomputing them, and the engine charges the transfer
 * to the step. When full, the least recently offloaded block is dropped.
 * Only hashes are kept: KV contents are not simulated.
 */
#ifndef SERVESIM_MODEL_KV_OFFLOAD_H
#define SERVESIM_MODEL_KV_OFFLOAD_H

#include <stdbool.h>
#include <stdint.h>

struct kv_offload_slot {
    uint64_t hash;
    int32_t chain;           /* next slot in the same bucket; -1 ends */
    int32_t older, newer;    /* LRU links; -1 ends */
};

struct kv_offload {
    int64_t capacity, count;
    struct kv_offload_slot *slots;
    int32_t *buckets; /* heads of the bucket chains; -1 empty */
    uint64_t bucket_mask;
    int32_t oldest, newest;
    int64_t dropped; /* blocks pushed out by newer ones */
};

/* 0 or ERR_INTERNAL (no memory, capacity < 1 or > INT32_MAX). */
int kv_offload_init(struct kv_offload *o, int64_t capacity);
void kv_offload_free(struct kv_offload *o);
/* Adds hash as the newest block (or makes it the newest if present). */
void kv_offload_put(struct kv_offload *o, uint64_t hash);
bool kv_offload_has(const struct kv_offload *o, uint64_t hash);

#endif
