/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Laws of lib/core/extsort: whatever the budget (all in memory, many
 * spilled runs, one record per run, runs sorted as spilled or late), the
 * records come out in the order of a stable sort by key: ascending keys,
 * equal keys in insertion order, every payload byte intact; an empty sort
 * yields nothing.
 */
#include "core/extsort.h"

#include "check.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A fixed LCG (Knuth's MMIX constants): the random cases are the same on every machine. */
static uint64_t lcg_state = 7;

static uint64_t
lcg_next(void)
{
    lcg_state = lcg_state * 6364136223846793005u + 1442695040888963407u;
    return lcg_state;
}

/* The payload: the insertion index and a byte derived from it (an odd size: unaligned records). */
struct payload {
    unsigned char bytes[5];
};

static struct payload
payload_of(uint32_t index)
{
    struct payload p;
    memcpy(p.bytes, &index, 4);
    p.bytes[4] = (unsigned char)(index * 31 + 7);
    return p;
}

struct reference {
    uint64_t key;
    uint32_t index;
};

/* (key, insertion index): the order of a stable sort by key. */
static int
compare_references(const void *a, const void *b)
{
    const struct reference *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * Sorts n records whose keys take few distinct values (many ties), spread
 * over all 64 bits, under the budget, its runs sorted late or not; checks
 * the output against the reference and returns the number of runs
 * spilled, or -1 on a failure.
 */
static long
sort_and_check(size_t n, size_t budget_bytes, bool late)
{
    uint64_t distinct[37];
    for (int i = 0; i < 37; i++)
        distinct[i] = lcg_next() >> (i % 3 == 0 ? 40 : 0);
    struct reference *reference = malloc((n ? n : 1) * sizeof *reference);
    struct extsort *sort;
    CHECK(reference != NULL);
    CHECK_EQ(extsort_new(sizeof(struct payload), budget_bytes, &sort), 0);
    if (late) extsort_sort_late(sort);
    for (size_t i = 0; i < n; i++) {
        reference[i] = (struct reference){distinct[(lcg_next() >> 33) % 37], (uint32_t)i};
        struct payload p = payload_of((uint32_t)i);
        CHECK_EQ(extsort_add(sort, reference[i].key, &p), 0);
    }
    CHECK_EQ(extsort_count(sort), n);
    CHECK_EQ(extsort_finish(sort), 0);
    long runs = (long)extsort_runs(sort);
    qsort(reference, n, sizeof *reference, compare_references);
    size_t i = 0, wrong = 0;
    uint64_t key;
    struct payload p;
    int rc;
    while ((rc = extsort_next(sort, &key, &p)) == 1) {
        struct payload expected = payload_of(i < n ? reference[i].index : 0);
        if (i >= n || key != reference[i].key || memcmp(&p, &expected, sizeof p) != 0) wrong++;
        i++;
    }
    CHECK_EQ(rc, 0);
    CHECK_EQ(i, n);
    CHECK_EQ(wrong, 0);
    CHECK_EQ(extsort_next(sort, &key, &p), 0); /* stays at the end */
    extsort_free(sort);
    free(reference);
    return rc || i != n || wrong ? -1 : runs;
}

TEST(extsort_empty_yields_nothing)
{
    struct extsort *sort;
    CHECK_EQ(extsort_new(0, 1024, &sort), 0);
    CHECK_EQ(extsort_finish(sort), 0);
    uint64_t key;
    CHECK_EQ(extsort_next(sort, &key, NULL), 0);
    CHECK_EQ(extsort_count(sort), 0);
    CHECK_EQ(extsort_runs(sort), 0);
    extsort_free(sort);
    CHECK_EQ(sort_and_check(0, 1, false), 0);
}

TEST(extsort_single_record)
{
    CHECK_EQ(sort_and_check(1, 1 << 20, false), 0);
    CHECK_EQ(sort_and_check(1, 1, false), 0); /* fits the one-record buffer: not spilled */
}

TEST(extsort_in_memory_is_stable)
{
    CHECK_EQ(sort_and_check(20000, 1 << 20, false), 0);
}

TEST(extsort_spilled_runs_merge_stably)
{
    long runs = sort_and_check(20000, 4000, false);
    CHECK(runs >= 2);
    CHECK_EQ(runs, (20000 + 4000 / 13 - 1) / (4000 / 13)); /* 13-byte records, 307 a run */
}

/* Runs written unsorted and sorted by extsort_finish() give the same order. */
TEST(extsort_late_sorted_runs_merge_stably)
{
    CHECK_EQ(sort_and_check(20000, 4000, true), (20000 + 4000 / 13 - 1) / (4000 / 13));
    CHECK_EQ(sort_and_check(500, 1, true), 500);
    CHECK_EQ(sort_and_check(20000, 1 << 20, true), 0); /* never spilled: sorted in memory */
}

TEST(extsort_one_record_per_run)
{
    CHECK_EQ(sort_and_check(500, 1, false), 500);
}

TEST(extsort_free_while_merging)
{
    /* freed while spilled and only partly read: nothing leaks (checked under SAN=1) */
    struct extsort *sort;
    CHECK_EQ(extsort_new(sizeof(uint64_t), 64, &sort), 0);
    for (uint64_t i = 0; i < 1000; i++)
        CHECK_EQ(extsort_add(sort, 1000 - i, &i), 0);
    CHECK_EQ(extsort_finish(sort), 0);
    uint64_t key, payload;
    CHECK_EQ(extsort_next(sort, &key, &payload), 1);
    CHECK_EQ(key, 1);
    CHECK_EQ(payload, 999);
    extsort_free(sort);
}

/* Entries of a directory other than . and .. (-1 if it cannot be read). */
static int
entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

/* Spills go to $TMPDIR, leaving no name behind; a TMPDIR that cannot hold
 * the file is an error of the add that spills, not a crash. */
TEST(extsort_spills_to_tmpdir)
{
    const char *saved = getenv("TMPDIR");
    char *old = saved ? strdup(saved) : NULL;
    char dir[] = "/tmp/servesim-test-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    setenv("TMPDIR", dir, 1);
    struct extsort *sort;
    CHECK_EQ(extsort_new(sizeof(uint64_t), 64, &sort), 0);
    for (uint64_t i = 0; i < 100; i++)
        CHECK_EQ(extsort_add(sort, i, &i), 0);
    CHECK_EQ(extsort_finish(sort), 0);
    CHECK(extsort_runs(sort) > 1);
    CHECK_EQ(entries(dir), 0); /* the file is open, but already unlinked */
    extsort_free(sort);

    char missing[sizeof dir + 8];
    snprintf(missing, sizeof missing, "%s/absent", dir);
    setenv("TMPDIR", missing, 1);
    CHECK_EQ(extsort_new(sizeof(uint64_t), 64, &sort), 0);
    int rc = 0;
    for (uint64_t i = 0; i < 100 && !rc; i++) rc = extsort_add(sort, i, &i);
    CHECK(rc != 0);
    extsort_free(sort);
    CHECK_EQ(rmdir(dir), 0);
    if (old) setenv("TMPDIR", old, 1);
    else unsetenv("TMPDIR");
    free(old);
}

int
main(void)
{
    RUN(extsort_empty_yields_nothing);
    RUN(extsort_single_record);
    RUN(extsort_in_memory_is_stable);
    RUN(extsort_spilled_runs_merge_stably);
    RUN(extsort_late_sorted_runs_merge_stably);
    RUN(extsort_one_record_per_run);
    RUN(extsort_free_while_merging);
    RUN(extsort_spills_to_tmpdir);
    return check_done();
}
