/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * heap: the event queue. A binary min-heap of events ordered by (time,
 * priority, insertion sequence), so that events at the same time come
 * out in a fixed, documented order and runs are deterministic. The heap
 * owns its array; payloads are opaque pointers it never frees.
 */
#ifndef SERVESIM_CORE_HEAP_H
#define SERVESIM_CORE_HEAP_H

#include <stddef.h>
#include <stdint.h>

struct event {
    int64_t time_us;
    int priority;  /* lower first among equal times */
    uint64_t sequence; /* assigned by heap_push: insertion order */
    int kind;
    void *payload;
};

struct heap {
    struct event *events;
    size_t count, capacity;
    uint64_t next_sequence;
};

void heap_init(struct heap *heap);
void heap_free(struct heap *heap);
/* 0 or ERR_INTERNAL. */
int heap_push(struct heap *heap, struct event event);
/* The earliest event, or NULL when empty (inline: the clock asks often). */
static inline const struct event *
heap_top(const struct heap *heap)
{
    return heap->count ? &heap->events[0] : NULL;
}
struct event heap_pop(struct heap *heap);

#endif
