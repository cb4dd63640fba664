/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "core/heap.h"

#include "core/error.h"

#include <stdbool.h>
#include <stdlib.h>

static bool
before(const struct event *a, const struct event *b)
{
    if (a->time_us != b->time_us) return a->time_us < b->time_us;
    if (a->priority != b->priority) return a->priority < b->priority;
    return a->sequence < b->sequence;
}

void
heap_init(struct heap *heap)
{
    *heap = (struct heap){0};
}

void
heap_free(struct heap *heap)
{
    free(heap->events);
    *heap = (struct heap){0};
}

int
heap_push(struct heap *heap, struct event event)
{
    if (heap->count == heap->capacity) {
        size_t capacity = heap->capacity ? 2 * heap->capacity : 64;
        struct event *grown = realloc(heap->events, capacity * sizeof *grown);
        if (!grown) return internal_error("out of memory");
        heap->events = grown;
        heap->capacity = capacity;
    }
    event.sequence = heap->next_sequence++;
    size_t i = heap->count++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(&event, &heap->events[parent])) break;
        heap->events[i] = heap->events[parent];
        i = parent;
    }
    heap->events[i] = event;
    return 0;
}

struct event
heap_pop(struct heap *heap)
{
    struct event top = heap->events[0];
    struct event last = heap->events[--heap->count];
    size_t i = 0;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= heap->count) break;
        if (child + 1 < heap->count && before(&heap->events[child + 1], &heap->events[child]))
            child++;
        if (!before(&heap->events[child], &last)) break;
        heap->events[i] = heap->events[child];
        i = child;
    }
    if (heap->count) heap->events[i] = last;
    return top;
}
