/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The distribution-mode generator: the statistics it promises (rate, cv,
 * length means and bounds), the prefix rule, determinism and the
 * independence of its random streams. Seeds are fixed, so every run draws
 * the same numbers; tolerances are still derived from the sampling error so
 * that a change of seed or of GSL's algorithms would not break a true law.
 */
#include "check.h"

#include "core/error.h"
#include "workload/generator.h"

#include <math.h>
#include <string.h>

static struct workload_config
base_config(void)
{
    struct workload_config c = {
        .rate_per_s = 10,
        .num_requests = 1000,
        .arrival = ARRIVAL_POISSON,
        .cv = 1,
        .seed = 42,
        .prompt = {.mean = 512, .stdev = 256, .min = 16, .max = 4096},
        .output = {.mean = 128, .stdev = 64, .min = 1, .max = 1024},
        .prefix_tokens = 0,
        .slo_class = "standard",
        .tenant = "default",
    };
    return c;
}

/* Runs the generator to the end, keeping the numeric columns. */
struct stream {
    int64_t n;
    int64_t *id, *arrival_us, *input_tokens, *output_tokens;
    int ok; /* every request had the expected constant columns */
};

static struct stream
generate(const struct workload_config *c)
{
    struct stream s = {.ok = 1};
    size_t n = (size_t)c->num_requests + 1;
    s.id = calloc(n, sizeof *s.id);
    s.arrival_us = calloc(n, sizeof *s.arrival_us);
    s.input_tokens = calloc(n, sizeof *s.input_tokens);
    s.output_tokens = calloc(n, sizeof *s.output_tokens);
    struct generator *g = NULL;
    if (generator_new(c, &g) != 0) {
        s.ok = 0;
        return s;
    }
    struct request r;
    int rc;
    while ((rc = generator_next(g, &r)) == 1) {
        if (s.n >= c->num_requests) {
            s.ok = 0;
            request_clear(&r);
            break;
        }
        s.id[s.n] = r.id;
        s.arrival_us[s.n] = r.arrival_us;
        s.input_tokens[s.n] = r.input_tokens;
        s.output_tokens[s.n] = r.output_tokens;
        if (strcmp(r.slo_class, c->slo_class) || strcmp(r.tenant, c->tenant) ||
            strcmp(r.session, "") || r.round != 0)
            s.ok = 0;
        request_clear(&r);
        s.n++;
    }
    if (rc != 0) s.ok = 0;
    generator_free(g);
    return s;
}

static void
stream_free(struct stream *s)
{
    free(s->id);
    free(s->arrival_us);
    free(s->input_tokens);
    free(s->output_tokens);
}

static int
same_column(const int64_t *a, const int64_t *b, int64_t n)
{
    return memcmp(a, b, (size_t)n * sizeof *a) == 0;
}

/* Sample mean and coefficient of variation of the inter-arrival gaps (s). */
static void
gap_stats(const struct stream *s, double *mean, double *cv)
{
    double sum = 0, sum_sq = 0, previous = 0;
    for (int64_t i = 0; i < s->n; i++) {
        double gap = (double)s->arrival_us[i] / 1e6 - previous;
        previous = (double)s->arrival_us[i] / 1e6;
        sum += gap;
        sum_sq += gap * gap;
    }
    double m = sum / (double)s->n;
    double variance = (sum_sq - (double)s->n * m * m) / (double)(s->n - 1);
    *mean = m;
    *cv = sqrt(variance) / m;
}

static double
column_mean(const int64_t *x, int64_t n)
{
    double sum = 0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)x[i];
    return sum / (double)n;
}

TEST(ids_labels_and_order)
{
    struct workload_config c = base_config();
    struct stream s = generate(&c);
    CHECK(s.ok);
    CHECK_EQ(s.n, 1000);
    int ordered = 1;
    for (int64_t i = 0; i < s.n; i++) {
        CHECK_EQ(s.id[i], i);
        if (i > 0 && s.arrival_us[i] < s.arrival_us[i - 1]) ordered = 0;
    }
    CHECK(ordered);
    CHECK(s.arrival_us[0] >= 0);
    stream_free(&s);
}

TEST(zero_requests_is_empty)
{
    struct workload_config c = base_config();
    c.num_requests = 0;
    struct generator *g = NULL;
    CHECK_EQ(generator_new(&c, &g), 0);
    struct request r;
    CHECK_EQ(generator_next(g, &r), 0);
    CHECK_EQ(generator_next(g, &r), 0);
    generator_free(g);
}

/*
 * Poisson: the realized rate is n / t_n with t_n the sum of n exponential
 * gaps of mean 1/rate. The mean of n such gaps has relative standard
 * deviation 1/sqrt(n) = 0.71% at n = 20000, so 3% is over 4 sigma.
 */
TEST(poisson_rate)
{
    struct workload_config c = base_config();
    c.num_requests = 20000;
    c.rate_per_s = 25;
    struct stream s = generate(&c);
    CHECK_EQ(s.n, 20000);
    double realized = (double)s.n / ((double)s.arrival_us[s.n - 1] / 1e6);
    CHECK_NEAR(realized / 25, 1.0, 0.03);
    /* exponential gaps have cv 1; the sample cv's relative sd is about
     * sqrt((kurtosis - 1)/4 + cv^2 - skewness*cv)/sqrt(n) = sqrt(2 + 1 - 2)/sqrt(n)
     * = 0.71% here: 4% is over 5 sigma. */
    double mean, cv;
    gap_stats(&s, &mean, &cv);
    CHECK_NEAR(cv, 1.0, 0.04);
    stream_free(&s);
}

/*
 * Gamma with cv 3 (shape k = 1/9): skewness 2/sqrt(k) = 6, kurtosis
 * 3 + 6/k = 57. By the delta method the sample cv = s/m has relative
 * variance ((kurtosis - 1)/4 + cv^2 - skewness*cv)/n = (14 + 9 - 18)/n
 * = 5/n, i.e. 1.0% at n = 50000; the skewed sampling distribution of s
 * at such heavy tails argues for a wide margin: 6% (6 sigma). The mean gap
 * has relative sd cv/sqrt(n) = 1.34%: 6% is 4.5 sigma. Rounding times to
 * 1 us moves each gap by < 1 us against a mean of 1e5 us: negligible.
 */
TEST(gamma_cv_and_rate)
{
    struct workload_config c = base_config();
    c.arrival = ARRIVAL_GAMMA;
    c.cv = 3;
    c.num_requests = 50000;
    struct stream s = generate(&c);
    CHECK_EQ(s.n, 50000);
    double mean, cv;
    gap_stats(&s, &mean, &cv);
    CHECK_NEAR(cv / 3, 1.0, 0.06);
    CHECK_NEAR(mean * c.rate_per_s, 1.0, 0.06);

    /* a small cv makes the process nearly regular: cv 0.25 at n = 20000 has
     * relative variance (kurtosis 3.375: 0.594 + 0.0625 - 0.125)/n, sd 0.5% */
    c.cv = 0.25;
    c.num_requests = 20000;
    stream_free(&s);
    s = generate(&c);
    gap_stats(&s, &mean, &cv);
    CHECK_NEAR(cv / 0.25, 1.0, 0.03);
    stream_free(&s);
}

/* Constant: the first request arrives at 1/rate and request i at
 * (i + 1)/rate, up to rounding to the microsecond (and the running sum's
 * floating-point error, some ulps of the time: far below 0.5 us). */
TEST(constant_gaps_are_exact)
{
    struct workload_config c = base_config();
    c.arrival = ARRIVAL_CONSTANT;
    c.num_requests = 10000;
    struct stream s = generate(&c);
    int exact = 1;
    for (int64_t i = 0; i < s.n; i++)
        if (s.arrival_us[i] != (i + 1) * 100000) exact = 0;
    CHECK(exact);
    stream_free(&s);

    /* 1/3 s does not divide into microseconds: every time is within 0.5 us
     * of (i + 1)/3 s and every gap is 333333 or 333334 us */
    c.rate_per_s = 3;
    s = generate(&c);
    int close = 1, gaps = 1;
    for (int64_t i = 0; i < s.n; i++) {
        double ideal = (double)(i + 1) * 1e6 / 3;
        if (fabs((double)s.arrival_us[i] - ideal) > 0.5 + 1e-6) close = 0;
        int64_t gap = s.arrival_us[i] - (i ? s.arrival_us[i - 1] : 0);
        if (gap != 333333 && gap != 333334) gaps = 0;
    }
    CHECK(close);
    CHECK(gaps);
    stream_free(&s);
}

/*
 * Gaussian lengths: with mean 512, stdev 64 and bounds 7.5 sigma away, the
 * clamp has no effect and rounding is symmetric, so the sample mean has sd
 * 64/sqrt(20000) = 0.45 tokens: 2.5 tokens is 5.5 sigma. Output: mean 128,
 * stdev 32, sd of the mean 0.23: 1.5 tokens is 6.6 sigma.
 */
TEST(gaussian_length_means)
{
    struct workload_config c = base_config();
    c.num_requests = 20000;
    c.prompt = (struct length_dist){.mean = 512, .stdev = 64, .min = 16, .max = 4096};
    c.output = (struct length_dist){.mean = 128, .stdev = 32, .min = 1, .max = 1024};
    struct stream s = generate(&c);
    CHECK_NEAR(column_mean(s.input_tokens, s.n), 512, 2.5);
    CHECK_NEAR(column_mean(s.output_tokens, s.n), 128, 1.5);
    stream_free(&s);
}

/* Clamping: a wide gaussian stays inside [min, max] and reaches both ends
 * (P(x < 50) = P(x > 150) = 0.48 for mean 100, stdev 1000). */
TEST(lengths_stay_within_bounds)
{
    struct workload_config c = base_config();
    c.num_requests = 5000;
    c.prompt = (struct length_dist){.mean = 100, .stdev = 1000, .min = 50, .max = 150};
    c.output = (struct length_dist){.mean = 2, .stdev = 50, .min = 1, .max = 7};
    struct stream s = generate(&c);
    int inside = 1, low = 0, high = 0;
    for (int64_t i = 0; i < s.n; i++) {
        if (s.input_tokens[i] < 50 || s.input_tokens[i] > 150) inside = 0;
        if (s.output_tokens[i] < 1 || s.output_tokens[i] > 7) inside = 0;
        low += s.input_tokens[i] == 50;
        high += s.input_tokens[i] == 150;
    }
    CHECK(inside);
    CHECK(low > 0);
    CHECK(high > 0);
    stream_free(&s);
}

/* stdev 0: every length is the mean, rounded to the nearest integer. */
TEST(zero_stdev_is_the_rounded_mean)
{
    struct workload_config c = base_config();
    c.num_requests = 100;
    c.prompt = (struct length_dist){.mean = 99.6, .stdev = 0, .min = 1, .max = 4096};
    c.output = (struct length_dist){.mean = 7.4, .stdev = 0, .min = 1, .max = 4096};
    struct stream s = generate(&c);
    int exact = 1;
    for (int64_t i = 0; i < s.n; i++)
        if (s.input_tokens[i] != 100 || s.output_tokens[i] != 7) exact = 0;
    CHECK(exact);
    stream_free(&s);
}

/* Prefix K: the same draws plus exactly K tokens, and one segment system:K. */
TEST(prefix_adds_exactly_k)
{
    struct workload_config c = base_config();
    c.num_requests = 500;
    struct stream plain = generate(&c);
    c.prefix_tokens = 300;
    struct stream prefixed = generate(&c);
    int plus_k = 1;
    for (int64_t i = 0; i < plain.n; i++)
        if (prefixed.input_tokens[i] != plain.input_tokens[i] + 300) plus_k = 0;
    CHECK(plus_k);
    CHECK(same_column(plain.arrival_us, prefixed.arrival_us, plain.n));
    CHECK(same_column(plain.output_tokens, prefixed.output_tokens, plain.n));
    stream_free(&plain);
    stream_free(&prefixed);

    struct generator *g = NULL;
    struct request r;
    CHECK_EQ(generator_new(&c, &g), 0);
    CHECK_EQ(generator_next(g, &r), 1);
    CHECK(strcmp(r.prefix, "system:300") == 0);
    CHECK_EQ(r.num_segments, 1);
    CHECK_EQ(r.prefix_tokens, 300);
    CHECK_EQ(r.segments[0].length, 300);
    request_clear(&r);
    generator_free(g);

    c.prefix_tokens = 0;
    CHECK_EQ(generator_new(&c, &g), 0);
    CHECK_EQ(generator_next(g, &r), 1);
    CHECK(strcmp(r.prefix, "") == 0);
    CHECK_EQ(r.num_segments, 0);
    CHECK_EQ(r.prefix_tokens, 0);
    request_clear(&r);
    generator_free(g);
}

TEST(same_seed_same_stream)
{
    struct workload_config c = base_config();
    c.arrival = ARRIVAL_GAMMA;
    c.cv = 2;
    struct stream a = generate(&c), b = generate(&c);
    CHECK_EQ(a.n, b.n);
    CHECK(same_column(a.arrival_us, b.arrival_us, a.n));
    CHECK(same_column(a.input_tokens, b.input_tokens, a.n));
    CHECK(same_column(a.output_tokens, b.output_tokens, a.n));
    stream_free(&a);
    stream_free(&b);
}

TEST(other_seed_other_stream)
{
    struct workload_config c = base_config();
    struct stream a = generate(&c);
    c.seed = 43;
    struct stream b = generate(&c);
    CHECK(!same_column(a.arrival_us, b.arrival_us, a.n));
    CHECK(!same_column(a.input_tokens, b.input_tokens, a.n));
    CHECK(!same_column(a.output_tokens, b.output_tokens, a.n));
    stream_free(&a);
    stream_free(&b);
}

/* Each quantity has its own stream: changing how lengths are drawn never
 * moves an arrival, and changing the arrival process never changes a length. */
TEST(streams_are_independent)
{
    struct workload_config c = base_config();
    struct stream a = generate(&c);
    c.prompt = (struct length_dist){.mean = 2000, .stdev = 10, .min = 1, .max = 3000};
    c.output = (struct length_dist){.mean = 5, .stdev = 0, .min = 5, .max = 5};
    struct stream b = generate(&c);
    CHECK(same_column(a.arrival_us, b.arrival_us, a.n));
    CHECK(!same_column(a.input_tokens, b.input_tokens, a.n));

    c = base_config();
    c.arrival = ARRIVAL_GAMMA;
    c.cv = 4;
    c.rate_per_s = 1000;
    struct stream d = generate(&c);
    CHECK(!same_column(a.arrival_us, d.arrival_us, a.n));
    CHECK(same_column(a.input_tokens, d.input_tokens, a.n));
    CHECK(same_column(a.output_tokens, d.output_tokens, a.n));
    stream_free(&a);
    stream_free(&b);
    stream_free(&d);
}

TEST(arrival_process_names)
{
    enum arrival_process p = ARRIVAL_POISSON;
    CHECK_EQ(arrival_process_parse("gamma", &p), 0);
    CHECK_EQ(p, ARRIVAL_GAMMA);
    CHECK(arrival_process_parse("Gamma", &p) != 0);
    CHECK(arrival_process_parse("", &p) != 0);
    CHECK_EQ(p, ARRIVAL_GAMMA);
    const enum arrival_process all[] = {ARRIVAL_POISSON, ARRIVAL_CONSTANT, ARRIVAL_GAMMA};
    for (size_t i = 0; i < 3; i++) {
        CHECK_EQ(arrival_process_parse(arrival_process_name(all[i]), &p), 0);
        CHECK_EQ(p, all[i]);
    }
}

/* Each bad setting is refused by validate and by generator_new (which
 * reports it on stderr: the lines below are expected there). */
TEST(bad_configs_are_refused)
{
    struct workload_config good = base_config(), c;
    CHECK_EQ(workload_config_validate(&good), 0);
    struct generator *g = NULL;
#define REFUSED(change)                                                                            \
    do {                                                                                           \
        c = good;                                                                                  \
        change;                                                                                    \
        CHECK_EQ(workload_config_validate(&c), ERR_CONFIG);                                        \
        CHECK_EQ(generator_new(&c, &g), ERR_CONFIG);                                               \
        CHECK(g == NULL);                                                                          \
    } while (0)
    REFUSED(c.rate_per_s = 0);
    REFUSED(c.rate_per_s = -1);
    REFUSED(c.rate_per_s = NAN);
    REFUSED(c.rate_per_s = INFINITY);
    REFUSED(c.cv = 0);
    REFUSED(c.num_requests = -1);
    REFUSED(c.prompt.min = 0);
    REFUSED(c.output.min = 0);
    REFUSED((c.prompt.min = 10, c.prompt.max = 5));
    REFUSED(c.output.stdev = -1);
    REFUSED(c.prefix_tokens = -1);
    REFUSED(c.arrival = (enum arrival_process)7);
#undef REFUSED
}

int
main(void)
{
    RUN(ids_labels_and_order);
    RUN(zero_requests_is_empty);
    RUN(poisson_rate);
    RUN(gamma_cv_and_rate);
    RUN(constant_gaps_are_exact);
    RUN(gaussian_length_means);
    RUN(lengths_stay_within_bounds);
    RUN(zero_stdev_is_the_rounded_mean);
    RUN(prefix_adds_exactly_k);
    RUN(same_seed_same_stream);
    RUN(other_seed_other_stream);
    RUN(streams_are_independent);
    RUN(arrival_process_names);
    RUN(bad_configs_are_refused);
    return check_done();
}
