/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * itl: exact inter-token latencies without storing every token.
 *
 * An itl_histogram counts token gaps by key (slo_class, tenant, instance,
 * gap_us): simulate adds each finished request's (gap, count) runs and
 * writes the histogram as the ITL side file (docs/formats.md, "ITL side
 * file"); summarize reads it back and computes exact percentiles over the
 * multiset of gaps it stands for. The histogram owns interned copies of
 * the strings it is given (each distinct string once). Counts never wrap:
 * a key whose count would pass ITL_MAX_COUNT is an error.
 *
 * name_pool, the string interning the histogram uses, is exported for the
 * summary's groups: each distinct string is stored once and named by a
 * dense id (0, 1, 2, ... in first-seen order).
 */
#ifndef SERVESIM_ANALYSIS_ITL_H
#define SERVESIM_ANALYSIS_ITL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define ITL_CSV_HEADER "slo_class,tenant,instance,gap_us,count"
#define ITL_MAX_COUNT ((int64_t)1 << 60)

/* ---- interned strings ---- */

struct name_pool;

struct name_pool *name_pool_new(void);
/* Sets *id to the string's id, adding a copy when new. 0 or ERR_INTERNAL. */
int name_pool_intern(struct name_pool *pool, const char *text, uint32_t *id);
/* The string's id, or -1 when the pool does not hold it. */
int64_t name_pool_find(const struct name_pool *pool, const char *text);
const char *name_pool_name(const struct name_pool *pool, uint32_t id);
uint32_t name_pool_count(const struct name_pool *pool);
void name_pool_free(struct name_pool *pool);

/* ---- the histogram ---- */

struct itl_histogram;

/* One row of the side file; the strings belong to the histogram. */
struct itl_bin {
    const char *slo_class;
    const char *tenant;
    int instance;
    int64_t gap_us;
    int64_t count;
};

/* NULL when out of memory. */
struct itl_histogram *itl_histogram_new(void);
/*
 * Adds count gaps of gap_us tokens' spacing to the key. gap_us >= 0,
 * count >= 1, instance >= 0: anything else, or a total count beyond
 * ITL_MAX_COUNT, is ERR_DATA (reported). ERR_INTERNAL when out of memory.
 */
int itl_histogram_add(struct itl_histogram *histogram, const char *slo_class, const char *tenant,
                      int instance, int64_t gap_us, int64_t count);
/* Number of distinct keys (rows of the side file). */
size_t itl_histogram_size(const struct itl_histogram *histogram);
/*
 * The rows in file order: sorted by slo_class, tenant (byte order),
 * instance, gap_us. *bins is the caller's (free() it); it is NULL when the
 * histogram is empty. 0 or ERR_INTERNAL.
 */
int itl_histogram_bins(const struct itl_histogram *histogram, struct itl_bin **bins, size_t *count);
/* Header and rows, sorted, so equal histograms give equal bytes. 0 or ERR_INTERNAL. */
int itl_histogram_write(const struct itl_histogram *histogram, FILE *out);
/*
 * Reads a side file and adds its rows. Strict: header with exactly the
 * five columns, strict numbers in range, rows in strictly increasing key
 * order (an unsorted or repeated row is an error), every line ended by a
 * newline. 0, ERR_DATA (reported as "file:line: ..."), ERR_INTERNAL.
 * On error the histogram may hold the rows read before the bad one.
 */
int itl_histogram_read(struct itl_histogram *histogram, FILE *in, const char *name);
void itl_histogram_free(struct itl_histogram *histogram);

#endif
