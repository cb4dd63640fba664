/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Laws of lib/analysis: type 7 percentiles on hand-computed arrays; the
 * weighted-histogram percentile equals the percentile of the expanded
 * array, bit for bit; results and ITL files round-trip through their
 * writers and strict readers; the summary of testdata/results-small.csv
 * matches numbers computed by hand.
 */
#include "analysis/itl.h"
#include "analysis/results_csv.h"
#include "analysis/summary.h"
#include "core/error.h"

#include "check.h"

#include <math.h>
#include <string.h>

/* A fixed LCG (Knuth's MMIX constants): the random cases are the same on every machine. */
static uint64_t lcg_state = 42;

static uint64_t
lcg_next(uint64_t bound)
{
    lcg_state = lcg_state * 6364136223846793005u + 1442695040888963407u;
    return (lcg_state >> 33) % bound;
}

/* Where testdata/FILE is from here, or NULL. */
static const char *
testdata_path(const char *file)
{
    static char path[256];
    const char *prefixes[] = {"", "../", "../../"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%stestdata/%s", prefixes[i], file);
        FILE *f = fopen(path, "r");
        if (f) {
            fclose(f);
            return path;
        }
    }
    return NULL;
}

static FILE *
open_testdata(const char *file)
{
    /* the tests run from the top of the tree (make check) or from build/tests */
    const char *prefixes[] = {"", "../", "../../"};
    FILE *f = NULL;
    for (int i = 0; i < 3 && !f; i++) {
        char path[256];
        snprintf(path, sizeof path, "%stestdata/%s", prefixes[i], file);
        f = fopen(path, "r");
    }
    if (!f) printf("# cannot open testdata/%s (run from the top of the tree)\n", file);
    return f;
}

/* ---- percentiles ---- */

TEST(percentile_type7_hand_computed)
{
    /* h = (n - 1) p; result = x[floor h] + (h - floor h) (x[floor h + 1] - x[floor h]) */
    const double a[] = {15, 20, 35, 40, 50};
    CHECK(percentile_sorted(a, 5, 0) == 15);
    CHECK(percentile_sorted(a, 5, 1) == 50);
    CHECK(percentile_sorted(a, 5, 0.5) == 35);              /* h = 2 */
    CHECK_NEAR(percentile_sorted(a, 5, 0.4), 29, 1e-12);    /* h = 1.6: 20 + 0.6 * 15 */
    CHECK_NEAR(percentile_sorted(a, 5, 0.9), 46, 1e-12);    /* h = 3.6: 40 + 0.6 * 10 */
    CHECK_NEAR(percentile_sorted(a, 5, 0.99), 49.6, 1e-12); /* h = 3.96 */
    CHECK(percentile_sorted(a, 5, 0.25) == 20);             /* h = 1 exactly */

    const double b[] = {1, 2, 3, 4};
    CHECK(percentile_sorted(b, 4, 0.5) == 2.5);             /* h = 1.5 */
    CHECK_NEAR(percentile_sorted(b, 4, 0.9), 3.7, 1e-12);   /* h = 2.7 */
    CHECK_NEAR(percentile_sorted(b, 4, 0.95), 3.85, 1e-12); /* h = 2.85 */

    const double one[] = {7};
    CHECK(percentile_sorted(one, 1, 0) == 7);
    CHECK(percentile_sorted(one, 1, 0.99) == 7);
    CHECK(percentile_sorted(one, 1, 1) == 7);

    const double ties[] = {5, 5, 5, 9};
    CHECK(percentile_sorted(ties, 4, 0.5) == 5);             /* h = 1.5 between two 5s */
    CHECK_NEAR(percentile_sorted(ties, 4, 0.9), 7.8, 1e-12); /* h = 2.7: 5 + 0.7 * 4 */
}

TEST(percentile_weighted_equals_expanded)
{
    for (int trial = 0; trial < 300; trial++) {
        size_t n = 1 + lcg_next(12);
        struct value_count runs[12];
        int64_t value = (int64_t)lcg_next(50), total = 0;
        for (size_t i = 0; i < n; i++) {
            runs[i].value = value;
            runs[i].count = 1 + (int64_t)lcg_next(trial % 3 ? 6 : 200);
            total += runs[i].count;
            value += 1 + (int64_t)lcg_next(trial % 2 ? 10 : 100000);
        }
        double *expanded = malloc((size_t)total * sizeof *expanded);
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            for (int64_t c = 0; c < runs[i].count; c++)
                expanded[k++] = (double)runs[i].value;
        double ps[] = {0, 0.5, 0.9, 0.95, 0.99, 1, 0, 0};
        ps[6] = (double)lcg_next(1000001) / 1e6;
        ps[7] = (double)lcg_next(1001) / 1e3;
        for (int j = 0; j < 8; j++) {
            double w = percentile_weighted(runs, n, total, ps[j]);
            double e = percentile_sorted(expanded, (size_t)total, ps[j]);
            if (w != e)
                printf("# trial %d p %.17g: weighted %.17g expanded %.17g\n", trial, ps[j], w, e);
            CHECK(w == e);
        }
        free(expanded);
    }
}

/* ---- results CSV ---- */

TEST(results_writer_derives_latencies)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    results_csv_write_header(f);
    struct request_result ok = {
        .id = 7,
        .instance = 2,
        .status = STATUS_OK,
        .arrival_us = 100,
        .queued_us = 110,
        .scheduled_us = 120,
        .first_token_us = 400,
        .finish_us = 500,
        .input_tokens = 64,
        .output_tokens = 4,
        .cached_tokens = 16,
        .preemptions = 1,
        .slo_class = "gold",
        .tenant = "a,b",
    };
    results_csv_write(f, &ok); /* tpot = 100 / 3 */
    struct request_result rejected = {
        .id = 8,
        .instance = -1,
        .status = STATUS_REJECTED,
        .arrival_us = 130,
        .queued_us = TIME_NONE,
        .scheduled_us = TIME_NONE,
        .first_token_us = TIME_NONE,
        .finish_us = TIME_NONE,
        .input_tokens = 5,
        .output_tokens = 1,
        .slo_class = "",
        .tenant = "",
    };
    results_csv_write(f, &rejected);
    struct request_result single = ok;
    single.id = 9;
    single.output_tokens = 1;
    single.first_token_us = single.finish_us = 1000;
    results_csv_write(f, &single);
    fclose(f);
    CHECK(strcmp(text, RESULTS_CSV_HEADER
                 "\n"
                 "7,2,ok,100,110,120,400,500,64,4,16,1,300,400,33.333333,gold,\"a,b\"\n"
                 "8,,rejected,130,,,,,5,1,0,0,,,,,\n"
                 "9,2,ok,100,110,120,1000,1000,64,1,16,1,900,900,,gold,\"a,b\"\n") == 0);

    FILE *in = fmemopen(text, size, "r");
    struct results_reader *r;
    CHECK_EQ(results_reader_open(in, "mem", &r), 0);
    struct result_row row;
    CHECK_EQ(results_reader_next(r, &row), 1);
    CHECK_EQ(row.result.id, 7);
    CHECK_EQ(row.result.instance, 2);
    CHECK(row.has_ttft && row.has_e2e && row.has_tpot);
    CHECK_EQ(row.ttft_us, 300);
    CHECK_EQ(row.e2e_us, 400);
    CHECK_NEAR(row.tpot_us, 100.0 / 3, 5e-7); /* 6 decimals, rounded */
    CHECK(strcmp(row.result.tenant, "a,b") == 0);
    CHECK_EQ(row.line, 2);
    CHECK_EQ(results_reader_next(r, &row), 1);
    CHECK_EQ(row.result.instance, -1);
    CHECK(row.result.status == STATUS_REJECTED);
    CHECK(row.result.queued_us == TIME_NONE && row.result.finish_us == TIME_NONE);
    CHECK(!row.has_ttft && !row.has_e2e && !row.has_tpot);
    CHECK_EQ(results_reader_next(r, &row), 1);
    CHECK(row.has_ttft && !row.has_tpot);
    CHECK_EQ(results_reader_next(r, &row), 0);
    results_reader_free(r);
    fclose(in);
    free(text);
}

/* Reads header + one line; returns the reader's verdict on the line. */
static int
read_one(const char *line)
{
    char text[1024];
    snprintf(text, sizeof text, "%s\n%s", RESULTS_CSV_HEADER, line);
    FILE *in = fmemopen(text, strlen(text), "r");
    struct results_reader *r;
    int rc = results_reader_open(in, "bad.csv", &r);
    if (!rc) {
        struct result_row row;
        rc = results_reader_next(r, &row);
        results_reader_free(r);
    }
    fclose(in);
    return rc;
}

TEST(results_reader_is_strict)
{
    const char *good = "1,0,ok,0,1,2,10,20,5,3,0,0,10,20,5,,\n";
    CHECK_EQ(read_one(good), 1);
    const char *bad[] = {
        "1,0,ok,0,1,2,10,20,5,3,0,0,10,20,5,,",       /* no newline */
        "1,0,ok,0,1,2,10,20,5,3,0,0,10,20,5,\n",      /* 16 fields */
        "1,0,okay,0,1,2,10,20,5,3,0,0,10,20,5,,\n",   /* status */
        "1,0,ok,0,1,2,10,20,5,3,0,0,11,20,5,,\n",     /* ttft != first_token - arrival */
        "1,0,ok,0,1,2,10,20,5,3,0,0,10,21,5,,\n",     /* e2e */
        "1,0,ok,0,1,2,10,20,5,3,0,0,10,20,6,,\n",     /* tpot */
        "1,0,ok,0,3,2,10,20,5,3,0,0,10,20,5,,\n",     /* queued after scheduled */
        "1,0,ok,0,1,2,10,20,5,3,0,0,,20,5,,\n",       /* ttft missing on ok */
        "1,0,ok,0,1,2,10,20,5,3,0,0,10,20,,,\n",      /* tpot missing, 3 tokens */
        "1,0,ok,0,1,2,,20,5,3,0,0,10,20,5,,\n",       /* first token missing on ok */
        "1,,ok,0,1,2,10,20,5,3,0,0,10,20,5,,\n",      /* instance missing on ok */
        "1,0,timeout,0,1,,,,5,3,0,0,0,,,,\n",         /* latency on a non-ok row */
        "1,0,ok,0,1,2,10,20,5,3,6,0,10,20,5,,\n",     /* cached > input */
        "-1,0,ok,0,1,2,10,20,5,3,0,0,10,20,5,,\n",    /* negative */
        "1,0,ok,0,1,2,10,20,0,3,0,0,10,20,5,,\n",     /* input_tokens 0 */
        "1,0,ok,0,1,2,10,20,5,3,0,0,10,20,nan,,\n",   /* NaN */
        "1,0,ok,0,1,2,10,20,5,3,0,0,10,20,inf,,\n",   /* infinity */
        "1,0,ok,0,1,2,10,20,5,3,0,0,10,20,1e999,,\n", /* overflowing double */
        "99999999999999999999,0,ok,0,1,2,10,20,5,3,0,0,10,20,5,,\n", /* overflow */
        "1,0,rejected,,,,,,5,3,0,0,,,,,\n",                          /* no arrival */
        "1,x\"y,ok,0,1,2,10,20,5,3,0,0,10,20,5,,\n",                 /* malformed CSV */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = read_one(bad[i]);
        if (rc != ERR_DATA) printf("# accepted: %s", bad[i]);
        CHECK_EQ(rc, ERR_DATA);
    }
}

/* ---- ITL histogram ---- */

static char *
itl_text(const struct itl_histogram *h)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    CHECK_EQ(itl_histogram_write(h, f), 0);
    fclose(f);
    return text;
}

TEST(itl_histogram_merges_sorts_and_round_trips)
{
    struct itl_histogram *h = itl_histogram_new();
    CHECK_EQ(itl_histogram_add(h, "b", "t", 1, 30, 2), 0);
    CHECK_EQ(itl_histogram_add(h, "a", "u", 0, 10, 1), 0);
    CHECK_EQ(itl_histogram_add(h, "a", "t", 3, 50, 4), 0);
    CHECK_EQ(itl_histogram_add(h, "a", "t", 3, 20, 1), 0);
    CHECK_EQ(itl_histogram_add(h, "b", "t", 1, 30, 5), 0); /* same key: counts add */
    CHECK_EQ(itl_histogram_add(h, "a", "t", 10, 5, 1), 0); /* instance 10 sorts after 3 */
    CHECK_EQ(itl_histogram_size(h), 5);
    CHECK_EQ(itl_histogram_add(h, "a", "t", 0, -1, 1), ERR_DATA);
    CHECK_EQ(itl_histogram_add(h, "a", "t", 0, 1, 0), ERR_DATA);
    CHECK_EQ(itl_histogram_add(h, "a", "t", -1, 1, 1), ERR_DATA);
    char *text = itl_text(h);
    CHECK(strcmp(text, ITL_CSV_HEADER "\n"
                                      "a,t,3,20,1\n"
                                      "a,t,3,50,4\n"
                                      "a,t,10,5,1\n"
                                      "a,u,0,10,1\n"
                                      "b,t,1,30,7\n") == 0);
    struct itl_histogram *back = itl_histogram_new();
    FILE *in = fmemopen(text, strlen(text), "r");
    CHECK_EQ(itl_histogram_read(back, in, "mem"), 0);
    fclose(in);
    char *again = itl_text(back);
    CHECK(strcmp(text, again) == 0);
    free(text);
    free(again);
    itl_histogram_free(back);
    itl_histogram_free(h);
}

TEST(itl_histogram_many_keys_grow_the_table)
{
    struct itl_histogram *h = itl_histogram_new();
    int64_t total = 0;
    for (int i = 0; i < 20000; i++) {
        char slo[16];
        snprintf(slo, sizeof slo, "c%d", (int)lcg_next(7));
        int64_t count = 1 + (int64_t)lcg_next(3);
        CHECK_EQ(itl_histogram_add(h, slo, "t", (int)lcg_next(4), (int64_t)lcg_next(500), count),
                 0);
        total += count;
    }
    struct itl_bin *bins;
    size_t n;
    CHECK_EQ(itl_histogram_bins(h, &bins, &n), 0);
    CHECK_EQ(n, itl_histogram_size(h));
    int64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        sum += bins[i].count;
        if (i) {
            int c = strcmp(bins[i - 1].slo_class, bins[i].slo_class);
            CHECK(c < 0 || (c == 0 && (bins[i - 1].instance < bins[i].instance ||
                                       (bins[i - 1].instance == bins[i].instance &&
                                        bins[i - 1].gap_us < bins[i].gap_us))));
        }
    }
    CHECK_EQ(sum, total);
    free(bins);
    itl_histogram_free(h);
}

static int
read_itl(const char *text)
{
    struct itl_histogram *h = itl_histogram_new();
    FILE *in =
        *text ? fmemopen((void *)(uintptr_t)text, strlen(text), "r") : fopen("/dev/null", "r");
    int rc = itl_histogram_read(h, in, "itl.csv");
    fclose(in);
    itl_histogram_free(h);
    return rc;
}

TEST(itl_reader_is_strict)
{
    CHECK_EQ(read_itl(ITL_CSV_HEADER "\na,b,0,1,1\na,b,0,2,1\nb,a,0,0,1\n"), 0);
    CHECK_EQ(read_itl(ITL_CSV_HEADER "\n"), 0);
    CHECK_EQ(read_itl(""), ERR_DATA);                                            /* no header */
    CHECK_EQ(read_itl("slo_class,tenant,instance,gap_us\na,b,0,1\n"), ERR_DATA); /* count */
    CHECK_EQ(read_itl(ITL_CSV_HEADER "\na,b,0,2,1\na,b,0,1,1\n"), ERR_DATA);     /* unsorted */
    CHECK_EQ(read_itl(ITL_CSV_HEADER "\nb,b,0,2,1\na,b,0,3,1\n"), ERR_DATA);     /* unsorted */
    CHECK_EQ(read_itl(ITL_CSV_HEADER "\na,b,0,1,1\na,b,0,1,1\n"), ERR_DATA);     /* duplicate */
    CHECK_EQ(read_itl(ITL_CSV_HEADER "\na,b,0,1,0\n"), ERR_DATA);                /* count 0 */
    CHECK_EQ(read_itl(ITL_CSV_HEADER "\na,b,0,-1,1\n"), ERR_DATA);               /* negative gap */
    CHECK_EQ(read_itl(ITL_CSV_HEADER "\na,b,x,1,1\n"), ERR_DATA);                /* instance */
    CHECK_EQ(read_itl(ITL_CSV_HEADER "\na,b,0,1,1"), ERR_DATA);                  /* truncated */
}

/* ---- the summary of the fixtures ---- */

static const struct summary_group *
group(const struct summary_group *groups, size_t n, size_t i)
{
    return i < n ? &groups[i] : NULL;
}

TEST(summary_of_small_fixture)
{
    FILE *results = open_testdata("results-small.csv");
    const char *itl = testdata_path("itl-small.csv");
    if (!results || !itl) {
        CHECK(results && itl);
        if (results) fclose(results);
        return;
    }
    struct summary_options options = {.slo_ttft_ms = 60, .slo_tpot_ms = 20};
    struct summary *s = NULL;
    CHECK_EQ(summary_compute(results, "results-small.csv", itl, &options, &s), 0);
    fclose(results);
    if (!s) return;
    const struct summary_section *all = &s->all;

    /* Rows (id: status, class, tenant, instance):
     *   0 ok interactive alice 0   ttft 50000  e2e 150000  tpot 100000/10 = 10000  queue 2000
     *   1 ok batch bob 1           ttft 100000 e2e 300000  tpot 200000/20 = 10000  queue 2000
     *   2 ok interactive bob 0     ttft 30000  e2e 30000   (1 output token)        queue 10000
     *   3 rejected batch alice -
     *   4 ok interactive alice 1   ttft 200000 e2e 500000  tpot 300000/3 = 100000  queue 5000
     *   5 timeout batch bob 0
     *   6 ok batch alice 1         ttft 40000  e2e 70000   tpot 30000/3 = 10000    queue 10000
     *   7 unfinished interactive alice 0
     *   8 dropped batch bob 1 */
    CHECK_EQ(all->total, 9);
    CHECK_EQ(all->requests[STATUS_OK], 5);
    CHECK_EQ(all->requests[STATUS_REJECTED], 1);
    CHECK_EQ(all->requests[STATUS_DROPPED], 1);
    CHECK_EQ(all->requests[STATUS_TIMEOUT], 1);
    CHECK_EQ(all->requests[STATUS_UNFINISHED], 1);
    /* first arrival 0 (id 0), last timestamp 540000 (id 4's finish) */
    CHECK_EQ(s->start_us, 0);
    CHECK_EQ(s->end_us, 540000);
    /* ok tokens: input 100 + 200 + 50 + 400 + 100, output 11 + 21 + 1 + 4 + 4, cached 32 + 48 + 16
     */
    CHECK_EQ(all->ok_input_tokens, 850);
    CHECK_EQ(all->ok_output_tokens, 41);
    CHECK_EQ(all->ok_cached_tokens, 96);
    /* preemptions 1 (id 1) + 2 (id 4) + 1 (id 7, unfinished) */
    CHECK_EQ(all->preemptions, 4);
    CHECK_EQ(all->requests_preempted, 3);

    /* ttft sorted 30, 40, 50, 100, 200 ms: mean 420 / 5; p90 at h = 3.6: 100 + 0.6 * 100;
     * p95 at h = 3.8: 100 + 0.8 * 100; p99 at h = 3.96: 100 + 0.96 * 100 */
    CHECK_EQ(all->ttft.count, 5);
    CHECK_NEAR(all->ttft.mean, 84, 1e-9);
    CHECK_NEAR(all->ttft.p50, 50, 1e-9);
    CHECK_NEAR(all->ttft.p90, 160, 1e-9);
    CHECK_NEAR(all->ttft.p95, 180, 1e-9);
    CHECK_NEAR(all->ttft.p99, 196, 1e-9);
    CHECK_NEAR(all->ttft.max, 200, 1e-9);
    /* tpot sorted 10, 10, 10, 100 ms: mean 32.5; p50 at h = 1.5: 10; p90 at h = 2.7:
     * 10 + 0.7 * 90 = 73; p95 at h = 2.85: 86.5; p99 at h = 2.97: 97.3 */
    CHECK_EQ(all->tpot.count, 4);
    CHECK_NEAR(all->tpot.mean, 32.5, 1e-9);
    CHECK_NEAR(all->tpot.p50, 10, 1e-9);
    CHECK_NEAR(all->tpot.p90, 73, 1e-9);
    CHECK_NEAR(all->tpot.p95, 86.5, 1e-9);
    CHECK_NEAR(all->tpot.p99, 97.3, 1e-9);
    CHECK_NEAR(all->tpot.max, 100, 1e-9);
    /* e2e sorted 30, 70, 150, 300, 500 ms: mean 1050 / 5; p90: 300 + 0.6 * 200 */
    CHECK_NEAR(all->e2e.mean, 210, 1e-9);
    CHECK_NEAR(all->e2e.p50, 150, 1e-9);
    CHECK_NEAR(all->e2e.p90, 420, 1e-9);
    CHECK_NEAR(all->e2e.p99, 492, 1e-9);
    /* queueing sorted 2, 2, 5, 10, 10 ms: mean 29 / 5 */
    CHECK_NEAR(all->queueing.mean, 5.8, 1e-9);
    CHECK_NEAR(all->queueing.p50, 5, 1e-9);
    CHECK_NEAR(all->queueing.p90, 10, 1e-9);
    CHECK_NEAR(all->queueing.max, 10, 1e-9);
    /* itl gaps: 9 ms x5, 10 ms x23, 11 ms x5, 50, 100, 150 ms (36 gaps, sum 630 ms);
     * ranks 0-4: 9, 5-27: 10, 28-32: 11, 33: 50, 34: 100, 35: 150;
     * p50 at h = 17.5: 10; p90 at h = 31.5: 11; p95 at h = 33.25: 50 + 0.25 * 50;
     * p99 at h = 34.65: 100 + 0.65 * 50 */
    CHECK(s->has_itl);
    CHECK_EQ(all->itl.count, 36);
    CHECK_NEAR(all->itl.mean, 17.5, 1e-9);
    CHECK_NEAR(all->itl.p50, 10, 1e-9);
    CHECK_NEAR(all->itl.p90, 11, 1e-9);
    CHECK_NEAR(all->itl.p95, 62.5, 1e-9);
    CHECK_NEAR(all->itl.p99, 132.5, 1e-9);
    CHECK_NEAR(all->itl.max, 150, 1e-9);
    /* SLO ttft <= 60 ms and tpot <= 20 ms: ids 0 (50, 10), 2 (30, no tpot), 6 (40, 10) */
    CHECK_EQ(all->slo_met, 3);

    /* by_slo_class: batch (ids 1 3 5 6 8), interactive (ids 0 2 4 7) */
    CHECK_EQ(s->num_slo_classes, 2);
    const struct summary_group *g = group(s->by_slo_class, s->num_slo_classes, 0);
    CHECK(g && strcmp(g->name, "batch") == 0);
    if (g) {
        CHECK_EQ(g->section.total, 5);
        CHECK_EQ(g->section.requests[STATUS_OK], 2);
        CHECK_NEAR(g->section.ttft.mean, 70, 1e-9); /* (100 + 40) / 2 */
        CHECK_EQ(g->section.itl.count, 23);         /* 3 + 20 gaps of 10 ms */
        CHECK_NEAR(g->section.itl.p99, 10, 1e-9);
        CHECK_EQ(g->section.slo_met, 1); /* id 6 */
    }
    g = group(s->by_slo_class, s->num_slo_classes, 1);
    CHECK(g && strcmp(g->name, "interactive") == 0);
    if (g) {
        CHECK_EQ(g->section.total, 4);
        CHECK_EQ(g->section.requests[STATUS_UNFINISHED], 1);
        CHECK_EQ(g->section.itl.count, 13);
        CHECK_NEAR(g->section.itl.mean, 400.0 / 13, 1e-9); /* (45 + 55 + 300) / 13 */
        CHECK_EQ(g->section.tpot.count, 2);                /* id 2 has one output token */
    }
    /* by_tenant: alice (ids 0 3 4 6 7), bob (1 2 5 8) */
    CHECK_EQ(s->num_tenants, 2);
    g = group(s->by_tenant, s->num_tenants, 0);
    CHECK(g && strcmp(g->name, "alice") == 0 && g->section.total == 5);
    if (g) {
        CHECK_EQ(g->section.requests[STATUS_OK], 3);
        CHECK_EQ(g->section.preemptions, 3); /* ids 4 (2) and 7 (1) */
        CHECK_EQ(g->section.itl.count, 16);  /* 3 + 5 + 5 + 1 + 1 + 1 */
    }
    /* by_instance: 0 (ids 0 2 5 7), 1 (ids 1 4 6 8); id 3 has no instance */
    CHECK_EQ(s->num_instances, 2);
    g = group(s->by_instance, s->num_instances, 0);
    CHECK(g && g->instance == 0 && g->name == NULL);
    if (g) {
        CHECK_EQ(g->section.total, 4);
        CHECK_EQ(g->section.ok_cached_tokens, 80); /* 32 + 48 */
        CHECK_EQ(g->section.itl.count, 10);
    }
    g = group(s->by_instance, s->num_instances, 1);
    CHECK(g && g->instance == 1 && g->section.total == 4);
    if (g) CHECK_NEAR(g->section.e2e.max, 500, 1e-9);
    summary_free(s);
}

TEST(summary_warmup_drops_early_arrivals)
{
    FILE *results = open_testdata("results-small.csv");
    if (!results) {
        CHECK(results);
        return;
    }
    /* arrivals >= 40000: ids 4, 5, 6, 7, 8 (ok: 4 and 6) */
    struct summary_options options = {.warmup_us = 40000};
    struct summary *s = NULL;
    CHECK_EQ(summary_compute(results, "results-small.csv", NULL, &options, &s), 0);
    fclose(results);
    if (!s) return;
    CHECK_EQ(s->all.total, 5);
    CHECK_EQ(s->all.requests[STATUS_OK], 2);
    CHECK_EQ(s->start_us, 40000);
    CHECK_EQ(s->end_us, 540000);
    CHECK(!s->has_itl);
    CHECK_EQ(s->all.itl.count, 0);
    summary_free(s);
}

TEST(summary_json_is_one_line_and_stable)
{
    FILE *results = open_testdata("results-small.csv");
    if (!results) {
        CHECK(results);
        return;
    }
    char *first = NULL, *second = NULL;
    size_t size = 0;
    struct summary_options options = {0};
    struct summary *s = NULL;
    CHECK_EQ(summary_compute(results, "results-small.csv", NULL, &options, &s), 0);
    fclose(results);
    if (!s) return;
    FILE *f = open_memstream(&first, &size);
    CHECK_EQ(summary_write_json(s, f), 0);
    fclose(f);
    f = open_memstream(&second, &size);
    CHECK_EQ(summary_write_json(s, f), 0);
    fclose(f);
    CHECK(strcmp(first, second) == 0);
    CHECK(strncmp(first, "{\"version\":1,\"requests\":{\"total\":9,\"ok\":5,", 40) == 0);
    CHECK(strchr(first, '\n') == first + strlen(first) - 1);
    CHECK(strstr(first, "\"duration_s\":0.54,") != NULL);
    CHECK(strstr(first, "\"itl_ms\":null") != NULL);
    CHECK(strstr(first, "\"slo\":null") != NULL);
    free(first);
    free(second);
    summary_free(s);
}

static int
compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

TEST(summary_large_random_matches_reference)
{
    /* Many ok rows through the radix path: every group's percentiles equal
     * those of a plain sorted copy. */
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    results_csv_write_header(f);
    enum { N = 5000 };
    static double ttft_all[N], ttft_class[2][N];
    size_t n_class[2] = {0, 0};
    for (int i = 0; i < N; i++) {
        int64_t arrival = i * 100;
        int64_t ttft = (int64_t)lcg_next(i % 7 ? 1000 : 10000000);
        int64_t out = 1 + (int64_t)lcg_next(5);
        int cls = (int)lcg_next(2);
        struct request_result r = {
            .id = i,
            .instance = (int)lcg_next(3),
            .status = STATUS_OK,
            .arrival_us = arrival,
            .queued_us = arrival,
            .scheduled_us = arrival,
            .first_token_us = arrival + ttft,
            .finish_us = arrival + ttft + (out - 1) * (int64_t)lcg_next(100),
            .input_tokens = 10,
            .output_tokens = out,
            .slo_class = cls ? "b" : "a",
            .tenant = "t",
        };
        results_csv_write(f, &r);
        ttft_all[i] = (double)ttft;
        ttft_class[cls][n_class[cls]++] = (double)ttft;
    }
    fclose(f);
    FILE *in = fmemopen(text, size, "r");
    struct summary_options options = {0};
    struct summary *s = NULL;
    CHECK_EQ(summary_compute(in, "random", NULL, &options, &s), 0);
    fclose(in);
    free(text);
    if (!s) return;
    qsort(ttft_all, N, sizeof(double), compare);
    CHECK_EQ(s->all.ttft.count, N);
    CHECK(s->all.ttft.p99 == percentile_sorted(ttft_all, N, 0.99) / 1000);
    CHECK(s->all.ttft.p50 == percentile_sorted(ttft_all, N, 0.5) / 1000);
    CHECK(s->all.ttft.max == ttft_all[N - 1] / 1000);
    for (int c = 0; c < 2; c++) {
        qsort(ttft_class[c], n_class[c], sizeof(double), compare);
        const struct summary_section *sec = &s->by_slo_class[c].section;
        CHECK_EQ(sec->ttft.count, n_class[c]);
        CHECK(sec->ttft.p90 == percentile_sorted(ttft_class[c], n_class[c], 0.9) / 1000);
        CHECK(sec->ttft.p95 == percentile_sorted(ttft_class[c], n_class[c], 0.95) / 1000);
    }
    summary_free(s);
}

int
main(void)
{
    RUN(percentile_type7_hand_computed);
    RUN(percentile_weighted_equals_expanded);
    RUN(results_writer_derives_latencies);
    RUN(results_reader_is_strict);
    RUN(itl_histogram_merges_sorts_and_round_trips);
    RUN(itl_histogram_many_keys_grow_the_table);
    RUN(itl_reader_is_strict);
    RUN(summary_of_small_fixture);
    RUN(summary_warmup_drops_early_arrivals);
    RUN(summary_json_is_one_line_and_stable);
    RUN(summary_large_random_matches_reference);
    return check_done();
}
