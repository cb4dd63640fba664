/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * extsort: a stable external sort of fixed-size records by a 64-bit key,
 * in bounded memory. A record is a key and payload_size bytes of payload.
 *
 * extsort_add() appends records. While they fit the budget they stay in
 * memory; each time the buffer is full it is sorted and written as one
 * sorted run to an anonymous temporary file in $TMPDIR (/tmp when unset),
 * unlinked as soon as it is created and so removed by the system when closed. extsort_finish() sorts what is left; extsort_next()
 * then yields every record in ascending key order, records with equal keys
 * in the order they were added: runs are merged k ways, a tie going to the
 * earlier run, and each run is sorted stably (a radix sort by key). An
 * input that fits the budget never touches the disk.
 *
 * Memory: the record buffer grows up to budget_bytes; sorting it borrows
 * a scratch buffer of the same size for the time of the sort. Merging
 * frees the record buffer and reads each run through its own buffer, the
 * runs sharing budget_bytes, with EXTSORT_MIN_RUN_BUFFER bytes each at
 * least. The struct owns its buffers and temporary file; extsort_free()
 * releases them at any stage. Errors (out of memory, a failed read or
 * write of the temporary file) are reported once and returned as
 * ERR_INTERNAL; after one, only extsort_free() may be called.
 */
#ifndef SERVESIM_CORE_EXTSORT_H
#define SERVESIM_CORE_EXTSORT_H

#include <stddef.h>
#include <stdint.h>

#define EXTSORT_MIN_RUN_BUFFER 4096

struct extsort;

/* payload_size >= 0, budget_bytes >= 1 (at least one record is buffered).
 * 0 or ERR_INTERNAL; *out is the caller's (extsort_free). */
int extsort_new(size_t payload_size, size_t budget_bytes, struct extsort **out);
/* Before the first extsort_add(): write runs unsorted and sort them only in
 * extsort_finish() (each read back, sorted and written again), for a sort
 * that may never be read, whose cost then is the writing alone. */
void extsort_sort_late(struct extsort *sort);
/* Appends one record (payload: payload_size bytes, copied). 0 or ERR_INTERNAL. */
int extsort_add(struct extsort *sort, uint64_t key, const void *payload);
/* Ends the input; extsort_add() may not follow. 0 or ERR_INTERNAL. */
int extsort_finish(struct extsort *sort);
/* The next record in order, after extsort_finish(): 1 (stored in *key and
 * payload), 0 after the last one, or ERR_INTERNAL. */
int extsort_next(struct extsort *sort, uint64_t *key, void *payload);
/* Records added so far. */
uint64_t extsort_count(const struct extsort *sort);
/* Sorted runs written to the temporary file so far (0: all in memory). */
size_t extsort_runs(const struct extsort *sort);
void extsort_free(struct extsort *sort);

#endif
