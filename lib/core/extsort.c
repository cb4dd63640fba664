/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "core/extsort.h"

#include "core/error.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

/* One sorted run in the temporary file and the part of it read so far. */
struct run {
    off_t next;         /* file offset of the first record not yet read */
    uint64_t remaining; /* records in the file not yet read */
    unsigned char *buffer;
    size_t at, filled; /* records: the next one in buffer, and how many buffer holds */
};

/* A run in the merge heap, with the key of its next record: comparing two
 * runs reads no record. */
struct head {
    uint64_t key;
    size_t run;
};

struct extsort {
    size_t payload_size, stride; /* a record: its 8-byte key, then its payload */
    size_t budget_bytes, max_records;
    unsigned char *records; /* the records not yet in a run */
    size_t count, capacity;
    size_t cursor; /* the next record of records to yield when nothing was spilled */
    bool sort_late; /* runs are written unsorted and sorted by extsort_finish() */
    uint64_t total;
    FILE *file; /* NULL until the first run */
    off_t file_size;
    struct run *runs;
    size_t num_runs, runs_capacity;
    struct head *heap; /* the runs with records left, the smallest (key, run) first */
    size_t heap_size;
};

static uint64_t
key_at(const unsigned char *record)
{
    uint64_t key;
    memcpy(&key, record, sizeof key);
    return key;
}

int
extsort_new(size_t payload_size, size_t budget_bytes, struct extsort **out)
{
    struct extsort *s = calloc(1, sizeof *s);
    if (!s) return internal_error("out of memory");
    s->payload_size = payload_size;
    s->stride = sizeof(uint64_t) + payload_size;
    s->budget_bytes = budget_bytes;
    s->max_records = budget_bytes / s->stride ? budget_bytes / s->stride : 1;
    *out = s;
    return 0;
}

uint64_t
extsort_count(const struct extsort *s)
{
    return s->total;
}

size_t
extsort_runs(const struct extsort *s)
{
    return s->num_runs;
}

/* Copies one record; the usual sizes get a copy of constant length, which
 * the compiler makes a few moves instead of a call. */
static inline void
copy_record(unsigned char *to, const unsigned char *from, size_t stride)
{
    switch (stride) {
    case 12: memcpy(to, from, 12); break;
    case 16: memcpy(to, from, 16); break;
    case 20: memcpy(to, from, 20); break;
    case 24: memcpy(to, from, 24); break;
    default: memcpy(to, from, stride);
    }
}

/*
 * Least significant byte first, skipping the bytes every key shares
 * (small integers leave the high bytes alike, doubles of integers the low
 * mantissa bytes). Each pass is a stable counting sort, so is the whole.
 */

static int
sort_records(struct extsort *s)
{
    size_t n = s->count, stride = s->stride;
    if (n < 2) return 0;
    unsigned char *from = s->records, *to = malloc(n * stride);
    if (!to) return internal_error("out of memory");
    size_t counts[8][256] = {{0}};
    for (size_t i = 0; i < n; i++) {
        uint64_t k = key_at(from + i * stride);
        for (int b = 0; b < 8; b++)
            counts[b][(k >> (8 * b)) & 255]++;
    }
    uint64_t first = key_at(from);
    for (int b = 0; b < 8; b++) {
        if (counts[b][(first >> (8 * b)) & 255] == n) continue;
        size_t offset[256], at = 0;
        for (int d = 0; d < 256; d++) {
            offset[d] = at;
            at += counts[b][d];
        }
        for (size_t i = 0; i < n; i++) {
            const unsigned char *record = from + i * stride;
            copy_record(to + offset[(key_at(record) >> (8 * b)) & 255]++ * stride, record, stride);
        }
        unsigned char *swap = from;
        from = to;
        to = swap;
    }
    if (from != s->records) {
        /* the sorted records are in the scratch buffer: keep it, sized to them */
        s->records = from;
        s->capacity = n;
    }
    free(to);
    return 0;
}

static int
write_error(void)
{
    return internal_error("cannot write the sort's temporary file: %s", strerror(errno));
}

/* The sort's temporary file: created in $TMPDIR (or /tmp when unset or
 * empty) and unlinked at once, so that only the open stream keeps it and the
 * system removes it when the stream is closed or the process ends. */
static int
open_temporary(struct extsort *s)
{
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir) dir = "/tmp";
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/servesim-sort-XXXXXX", dir) >= sizeof path)
        return internal_error("cannot create the sort's temporary file in '%s': path too long",
                              dir);
    int fd = mkstemp(path);
    if (fd >= 0) {
        unlink(path);
        if (!(s->file = fdopen(fd, "w+b"))) close(fd);
    }
    if (!s->file)
        return internal_error("cannot create the sort's temporary file in '%s' (TMPDIR): %s",
                              dir, strerror(errno));
    return 0;
}

/* Sorts the buffered records (unless sorting late) and appends them to the
 * temporary file as one run. */
static int
spill(struct extsort *s)
{
    int rc = s->sort_late ? 0 : sort_records(s);
    if (rc) return rc;
    if (!s->file && (rc = open_temporary(s))) return rc;
    if (s->num_runs == s->runs_capacity) {
        size_t capacity = s->runs_capacity ? 2 * s->runs_capacity : 16;
        struct run *grown = realloc(s->runs, capacity * sizeof *grown);
        if (!grown) return internal_error("out of memory");
        s->runs = grown;
        s->runs_capacity = capacity;
    }
    if (fwrite(s->records, s->stride, s->count, s->file) != s->count) return write_error();
    s->runs[s->num_runs++] = (struct run){.next = s->file_size, .remaining = s->count};
    s->file_size += (off_t)(s->count * s->stride);
    s->count = 0;
    return 0;
}

int
extsort_add(struct extsort *s, uint64_t key, const void *payload)
{
    if (s->count == s->capacity) {
        int rc;
        if (s->capacity == s->max_records) {
            if ((rc = spill(s))) return rc;
        } else {
            size_t capacity = s->capacity ? 2 * s->capacity : 1024;
            if (capacity > s->max_records) capacity = s->max_records;
            unsigned char *grown = realloc(s->records, capacity * s->stride);
            if (!grown) return internal_error("out of memory");
            s->records = grown;
            s->capacity = capacity;
        }
    }
    unsigned char *record = s->records + s->count++ * s->stride;
    memcpy(record, &key, sizeof key);
    if (s->payload_size) memcpy(record + sizeof key, payload, s->payload_size);
    s->total++;
    return 0;
}

/* Reads n records at offset of the temporary file into buffer. */
static int
read_records(struct extsort *s, off_t offset, unsigned char *buffer, size_t n)
{
    if (fseeko(s->file, offset, SEEK_SET) != 0 || fread(buffer, s->stride, n, s->file) != n)
        return internal_error("cannot read the sort's temporary file: %s",
                              ferror(s->file) ? strerror(errno) : "it is shorter than written");
    return 0;
}

/* Reads the next records of run r into its buffer. */
static int
refill(struct extsort *s, struct run *r, size_t buffer_records)
{
    size_t n = r->remaining < buffer_records ? (size_t)r->remaining : buffer_records;
    int rc = read_records(s, r->next, r->buffer, n);
    if (rc) return rc;
    r->next += (off_t)(n * s->stride);
    r->remaining -= n;
    r->at = 0;
    r->filled = n;
    return 0;
}

static bool
head_before(struct head x, struct head y)
{
    return x.key < y.key || (x.key == y.key && x.run < y.run);
}

static void
sift_down(struct extsort *s, size_t i)
{
    struct head *h = s->heap, moving = h[i];
    for (;;) {
        size_t least = 2 * i + 1;
        if (least >= s->heap_size) break;
        if (least + 1 < s->heap_size && head_before(h[least + 1], h[least])) least++;
        if (!head_before(h[least], moving)) break;
        h[i] = h[least];
        i = least;
    }
    h[i] = moving;
}

/* The key of run r's next record (r must have one in its buffer). */
static uint64_t
head_key(const struct extsort *s, const struct run *r)
{
    return key_at(r->buffer + r->at * s->stride);
}

static size_t
run_buffer_records(const struct extsort *s)
{
    size_t bytes = s->budget_bytes / s->num_runs;
    if (bytes < EXTSORT_MIN_RUN_BUFFER) bytes = EXTSORT_MIN_RUN_BUFFER;
    return bytes / s->stride ? bytes / s->stride : 1;
}

/* Sorts each run written unsorted in place in the temporary file, through
 * the record buffer (every run fits it: a run is at most one buffer). */
static int
sort_runs_in_place(struct extsort *s)
{
    for (size_t i = 0; i < s->num_runs; i++) {
        const struct run *r = &s->runs[i];
        size_t n = (size_t)r->remaining;
        if (n > s->capacity) {
            unsigned char *grown = realloc(s->records, n * s->stride);
            if (!grown) return internal_error("out of memory");
            s->records = grown;
            s->capacity = n;
        }
        int rc = read_records(s, r->next, s->records, n);
        if (rc) return rc;
        s->count = n;
        rc = sort_records(s);
        if (rc) return rc;
        if (fseeko(s->file, r->next, SEEK_SET) != 0 ||
            fwrite(s->records, s->stride, n, s->file) != n)
            return write_error();
        s->count = 0;
    }
    return 0;
}

void
extsort_sort_late(struct extsort *s)
{
    s->sort_late = true;
}

int
extsort_finish(struct extsort *s)
{
    if (!s->num_runs) return sort_records(s);
    int rc = s->count ? spill(s) : 0;
    if (!rc && s->sort_late) rc = sort_runs_in_place(s);
    if (rc) return rc;
    free(s->records);
    s->records = NULL;
    s->capacity = 0;
    if (fflush(s->file) != 0) return write_error();
    size_t records = run_buffer_records(s);
    if (!(s->heap = malloc(s->num_runs * sizeof *s->heap))) return internal_error("out of memory");
    for (size_t r = 0; r < s->num_runs; r++) {
        if (!(s->runs[r].buffer = malloc(records * s->stride)))
            return internal_error("out of memory");
        if ((rc = refill(s, &s->runs[r], records))) return rc;
        s->heap[s->heap_size++] = (struct head){head_key(s, &s->runs[r]), r};
    }
    for (size_t i = s->heap_size / 2; i-- > 0;)
        sift_down(s, i);
    return 0;
}

int
extsort_next(struct extsort *s, uint64_t *key, void *payload)
{
    const unsigned char *record;
    if (!s->num_runs) {
        if (s->cursor == s->count) return 0;
        record = s->records + s->cursor++ * s->stride;
        *key = key_at(record);
        if (s->payload_size) memcpy(payload, record + sizeof *key, s->payload_size);
        return 1;
    }
    if (!s->heap_size) return 0;
    struct run *r = &s->runs[s->heap[0].run];
    record = r->buffer + r->at++ * s->stride;
    *key = s->heap[0].key;
    if (s->payload_size) memcpy(payload, record + sizeof *key, s->payload_size);
    if (r->at == r->filled && !r->remaining) {
        s->heap[0] = s->heap[--s->heap_size];
    } else {
        if (r->at == r->filled) {
            int rc = refill(s, r, run_buffer_records(s));
            if (rc) return rc;
        }
        s->heap[0].key = head_key(s, r);
    }
    sift_down(s, 0);
    return 1;
}

void
extsort_free(struct extsort *s)
{
    if (!s) return;
    free(s->records);
    for (size_t r = 0; r < s->num_runs; r++)
        free(s->runs[r].buffer);
    free(s->runs);
    free(s->heap);
    if (s->file) fclose(s->file);
    free(s);
}
