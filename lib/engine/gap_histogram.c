/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "engine/gap_histogram.h"

#include "core/error.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

void
gap_histogram_init(struct gap_histogram *h)
{
    memset(h, 0, sizeof *h);
}

void
gap_histogram_free(struct gap_histogram *h)
{
    for (size_t i = 0; i < h->num_classes; i++) {
        free(h->classes[i].slo_class);
        free(h->classes[i].tenant);
    }
    free(h->classes);
    free(h->class_slots);
    free(h->slots);
    memset(h, 0, sizeof *h);
}

static uint64_t
class_hash(const char *slo_class, const char *tenant)
{
    return XXH3_64bits_withSeed(tenant, strlen(tenant), XXH3_64bits(slo_class, strlen(slo_class)));
}

static int
grow_classes(struct gap_histogram *h)
{
    size_t capacity = h->class_capacity ? 2 * h->class_capacity : 16;
    uint32_t *slots = malloc(capacity * sizeof *slots);
    struct request_class *classes = realloc(h->classes, capacity * sizeof *classes);
    if (!slots || !classes) {
        free(slots);
        if (classes) h->classes = classes;
        return -1;
    }
    h->classes = classes;
    memset(slots, 0xff, capacity * sizeof *slots);
    for (size_t i = 0; i < h->num_classes; i++) {
        size_t s = class_hash(classes[i].slo_class, classes[i].tenant) & (capacity - 1);
        while (slots[s] != UINT32_MAX) s = (s + 1) & (capacity - 1);
        slots[s] = (uint32_t)i;
    }
    free(h->class_slots);
    h->class_slots = slots;
    h->class_capacity = capacity;
    return 0;
}

int64_t
gap_histogram_class(struct gap_histogram *h, const char *slo_class, const char *tenant)
{
    if (2 * (h->num_classes + 1) > h->class_capacity && grow_classes(h)) return -1;
    size_t mask = h->class_capacity - 1, s = class_hash(slo_class, tenant) & mask;
    for (; h->class_slots[s] != UINT32_MAX; s = (s + 1) & mask) {
        const struct request_class *c = &h->classes[h->class_slots[s]];
        if (strcmp(c->slo_class, slo_class) == 0 && strcmp(c->tenant, tenant) == 0)
            return h->class_slots[s];
    }
    struct request_class c = {strdup(slo_class), strdup(tenant)};
    if (!c.slo_class || !c.tenant) {
        free(c.slo_class);
        free(c.tenant);
        return -1;
    }
    h->classes[h->num_classes] = c;
    h->class_slots[s] = (uint32_t)h->num_classes;
    return (int64_t)h->num_classes++;
}

static size_t
slot_of(uint32_t class_id, int64_t gap_us, size_t mask)
{
    uint64_t key[2] = {class_id, (uint64_t)gap_us};
    return XXH3_64bits(key, sizeof key) & mask;
}

static int
grow_slots(struct gap_histogram *h)
{
    size_t capacity = h->capacity ? 2 * h->capacity : 1024;
    struct gap_entry *slots = calloc(capacity, sizeof *slots);
    if (!slots) return internal_error("out of memory");
    for (size_t i = 0; i < h->capacity; i++) {
        const struct gap_entry *e = &h->slots[i];
        if (!e->occupied) continue;
        size_t s = slot_of(e->class_id, e->gap_us, capacity - 1);
        while (slots[s].occupied) s = (s + 1) & (capacity - 1);
        slots[s] = *e;
    }
    free(h->slots);
    h->slots = slots;
    h->capacity = capacity;
    return 0;
}

int
gap_histogram_add(struct gap_histogram *h, uint32_t class_id, int64_t gap_us, int64_t count)
{
    if (count == 0) return 0;
    if (2 * (h->used + 1) > h->capacity && grow_slots(h)) return ERR_INTERNAL;
    size_t mask = h->capacity - 1, s = slot_of(class_id, gap_us, mask);
    for (; h->slots[s].occupied; s = (s + 1) & mask)
        if (h->slots[s].class_id == class_id && h->slots[s].gap_us == gap_us) break;
    if (!h->slots[s].occupied) {
        h->slots[s] = (struct gap_entry){class_id, true, gap_us, 0};
        h->used++;
    }
    h->slots[s].count += count;
    if (h->slots[s].count < 0) return internal_error("token gap histogram went negative");
    return 0;
}
