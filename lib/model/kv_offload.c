/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "model/kv_offload.h"

#include "core/error.h"

#include <stdlib.h>

int
kv_offload_init(struct kv_offload *o, int64_t capacity)
{
    if (capacity < 1 || capacity > INT32_MAX)
        return internal_error("kv_offload: bad capacity %lld", (long long)capacity);
    uint64_t buckets = 1;
    while (buckets < (uint64_t)capacity) buckets *= 2;
    *o = (struct kv_offload){.capacity = capacity,
                             .slots = malloc((size_t)capacity * sizeof *o->slots),
                             .buckets = malloc(buckets * sizeof *o->buckets),
                             .bucket_mask = buckets - 1,
                             .oldest = -1,
                             .newest = -1};
    if (!o->slots || !o->buckets) {
        kv_offload_free(o);
        return internal_error("out of memory");
    }
    for (uint64_t b = 0; b < buckets; b++) o->buckets[b] = -1;
    return 0;
}

void
kv_offload_free(struct kv_offload *o)
{
    free(o->slots);
    free(o->buckets);
    *o = (struct kv_offload){.oldest = -1, .newest = -1};
}

static int32_t
find(const struct kv_offload *o, uint64_t hash)
{
    for (int32_t s = o->buckets[hash & o->bucket_mask]; s >= 0; s = o->slots[s].chain)
        if (o->slots[s].hash == hash) return s;
    return -1;
}

bool
kv_offload_has(const struct kv_offload *o, uint64_t hash)
{
    return o->slots && find(o, hash) >= 0;
}

static void
lru_unlink(struct kv_offload *o, int32_t s)
{
    struct kv_offload_slot *x = &o->slots[s];
    if (x->older >= 0) o->slots[x->older].newer = x->newer;
    else o->oldest = x->newer;
    if (x->newer >= 0) o->slots[x->newer].older = x->older;
    else o->newest = x->older;
}

static void
lru_push_newest(struct kv_offload *o, int32_t s)
{
    o->slots[s].older = o->newest;
    o->slots[s].newer = -1;
    if (o->newest >= 0) o->slots[o->newest].newer = s;
    else o->oldest = s;
    o->newest = s;
}

static void
bucket_unlink(struct kv_offload *o, int32_t s)
{
    int32_t *link = &o->buckets[o->slots[s].hash & o->bucket_mask];
    while (*link != s) link = &o->slots[*link].chain;
    *link = o->slots[s].chain;
}

void
kv_offload_put(struct kv_offload *o, uint64_t hash)
{
    int32_t s = find(o, hash);
    if (s >= 0) {
        lru_unlink(o, s);
        lru_push_newest(o, s);
        return;
    }
    if (o->count < o->capacity) {
        s = (int32_t)o->count++;
    } else { /* reuse the oldest */
        s = o->oldest;
        lru_unlink(o, s);
        bucket_unlink(o, s);
        o->dropped++;
    }
    o->slots[s].hash = hash;
    int32_t *head = &o->buckets[hash & o->bucket_mask];
    o->slots[s].chain = *head;
    *head = s;
    lru_push_newest(o, s);
}
