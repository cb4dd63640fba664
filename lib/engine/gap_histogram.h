/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * gap_histogram: exact inter-token gaps of one engine, as counts per
 * (request class, gap in us). A class is an interned (slo_class, tenant)
 * pair. The histogram owns its tables and the interned strings.
 *
 * Token gaps inside a step are equal for every request decoding in it, so
 * the engine adds them per step and class, not per token; a preempted
 * request's gaps are subtracted again (its attempt restarts).
 */
#ifndef SERVESIM_ENGINE_GAP_HISTOGRAM_H
#define SERVESIM_ENGINE_GAP_HISTOGRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gap_entry {
    uint32_t class_id;
    bool occupied; /* a key, possibly with count 0 after a subtraction */
    int64_t gap_us;
    int64_t count;
};

struct request_class {
    char *slo_class;
    char *tenant;
};

struct gap_histogram {
    struct gap_entry *slots;
    size_t capacity, used;
    struct request_class *classes;
    size_t num_classes;
    uint32_t *class_slots; /* open addressing over classes, UINT32_MAX = empty */
    size_t class_capacity;
};

void gap_histogram_init(struct gap_histogram *h);
void gap_histogram_free(struct gap_histogram *h);
/* The id of (slo_class, tenant), interning it. -1 on out of memory. */
int64_t gap_histogram_class(struct gap_histogram *h, const char *slo_class, const char *tenant);
/* count may be negative (subtraction); 0 or ERR_INTERNAL. */
int gap_histogram_add(struct gap_histogram *h, uint32_t class_id, int64_t gap_us, int64_t count);

#endif
